// The wire gateway's listener: a TCP server whose every connection is a Session. Closing it stops
// new connections and ends the open ones (their statements in flight finish or fail first).

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Session, type SessionOptions } from './session.js';
import { loadParser } from './sql.js';

export type PgGatewayOptions = SessionOptions;

export interface PgGateway {
  listen(port: number, host: string): Promise<AddressInfo>;
  /** The address it listens on, once listening. */
  address(): AddressInfo | undefined;
  close(): Promise<void>;
}

/** A wire gateway over `options.reader` (the HTTP gateway's read path). Loads the SQL parser before it resolves. */
export async function createPgGateway(options: PgGatewayOptions): Promise<PgGateway> {
  await loadParser();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    new Session(socket, options);
  });
  return {
    listen: (port, host) =>
      new Promise((done, fail) => {
        server.once('error', fail);
        server.listen({ port, host, exclusive: true }, () => {
          server.off('error', fail);
          done(server.address() as AddressInfo);
        });
      }),
    address: () => (server.listening ? (server.address() as AddressInfo) : undefined),
    close: () =>
      new Promise((done) => {
        if (!server.listening) return done();
        server.close(() => done());
        for (const s of sockets) s.end();
      }),
  };
}
