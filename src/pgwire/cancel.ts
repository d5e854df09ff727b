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
   * `relay` is told a cancel whose process id no session here has: with `cordon up --workers N` the
   * session may be another worker's (the kernel hands each connection to any of them), which then
   * judges it with `cancelHere`.
   */
  constructor(private readonly relay?: (pid: number, secret: number) => void) {}

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
    if (!this.cancelHere(pid, secret) && !this.sessions.has(pid)) this.relay?.(pid, secret);
  }

  /** `cancel` among this process's sessions only; true when it cancelled one. */
  cancelHere(pid: number, secret: number): boolean {
    const s = this.sessions.get(pid);
    const given = Buffer.alloc(4);
    given.writeInt32BE(secret | 0);
    // Compared even for an unknown pid, so the time taken does not tell which ids are open.
    const ok = timingSafeEqual(given, s?.secret ?? DUMMY);
    if (s && ok) s.target.cancel();
    return s !== undefined && ok;
  }

  /** Sessions holding a key (open and logged in). */
  get size(): number {
    return this.sessions.size;
  }
}

const DUMMY = randomBytes(4);

/** The message a worker of `cordon up --workers N` sends its primary, which hands it to every other worker: a cancel for a session this worker does not have. */
export interface PgCancelRelay {
  readonly cordon: 'pg-cancel';
  readonly pid: number;
  readonly secret: number;
}

export const isPgCancelRelay = (m: unknown): m is PgCancelRelay =>
  typeof m === 'object' &&
  m !== null &&
  (m as PgCancelRelay).cordon === 'pg-cancel' &&
  Number.isInteger((m as PgCancelRelay).pid) &&
  Number.isInteger((m as PgCancelRelay).secret);
