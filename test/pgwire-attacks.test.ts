// The wire gateway under bad input and attack, in process with the demo policy and a raw protocol
// client: tokens for another principal, expired or forged; protected columns in WHERE and ORDER BY;
// malformed, truncated, oversized and unknown messages; SQL that does not parse; SQL in parameters.
// Each gets the SQLSTATE PostgreSQL would give, and nothing of it reaches the access log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, seedDemoWorld, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { proxyV2Header } from '../src/pgwire/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import {
  bindMessage,
  cellsOf,
  describePortal,
  executeMessage,
  fieldsOf,
  frontend,
  parseMessage,
  queryMessage,
  RawPg,
  startupMessage,
  syncMessage,
  type BackendMessage,
} from './helpers/pg-raw.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
/** Where each persona works (addresses inside cordon.yaml's locations); the PROXY header names them. */
const FROM: Record<string, string> = { 'beijing-engineer': '10.80.0.5', 'us-analyst': '10.21.0.5', 'austin-engineer': '10.20.0.5' };

let server: CordonServer;
let issuer: DemoIssuer;
let port: number;
let users: number;

before(async () => {
  issuer = await createDemoIssuer();
  server = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-pgwire-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    log: { checkpointEveryMs: 50 },
    pgWire: true,
  });
  // The fixed users and enough others for a list of three pages (500 rows a page).
  users = (await seedDemoWorld(server.placement, { users: 1300, videosPerUser: 0.01, commentsPerVideo: 0 })).users;
  port = (await server.pg!.listen(0, '127.0.0.1')).port;
});
after(async () => server.close());

const fromProxy = (persona: string) => proxyV2Header(FROM[persona]!, 40000, '127.0.0.1', port);
const errorOf = (msgs: readonly BackendMessage[]) => {
  const e = msgs.find((m) => m.type === 'E');
  return e ? fieldsOf(e) : undefined;
};

/** A logged-in connection of `persona` through the trusted proxy (placed at its site). */
async function session(persona: string): Promise<RawPg> {
  const c = await RawPg.connect(port, fromProxy(persona));
  const msgs = await c.login(persona, await issuer.sign(persona));
  assert.equal(msgs.at(-1)?.type, 'Z', `${persona} logs in: ${JSON.stringify(errorOf(msgs))}`);
  return c;
}
async function query(c: RawPg, sql: string): Promise<BackendMessage[]> {
  c.send(queryMessage(sql));
  return c.until('Z');
}

