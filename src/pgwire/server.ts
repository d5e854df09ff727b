// The wire gateway's listener: a TCP server whose every connection is a Session. Closing it stops
// new connections and ends the open ones (their statements in flight finish or fail first).

import cluster from 'node:cluster';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { CancelKeys, isPgCancelRelay, type PgCancelRelay } from './cancel.js';
import { errorResponse } from './protocol.js';
import { Session, type SessionOptions } from './session.js';
import { loadParser } from './sql.js';

/** The gateway's certificate (chain) and private key, PEM. */
export interface PgTlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface PgGatewayOptions extends SessionOptions {
  /** Connections open at once, logged in or not (PostgreSQL's max_connections); one more is told 53300 and closed. Default 256. */
  readonly maxConnections?: number;
  /** With a certificate, an SSLRequest is answered 'S' and the connection goes on in TLS (1.2 or later). */
  readonly tls?: PgTlsOptions;
}

export const DEFAULT_MAX_CONNECTIONS = 256;

export interface PgGateway {
  listen(port: number, host: string): Promise<AddressInfo>;
  /** The address it listens on, once listening. */
  address(): AddressInfo | undefined;
  /** Connections open now, logged in or not. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A wire gateway over `options.reader` (the HTTP gateway's read path). Loads the SQL parser before it
 * resolves. Throws when `options.tls` is not a certificate and its key (unreadable PEM, a key that
 * is not the certificate's).
 */
export async function createPgGateway(options: PgGatewayOptions): Promise<PgGateway> {
  const secureContext = options.tls ? createSecureContext({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }) : undefined;
  await loadParser();
  const sockets = new Map<Socket, Session>();
  // In a worker of several, a cancel may name another worker's session: it goes round through the primary.
  const worker = cluster.isWorker && process.send !== undefined;
  const cancelKeys = new CancelKeys(worker ? (pid, secret) => process.send!({ cordon: 'pg-cancel', pid, secret } satisfies PgCancelRelay) : undefined);
  const relayed = (m: unknown) => {
    if (isPgCancelRelay(m)) cancelKeys.cancelHere(m.pid, m.secret);
  };
  if (worker) process.on('message', relayed);
  const max = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const server: Server = createServer((socket) => {
    if (sockets.size >= max) {
      socket.end(errorResponse({ severity: 'FATAL', code: '53300', message: `sorry, too many clients already (${max} connections are open)` }), () =>
        socket.destroy(),
      );
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    sockets.set(socket, new Session(socket, options, { secureContext, cancelKeys }));
  });
  return {
    listen: (port, host) =>
      new Promise((done, fail) => {
        server.once('error', fail);
        // Not exclusive: the workers of `cordon up --workers N` share the port, as they share the HTTP one.
        server.listen({ port, host }, () => {
          server.off('error', fail);
          done(server.address() as AddressInfo);
        });
      }),
    address: () => (server.listening ? (server.address() as AddressInfo) : undefined),
    connections: () => sockets.size,
    close: () =>
      new Promise((done) => {
        process.off('message', relayed);
        if (!server.listening) return done();
        server.close(() => done());
        for (const s of sockets.values()) s.end();
      }),
  };
}
