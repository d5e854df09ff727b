// Is a TCP port free to listen on? `cordon up` asks before it opens its stores, so that a busy port
// is reported at once rather than after seconds of start-up work that is then undone.

import { createServer } from 'node:net';

/**
 * Resolves undefined when `host:port` could be listened on just now, else the error that listening
 * gave (e.g. EADDRINUSE, EACCES). Port 0 (any free port) is always free. A port free now can still
 * be taken before the real listen, which MUST therefore keep its own error handling.
 */
export function portProblem(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => done(err));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => done(undefined)));
  });
}
