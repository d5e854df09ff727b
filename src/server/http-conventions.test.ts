// The route table that tells 405 from 404, and gzip inflation under a limit, without a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createRouteTable, gunzipWithin } from './http-conventions.js';

test('the route table matches paths as Fastify routes them and lists their methods in a fixed order', () => {
  const t = createRouteTable();
  for (const [m, u] of [
    ['GET', '/v1/data/:dataset/:key'],
    ['PATCH', '/v1/data/:dataset/:key'],
    ['DELETE', '/v1/data/:dataset/:key'],
    ['POST', '/v1/data/:dataset'],
    ['GET', '/v1/data/:dataset'],
    ['GET', '/assets/*'],
    ['HEAD', '/assets/*'],
    ['POST', '/v1/access/requests/:id/approve'],
    ['GET', '/v1/log/records'],
  ] as const)
    t.add(m, u);
  const cases: { note: string; path: string; methods: string[]; patterns: string[] }[] = [
    { note: 'two parameters', path: '/v1/data/users/u-1', methods: ['GET', 'PATCH', 'DELETE'], patterns: ['/v1/data/:dataset/:key'] },
    { note: 'HEAD only where a route takes it (not the data API: W5)', path: '/v1/data/users', methods: ['GET', 'POST'], patterns: ['/v1/data/:dataset'] },
    {
      note: 'a parameter may be empty, as in find-my-way',
      path: '/v1/data/users/',
      methods: ['GET', 'PATCH', 'DELETE'],
      patterns: ['/v1/data/:dataset/:key'],
    },
    { note: 'a literal segment is compared decoded', path: '/v1/d%61ta/users', methods: ['GET', 'POST'], patterns: ['/v1/data/:dataset'] },
    {
      note: 'an encoded slash stays in its segment',
      path: '/v1/data/a%2Fb/c',
      methods: ['GET', 'PATCH', 'DELETE'],
      patterns: ['/v1/data/:dataset/:key'],
    },
    { note: 'one segment too many', path: '/v1/data/users/u-1/x', methods: [], patterns: [] },
    { note: 'the wildcard takes the rest', path: '/assets/a/b.js', methods: ['GET', 'HEAD'], patterns: ['/assets/*'] },
    { note: 'the wildcard takes nothing too', path: '/assets/', methods: ['GET', 'HEAD'], patterns: ['/assets/*'] },
    { note: 'a method of a longer route only', path: '/v1/access/requests/r/approve', methods: ['POST'], patterns: ['/v1/access/requests/:id/approve'] },
    { note: 'case matters', path: '/V1/log/records', methods: [], patterns: [] },
    { note: 'a bad escape is compared as sent', path: '/v1/log/%zz', methods: [], patterns: [] },
  ];
  for (const c of cases) assert.deepEqual(t.allowed(c.path), { methods: c.methods, patterns: c.patterns }, c.note);
});

/** A request body that hands out `body` in 1 KiB chunks on demand, counting what was pulled. */
function dripping(body: Buffer): { stream: Readable; pulled: () => number } {
  let at = 0;
  const stream = new Readable({
    read() {
      if (at >= body.length) return void this.push(null);
      this.push(body.subarray(at, at + 1024));
      at += 1024;
    },
  });
  return { stream, pulled: () => at };
}

async function drain(s: Readable): Promise<{ bytes: number; error?: Error & { code?: string; statusCode?: number } }> {
  let bytes = 0;
  try {
    for await (const c of s) bytes += (c as Buffer).length;
    return { bytes };
  } catch (error) {
    return { bytes, error: error as Error };
  }
}

test('gunzipWithin inflates a body, counting what was sent, and stops a bomb at the limit', async () => {
  const json = Buffer.from(JSON.stringify({ uid: 'u-1', bio: 'z'.repeat(5000) }));
  const zipped = gzipSync(json);
  const ok = gunzipWithin(dripping(zipped).stream, json.length) as Readable & { receivedEncodedLength: number };
  const chunks: Buffer[] = [];
  for await (const c of ok) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(json));
  assert.equal(ok.receivedEncodedLength, zipped.length, 'Fastify compares this with Content-Length');

  const over = await drain(gunzipWithin(dripping(zipped).stream, json.length - 1));
  assert.equal(over.error?.code, 'FST_ERR_CTP_BODY_TOO_LARGE');
  assert.equal(over.error?.statusCode, 413);
  assert.ok(over.bytes <= json.length - 1);

  // 1 GiB of zeros in about 1 MiB (gzip members of 1 MiB each, one after the other, as RFC 1952
  // allows): inflating stops at the limit and the rest is not even read.
  const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
  const source = dripping(bomb);
  const refused = await drain(gunzipWithin(source.stream, 64 * 1024));
  assert.equal(refused.error?.code, 'FST_ERR_CTP_BODY_TOO_LARGE');
  assert.ok(refused.bytes <= 64 * 1024);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(source.pulled() < bomb.length / 10, `read ${source.pulled()} of ${bomb.length} compressed bytes`);

  // A stream of empty deflate blocks (5 bytes each, inflating to nothing) is held to the limit as sent.
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);
  const empty = Buffer.concat([header, Buffer.alloc(5 * 200_000, Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]))]);
  const endless = dripping(empty);
  const cut = await drain(gunzipWithin(endless.stream, 64 * 1024));
  assert.equal(cut.error?.code, 'FST_ERR_CTP_BODY_TOO_LARGE');
  assert.equal(cut.bytes, 0);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(endless.pulled() < empty.length / 4, `read ${endless.pulled()} of ${empty.length} bytes of empty blocks`);

  const corrupt = await drain(gunzipWithin(dripping(Buffer.from('not gzip at all')).stream, 1024));
  assert.equal((corrupt.error as { code?: string } | undefined)?.code, 'gateway.invalid_body');
});
