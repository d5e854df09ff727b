// The README's benchmarks as written, at full size (test/readme.test.ts runs them at smoke sizes in
// `npm test`): each must exit 0 and print what the README says.
import { test } from 'node:test';
import { COMMANDS, NOT_RUN, runReadmeCommand, SMOKE_FLAGS } from './helpers/readme.js';

for (const command of COMMANDS) {
  if (command in NOT_RUN || !(command in SMOKE_FLAGS)) continue;
  test(`README: ${command}`, () => runReadmeCommand(command));
}
