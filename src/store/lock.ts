// One owner per embedded store. PGlite keeps a whole PostgreSQL cluster in a directory and assumes
// it is the only process using it; two processes writing there corrupt it, or one of them answers
// from a stale picture of the other's writes. So a process that opens an embedded store first takes
// `<dir>.lock`, created exclusively, holding its pid (as PostgreSQL's `postmaster.pid` does), and
// removes it when it closes the store. A lock whose process is gone (killed, crashed) is taken
// over; a live one is refused with the holder's pid and command.

import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { CordonError } from '../shared/errors.js';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** What holds it, e.g. `cordon up --data-dir .cordon`. */
  readonly command: string;
  readonly since: string;
}

export class StoreLockedError extends CordonError {
  constructor(
    readonly store: string,
    readonly path: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder
      ? `process ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''} (${holder.command}, since ${holder.since})`
      : 'another process (its lock file cannot be read)';
    const self = holder?.pid === process.pid && holder.host === hostname();
    super(
      'store.locked',
      self
        ? `store ${store} (${path}) is already open in this process`
        : `store ${store} (${path}) is in use by ${who}: stop it, or send this work to the running server, or keep the store in PostgreSQL if several processes must share it (lock ${path}.lock)`,
    );
    this.name = 'StoreLockedError';
  }
}

export interface StoreLock {
  readonly path: string;
  /** The dead process whose lock was taken over, if any. */
  readonly tookOverFrom: LockHolder | undefined;
  release(): void;
}

/** Is `pid` a running process on this host? (EPERM: it runs as another user.) */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (!Number.isInteger(v.pid) || (v.pid as number) <= 0 || typeof v.host !== 'string') return undefined;
    return { pid: v.pid as number, host: v.host, command: String(v.command ?? '?'), since: String(v.since ?? '?') };
  } catch {
    return undefined;
  }
}

/** What this process is, for the lock file: the command line after the node executable, shortened. */
export function thisCommand(): string {
  const args = process.argv.slice(1).map((a, i) => (i === 0 ? a.replace(/^.*\/bin\/cordon(\.js)?$/, 'cordon') : a));
  // Credentials in URLs (`--store global=postgres://user:secret@…`, `--from …`) stay out of the lock file and its messages.
  const line = args.join(' ').replace(/\/\/[^@/\s]*@/g, '//***@');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * Takes the lock of the embedded store in `dir`. Throws StoreLockedError when a live process holds
 * it; takes over (and says from whom) a lock whose process is gone; any other failure to create the
 * lock file (an unwritable directory) is thrown as it is.
 */
export function lockStore(store: string, dir: string): StoreLock {
  const file = `${dir}.lock`;
  const me: LockHolder = { pid: process.pid, host: hostname(), command: thisCommand(), since: new Date().toISOString() };
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      const holder = readHolder(file);
      // Unreadable (a process is writing it right now, or it was damaged): held, to be safe, unless it stays so.
      if (holder === undefined && attempt < 2) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        continue;
      }
      if (holder === undefined || holder.host !== me.host || alive(holder.pid)) throw new StoreLockedError(store, dir, holder);
      try {
        unlinkSync(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      tookOverFrom = holder;
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    break;
  }
  let released = false;
  return {
    path: file,
    tookOverFrom,
    release() {
      if (released) return;
      released = true;
      // Only our own lock: never one a later owner took over.
      if (readHolder(file)?.pid === me.pid) {
        try {
          unlinkSync(file);
        } catch {
          // Already gone.
        }
      }
    },
  };
}
