// Cancel keys: each logged-in session gets a process id and a secret (BackendKeyData); a
// CancelRequest on a new connection that names both stops the statement that session is running.
// The secret is the only proof (as in PostgreSQL, a cancel needs no login), so it comes from the
// CSPRNG and is compared in constant time, and a wrong one is told nothing.

import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** What a cancel stops. */
export interface Cancellable {
  cancel(): void;
}

export interface CancelKey {
  readonly pid: number;
  readonly secret: number;
}

export class CancelKeys {
  private readonly sessions = new Map<number, { readonly secret: Buffer; readonly target: Cancellable }>();

  /**
   * A new key for `target`: a process id no other open session has (random, so one session's id says
   * nothing of another's) and a random 32-bit secret. The session MUST `release` it when it ends.
   */
  issue(target: Cancellable): CancelKey {
    let pid: number;
    do pid = randomInt(1, 2 ** 31 - 1);
    while (this.sessions.has(pid));
    const secret = randomBytes(4);
    this.sessions.set(pid, { secret, target });
    return { pid, secret: secret.readInt32BE(0) };
  }

  release(pid: number): void {
    this.sessions.delete(pid);
  }

  /** Cancels the session with `pid` when `secret` is its secret; otherwise nothing, and nothing said. */
  cancel(pid: number, secret: number): void {
    const s = this.sessions.get(pid);
    const given = Buffer.alloc(4);
    given.writeInt32BE(secret | 0);
    // Compared even for an unknown pid, so the time taken does not tell which ids are open.
    const ok = timingSafeEqual(given, s?.secret ?? DUMMY);
    if (s && ok) s.target.cancel();
  }

  /** Sessions holding a key (open and logged in). */
  get size(): number {
    return this.sessions.size;
  }
}

const DUMMY = randomBytes(4);
