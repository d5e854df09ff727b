// The `cordon` command. Exit codes (PRODUCT.md §6): 0 success, 1 a finding or refusal, 2 bad usage
// or input. Every command has --help; commands that print results have --json.

import { Command, CommanderError, Option } from 'commander';
import { policyCommand } from './policy.js';
import { demoCommand } from './demo.js';
import { upCommand } from './up.js';
import { logCommand } from './log.js';
import { witnessCommand } from './witness.js';
import { accessCommand } from './access.js';
import { scanCommand } from './scan.js';
import { flowsCommand } from './flows.js';
import { reportCommand } from './report.js';
import { migrateCommand } from './migrate.js';
import { EXIT_USAGE, UsageError } from './output.js';
import { CordonError } from '../shared/errors.js';
import { RuntimeError } from '../server/runtime.js';

export function buildProgram(): Command {
  const program = new Command('cordon')
    .description('Keep protected user data in its region, let only approved people see it, and prove both.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(policyCommand());
  program.addCommand(upCommand());
  program.addCommand(demoCommand());
  program.addCommand(logCommand());
  program.addCommand(witnessCommand());
  program.addCommand(accessCommand());
  program.addCommand(scanCommand());
  program.addCommand(flowsCommand());
  program.addCommand(reportCommand());
  program.addCommand(migrateCommand());
  // Commands built apart do not inherit these; bad usage must exit 2 everywhere, not commander's 1.
  const inherit = (c: Command): void => {
    for (const sub of c.commands) {
      sub.exitOverride().showHelpAfterError('(run with --help for usage)');
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof RuntimeError) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return e.exit;
    }
    if (e instanceof UsageError || (e instanceof CordonError && e.code === 'usage.invalid_argument')) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof CordonError) {
      process.stderr.write(`cordon: ${e.code}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    // A bug: say so without echoing data.
    process.stderr.write(`cordon: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return 70;
  }
}

export { Option };
