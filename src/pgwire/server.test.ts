// The wire gateway's listener under connections that never log in: each is ended after the
// authentication timeout (08006), and past the connection cap one more is told 53300 and closed,
// so a peer without a token cannot hold the process's connections (and the file handles the HTTP
// side shares). A FATAL error leaves no socket behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { GatewayReader } from '../gateway/index.js';
import { createPgGateway } from './server.js';

/** A connection that sent `bytes` and collects what it is told until the server closes it. */
function open(port: number, bytes: Buffer): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((done) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.write(bytes);
      let got = '';
      socket.on('data', (d) => {
        got += d.toString('latin1');
      });
      const closed = new Promise<string>((end) => socket.on('close', () => end(got)));
      socket.on('error', () => undefined);
      done({ socket, closed });
    });
  });
}

const sqlstate = (answer: string) => /C([0-9A-Z]{5})\0/.exec(answer)?.[1];

test('connections that never log in are ended after the timeout; past the cap one more is refused with 53300; nothing is left open', {
  timeout: 10_000,
}, async () => {
  const gateway = await createPgGateway({
    reader: {} as GatewayReader,
    authenticate: async () => {
      throw new Error('no login in this test');
    },
    isTrustedProxy: () => false,
    cleartextAllowed: () => true,
    authenticationTimeoutMs: 300,
    maxConnections: 2,
  });
  const { port } = await gateway.listen(0, '127.0.0.1');
  try {
    // Four bytes of a startup packet each, then nothing.
    const a = await open(port, Buffer.from([0, 0, 0, 40]));
    const b = await open(port, Buffer.from([0, 0, 0, 40]));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(gateway.connections(), 2);
    const c = await open(port, Buffer.from([0, 0, 0, 40]));
    assert.equal(sqlstate(await c.closed), '53300', 'one past the cap');
    assert.equal(gateway.connections(), 2);
    const [ta, tb] = await Promise.all([a.closed, b.closed]);
    assert.equal(sqlstate(ta), '08006');
    assert.equal(sqlstate(tb), '08006');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(gateway.connections(), 0, 'no socket left open');
    // A FATAL error (an unknown protocol version) while the client keeps its end open: the server closes it.
    const bad = Buffer.alloc(8);
    bad.writeInt32BE(8, 0);
    bad.writeInt32BE(0x00020000, 4);
    const d = await open(port, bad);
    assert.equal(sqlstate(await d.closed), '0A000');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(gateway.connections(), 0, 'the FATAL connection is gone');
  } finally {
    await gateway.close();
  }
});
