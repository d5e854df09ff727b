// A session's replies: held (the socket corked) while the session handles the messages it has
// received, and sent together at Sync, Flush, the end of a simple query, or when no whole message is
// left, as PostgreSQL buffers its output; a long result's rows go out page by page. Holding only
// delays: the session writes nothing before its decisions are durable in the log, held or not.

import type { Socket } from 'node:net';

export class Replies {
  /** Replies are being held (the socket is corked). */
  private holding = false;

  /** `socketOf`: the socket written to now (the TCP one, or the TLS one over it once upgraded). */
  constructor(private readonly socketOf: () => Socket) {}

  private get socket(): Socket {
    return this.socketOf();
  }

  write(buf: Buffer): Promise<void> | undefined {
    if (this.socket.destroyed) return undefined;
    if (this.socket.write(buf)) return undefined;
    // Held bytes never drain: they go out now, and holding resumes once the client has taken them.
    const held = this.holding;
    this.release();
    // A socket that closes while full never drains: its close ends the wait too (the session then reads
    // no more). Both listeners go when either fires: a race of two events.once would leave the loser's
    // listeners (and an 'error' one) on the socket for its life, two more for every wait of a long result.
    const socket = this.socket;
    return new Promise<void>((done) => {
      const end = () => {
        socket.off('drain', end);
        socket.off('close', end);
        done();
      };
      socket.on('drain', end);
      socket.on('close', end);
    }).then(() => {
      if (held && !socket.destroyed) this.hold();
    });
  }

  hold(): void {
    if (this.holding) return;
    this.holding = true;
    this.socket.cork();
  }

  /** Sends what is held, in one write. */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    this.socket.uncork();
  }

  /**
   * Sends what is held once this turn of the event loop is done: a long result's rows go out page by
   * page while the next page is read, and a query by key still ends in one write (its last row,
   * CommandComplete and ReadyForQuery are written in the same turn).
   */
  sendSoon(): void {
    process.nextTick(() => {
      if (!this.holding) return;
      this.release();
      this.hold();
    });
  }
}
