// Temporary directories for tests and benches, removed when the process exits: after its tests pass
// or fail, after an uncaught exception, or on SIGINT/SIGTERM/SIGHUP. CI runs the suite and the benches
// on one machine every time, and what they left in the OS temp dir once filled its disk. Removal at
// exit rather than at the end of each test: a child process (`cordon up`, the CLI) still writing in
// the directory keeps this process alive until it has exited, so nothing is removed under it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Set<string>();
let handlersInstalled = false;

/** A new directory `<os temp dir>/<prefix>XXXXXX`, removed with everything in it when this process exits. */
export function tempDir(prefix: string): string {
  installExitHandlers();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

function removeAll(): void {
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    } catch (e) {
      // Not thrown: an exit handler that throws would change the process's exit status.
      process.stderr.write(`could not remove ${dir}: ${(e as Error).message}\n`);
    }
  }
  dirs.clear();
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', removeAll);
  // A signal would otherwise end the process without 'exit'. Remove, then let the signal do what it
  // would have done (as test/helpers/postgres.ts does for its servers).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      removeAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
