import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Replies } from './replies.js';

/** A connected pair on loopback: the server's end (written to) and the client's (read from, or not). */
async function pair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const client = connect((srv.address() as { port: number }).port, '127.0.0.1');
  const [server] = (await accepted) as [Socket];
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

test('waiting for a full socket to drain leaves no listener behind, however often it waits', async () => {
  const { server, client, close } = await pair();
  try {
    client.pause();
    const base = { drain: server.listenerCount('drain'), close: server.listenerCount('close'), error: server.listenerCount('error') };
    const replies = new Replies(() => server);
    replies.hold();
    const chunk = Buffer.alloc(256 * 1024, 1);
    let waits = 0;
    // 200 waits: each fills the socket's buffer, then lets the client read until it drains.
    while (waits < 200) {
      const wait = replies.write(chunk);
      if (wait === undefined) continue;
      waits++;
      client.resume();
      await wait;
      client.pause();
    }
    assert.deepEqual(
      { drain: server.listenerCount('drain'), close: server.listenerCount('close'), error: server.listenerCount('error') },
      base,
      `listeners after ${waits} waits`,
    );
  } finally {
    close();
  }
});

test('a wait for a full socket ends when the socket closes instead of draining', async () => {
  const { server, client, close } = await pair();
  try {
    client.pause();
    const replies = new Replies(() => server);
    let wait: Promise<void> | undefined;
    while (wait === undefined) wait = replies.write(Buffer.alloc(256 * 1024, 1));
    client.destroy();
    server.destroy();
    await wait;
    assert.equal(server.listenerCount('close'), 0);
  } finally {
    close();
  }
});