test('a token is the password: another principal, expired, forged or garbage is refused (28000/28P01), the connection closed, nothing logged', async () => {
  const size = server.log.size();
  const cases: [string, string, () => Promise<string>, string, RegExp][] = [
    ['a token for another principal than the user', 'us-analyst', () => issuer.sign('beijing-engineer'), '28000', /names principal "beijing-engineer"/],
    ['an expired token', 'us-analyst', () => issuer.sign('us-analyst', { now: new Date(Date.now() - 9 * 3600_000) }), '28P01', /expired/],
    [
      'a forged token (signature changed)',
      'us-analyst',
      async () => {
        const t = await issuer.sign('us-analyst');
        return `${t.slice(0, -4)}${t.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      },
      '28P01',
      /signature|token/,
    ],
    ['a password that is no token', 'us-analyst', async () => 'hunter2', '28P01', /password authentication failed/],
    ['a principal the directory does not know', 'nobody', () => issuer.sign('nobody'), '28000', /password authentication failed/],
  ];
  for (const [note, user, token, state, message] of cases) {
    const c = await RawPg.connect(port, fromProxy('us-analyst'));
    const msgs = await c.login(user, await token());
    const e = errorOf(msgs);
    assert.equal(e?.['C'], state, note);
    assert.equal(e?.['S'], 'FATAL', note);
    assert.match(e?.['M'] ?? '', message, note);
    assert.ok(!msgs.some((m) => m.type === 'Z'), `${note}: never ready for a query`);
    assert.equal(await c.next(), undefined, `${note}: the server closes the connection`);
  }
  assert.equal(server.log.size(), size, 'nothing logged');
});

test('a column the caller may not filter on, in WHERE or ORDER BY, is refused with 42501 before anything is read; the connection goes on', async () => {
  const c = await session('beijing-engineer');
  const size = server.log.size();
  for (const sql of [
    "SELECT uid FROM users WHERE phone_number = 'x'",
    "SELECT uid FROM users WHERE phone_number LIKE 'x%'",
    'SELECT uid FROM users WHERE email IS NULL',
    "SELECT username FROM users WHERE username = 'lonestar_lens' ORDER BY birthday",
    "SELECT uid FROM users WHERE username = 'lonestar_lens' AND ip_address = $1",
  ]) {
    const msgs = await query(c, sql);
    assert.equal(errorOf(msgs)?.['C'], '42501', sql);
    assert.ok(!msgs.some((m) => m.type === 'D' || m.type === 'T'), `${sql}: no row, no row description`);
    assert.equal(msgs.at(-1)?.type, 'Z', `${sql}: still usable`);
  }
  assert.equal(server.log.size(), size, 'nothing read, nothing logged');
  for (const [sql, construct] of [
    ["SELECT uid FROM users WHERE username SIMILAR TO 'l%'", /SIMILAR/],
    ['SELECT sum(created_at) FROM users', /sum/],
    ['SELECT u.uid FROM users u FULL JOIN videos v ON v.owner_uid = u.uid', /FULL JOIN/],
    ["DELETE FROM users WHERE username = 'x'", /DELETE/],
    ["SELECT uid FROM users WHERE lower(username) = 'b'", /lower/],
    ['SELECT DISTINCT country FROM users', /DISTINCT/],
  ] as const) {
    const e = errorOf(await query(c, sql));
    assert.equal(e?.['C'], '0A000', sql);
    assert.match(e?.['M'] ?? '', construct, sql);
  }
  assert.equal(errorOf(await query(c, 'SELECT nope FROM users'))?.['C'], '42703');
  assert.equal(errorOf(await query(c, 'SELECT uid FROM nothing'))?.['C'], '42P01');
  assert.equal(server.log.size(), size, 'still nothing logged');
  const ok = await query(c, "SELECT username FROM users WHERE username = 'lonestar_lens'");
  assert.deepEqual(ok.filter((m) => m.type === 'D').map(cellsOf), [['lonestar_lens']]);
  assert.equal(server.log.size(), size + 1, 'the permitted read is one record');
  c.end();
});

test('malformed, truncated, oversized and unknown messages: a FATAL error with its SQLSTATE, or a plain close; nothing logged', async () => {
  const size = server.log.size();
  const fatal = async (note: string, bytes: Buffer, state: string, login = false) => {
    const c = login ? await session('us-analyst') : await RawPg.connect(port);
    c.send(bytes);
    const msgs = await c.until('Z');
    const e = errorOf(msgs);
    assert.equal(e?.['C'], state, `${note}: ${JSON.stringify(e)}`);
    assert.equal(e?.['S'], 'FATAL', note);
    assert.equal(await c.next(), undefined, `${note}: closed`);
  };
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  await fatal('a startup packet of length 3', int32(3), '08P01');
  await fatal('a startup packet longer than 10000 bytes', Buffer.concat([int32(20_000), int32(196608)]), '08P01');
  await fatal('protocol 2.0', Buffer.concat([int32(8), int32(2 << 16)]), '0A000');
  await fatal('a startup packet without a user', startupMessage({ database: 'x' }), '28000');
  await fatal('an unknown message type', frontend('z', Buffer.alloc(0)), '08P01', true);
  await fatal('a message announcing 64 MiB (the body never sent)', Buffer.concat([Buffer.from('Q'), int32(64 * 1024 * 1024)]), '54000', true);
  await fatal('a message length below 4', Buffer.concat([Buffer.from('Q'), int32(2)]), '08P01', true);
  await fatal('a query whose string is not terminated', frontend('Q', Buffer.from('SELECT 1')), '08P01', true);
  await fatal(
    'a Bind naming a negative parameter length',
    Buffer.concat([parseMessage('SELECT 1'), frontend('B', Buffer.concat([Buffer.from('\u0000\u0000'), Buffer.from([0, 0, 0, 1]), int32(-7)]))]),
    '08P01',
    true,
  );

  // Truncated: half a startup packet, then the client goes away. The server just closes.
  const t = await RawPg.connect(port);
  t.send(startupMessage({ user: 'us-analyst' }).subarray(0, 9));
  t.socket.end();
  assert.equal(await t.next(), undefined);

  // SSLRequest: 'N' (no TLS yet), and the startup goes on in the clear.
  const s = await RawPg.connect(port, fromProxy('us-analyst'));
  s.send(Buffer.concat([int32(8), int32(80877103)]));
  assert.equal((await s.raw(1))?.toString(), 'N');
  assert.equal((await s.login('us-analyst', await issuer.sign('us-analyst'))).at(-1)?.type, 'Z');
  // SQL that does not parse: 42601, and the connection is still usable.
  const bad = await query(s, 'SELEC uid FROM users');
  assert.equal(errorOf(bad)?.['C'], '42601');
  assert.equal(bad.at(-1)?.type, 'Z');
  assert.deepEqual((await query(s, 'SELECT 1 AS one')).filter((m) => m.type === 'D').map(cellsOf), [['1']]);
  s.end();
  assert.equal(server.log.size(), size, 'nothing logged');
});

test('extended protocol: parameters are values, never SQL; an error skips to Sync and the connection goes on', async () => {
  const c = await session('us-analyst');
  const run = async (sql: string, params: (string | null)[]) => {
    c.send(Buffer.concat([parseMessage(sql), bindMessage(params), describePortal(), executeMessage(), syncMessage()]));
    return c.until('Z');
  };
  const sql = 'SELECT uid, username FROM users WHERE username = $1';
  for (const injected of ["x' OR '1'='1", "lonestar_lens' --", "'; DELETE FROM users; --", 'lonestar_lens; SELECT 1']) {
    const msgs = await run(sql, [injected]);
    assert.equal(errorOf(msgs), undefined, injected);
    assert.equal(msgs.filter((m) => m.type === 'D').length, 0, `${injected}: a value no row has`);
    assert.ok(msgs.some((m) => m.type === 'C' && m.body.toString().startsWith('SELECT 0')));
  }
  const one = await run(sql, ['lonestar_lens']);
  assert.equal(one.filter((m) => m.type === 'D').length, 1, 'the same statement finds the value given as a value');
  assert.deepEqual(cellsOf(one.find((m) => m.type === 'D')!)[1], 'lonestar_lens');
  // The key as a parameter: demo-us-1 in clear names nothing for us-analyst (W6), as GET /v1/data/users/demo-us-1 is 404.
  const clear = await run('SELECT username FROM users WHERE uid = $1', ['demo-us-1']);
  assert.equal(clear.filter((m) => m.type === 'D').length, 0);
  const mine = await server.keyAs('us-analyst', 'users', 'demo-us-1');
  assert.match(mine ?? '', /^tok_/);
  const byToken = await run('SELECT username FROM users WHERE uid = $1', [mine!]);
  assert.deepEqual(byToken.filter((m) => m.type === 'D').map(cellsOf), [['lonestar_lens']]);
  // Two parameters where one is needed: an error, then everything to Sync is skipped, then ready again.
  const wrong = await run(sql, ['a', 'b']);
  assert.equal(errorOf(wrong)?.['C'], '08P01');
  assert.ok(!wrong.some((m) => m.type === 'D'));
  assert.equal(wrong.at(-1)?.type, 'Z');
  assert.equal((await run(sql, ['lonestar_lens'])).filter((m) => m.type === 'D').length, 1, 'usable after the error');
  // A row limit on Execute (a cursor's fetch size) would log rows as released that may never be
  // fetched (W5): refused before anything is read, nothing logged, the connection usable.
  const size = server.log.size();
  c.send(Buffer.concat([parseMessage(sql), bindMessage(['lonestar_lens']), describePortal(), executeMessage('', 1), syncMessage()]));
  const limited = await c.until('Z');
  assert.equal(errorOf(limited)?.['C'], '0A000');
  assert.match(errorOf(limited)?.['M'] ?? '', /row limit \(1\)/);
  assert.ok(!limited.some((m) => m.type === 'D'));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.log.size(), size, 'nothing logged');
  assert.equal((await run(sql, ['lonestar_lens'])).filter((m) => m.type === 'D').length, 1, 'usable after the refusal');
  c.end();
});

test('from a place the network map does not know (the token names another): lists are refused unread, a record by key is refused and logged as refused', async () => {
  // Straight from 127.0.0.1 (no PROXY header): the map says US/localhost, the token says Beijing.
  const c = await RawPg.connect(port);
  const token = await issuer.sign('beijing-engineer', { location: { country: 'CN', site: 'beijing' } });
  assert.equal((await c.login('beijing-engineer', token)).at(-1)?.type, 'Z');
  const size = server.log.size();
  const list = await query(c, "SELECT username FROM users WHERE username = 'lonestar_lens'");
  assert.equal(errorOf(list)?.['C'], '42501');
  assert.equal(server.log.size(), size, 'a list from nowhere reads nothing');
  const key = await server.keyAs('beijing-engineer', 'users', 'demo-us-1');
  const one = await query(c, `SELECT uid, phone_number FROM users WHERE uid = '${key}'`);
  assert.equal(errorOf(one)?.['C'], '42501');
  assert.ok(!one.some((m) => m.type === 'D'));
  assert.equal(server.log.size(), size + 1, 'the refusal is recorded, as the HTTP gateway records it');
  // Only columns that are not protected: the whole record is decided as GET decides it, and GET
  // refuses a record with any protected field to a place it does not know.
  const publicOnly = await query(c, `SELECT uid, username, country, bio FROM users WHERE uid = '${key}'`);
  assert.equal(errorOf(publicOnly)?.['C'], '42501');
  assert.ok(!publicOnly.some((m) => m.type === 'D'));
  assert.equal(server.log.size(), size + 2, 'refused and recorded as refused');
  c.end();
});

test('a NUL byte in a value is 22021 before any store is asked; nothing logged; the connection goes on', async () => {
  const c = await session('beijing-engineer');
  const size = server.log.size();
  for (const sql of ['SELECT uid FROM users WHERE username = $1', 'SELECT id FROM videos WHERE id = $1']) {
    c.send(Buffer.concat([parseMessage(sql), bindMessage(['x\u0000']), describePortal(), executeMessage(), syncMessage()]));
    const msgs = await c.until('Z');
    assert.equal(errorOf(msgs)?.['C'], '22021', sql);
    assert.equal(errorOf(msgs)?.['S'], 'ERROR', 'not FATAL: the connection stays');
  }
  assert.equal(server.log.size(), size);
  assert.equal(errorOf(await query(c, 'SELECT 1')), undefined, 'usable after');
  c.end();
});

test('a client that goes away mid-list: the server stops reading and recording (W5: no record of a release that cannot happen)', async () => {
  const size = server.log.size();
  const c = await session('austin-engineer');
  c.send(queryMessage('SELECT uid FROM users'));
  // The first row, then gone.
  await c.until('D');
  c.socket.destroy();
  await new Promise((r) => setTimeout(r, 1500));
  const grew = server.log.size() - size;
  console.log(`# ${users} users; records after the client left mid-list: ${grew}`);
  assert.ok(users > 1200, `enough users for more than two pages: ${users}`);
  assert.ok(grew <= 1000, `at most the pages read before the close was seen (500 each), not all ${users}: ${grew}`);
});
