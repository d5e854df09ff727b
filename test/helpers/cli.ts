// Runs the real `cordon` command (bin/cordon.js) in a child process.
import { spawnSync } from 'node:child_process';
import { CLI, ROOT } from './paths.js';

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function cordon(args: readonly string[], cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
