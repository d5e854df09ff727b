// Starts the built CLI's `cordon up` as a child process and waits until it serves.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT } from './paths.js';

export interface RunningUp {
  /** The URL it serves, as printed; a wildcard host (0.0.0.0, ::) is given as loopback, to be reachable. */
  readonly base: string;
  readonly child: ChildProcess;
  /** Everything printed so far. */
  output(): { out: string; err: string };
  /** The demo's tokens (`<data-dir>/demo/tokens.json`). */
  tokens(): Record<string, string>;
  readonly exited: Promise<number | null>;
}

export async function startUp(dataDir: string, args: readonly string[] = ['--demo', '--demo-users', '0'], timeoutMs = 120_000): Promise<RunningUp> {
  const child = spawn(process.execPath, [CLI, 'up', '--port', '0', '--data-dir', dataDir, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const base = await new Promise<string>((done, fail) => {
    let late = false;
    // Killed, and the failure reported once it has exited: it must not go on writing in a data
    // directory the test removes.
    const timer = setTimeout(() => {
      late = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const poll = setInterval(() => {
      const m = /serving .* on http:\/\/(\[[^\]]+\]|[^\s/:]+):(\d+)/.exec(out);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        const host = m[1] === '0.0.0.0' ? '127.0.0.1' : m[1] === '[::]' ? '[::1]' : m[1]!;
        done(`http://${host}:${m[2]!}`);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(poll);
      clearTimeout(timer);
      fail(new Error(late ? `cordon up did not serve within ${timeoutMs} ms:\n${out}\n${err}` : `cordon up exited:\n${out}\n${err}`));
    });
  });
  return {
    base,
    child,
    exited,
    output: () => ({ out, err }),
    tokens: () => JSON.parse(readFileSync(join(dataDir, 'demo', 'tokens.json'), 'utf8')) as Record<string, string>,
  };
}
