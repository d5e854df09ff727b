// The wire gateway under bad input and attack, in process with the demo policy and a raw protocol
// client: tokens for another principal, expired or forged; protected columns in WHERE and ORDER BY;
// malformed, truncated, oversized and unknown messages; SQL that does not parse; SQL in parameters.
// Each gets the SQLSTATE PostgreSQL would give, and nothing of it reaches the access log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicy } from '../src/policy/index.js';
import { seedDemoWorld, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { proxyV2Header } from '../src/pgwire/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { FROM, startWireServer } from './helpers/pgwire-server.js';
import { spawn } from 'node:child_process';
import pg from 'pg';
import postgres from 'postgres';
import {
  bindFormats,
  bindMessage,
  CANCEL_REQUEST,
  cellsOf,
  columnsOf,
  describePortal,
  executeMessage,
  fieldsOf,
  frontend,
  parseMessage,
  parseTyped,
  proxyRelay,
  queryMessage,
  RawPg,
  rawCellsOf,
  startupMessage,
  startupRequest,
  syncMessage,
  type BackendMessage,
} from './helpers/pg-raw.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;

let server: CordonServer;
let issuer: DemoIssuer;
let port: number;
let users: number;

before(async () => {
  ({ server, issuer, port } = await startWireServer(policy, 'cordon-pgwire-'));
  // The fixed users and enough others for a list of three pages (500 rows a page).
  users = (await seedDemoWorld(server.placement, { users: 1300, videosPerUser: 0.01, commentsPerVideo: 0 })).users;
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

/** The global store's list, held at its `n`th call from now until released: a query is caught before a page is read. */
function holdList(n: number): { held: Promise<void>; release(): void } {
  const store = server.stores.get(policy.deployment.globalStore)!;
  const list = store.list;
  let calls = 0;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let reached!: () => void;
  const held = new Promise<void>((r) => (reached = r));
  store.list = async (...args) => {
    if (++calls === n) {
      reached();
      await gate;
    }
    return list.apply(store, args);
  };
  return {
    held,
    release: () => {
      store.list = list;
      open();
    },
  };
}

/** A CancelRequest on a new connection; what the server answers (PostgreSQL answers nothing, and closes). */
async function sendCancel(pid: number, secret: number): Promise<Buffer | undefined> {
  const c = await RawPg.connect(port);
  c.send(startupRequest(CANCEL_REQUEST, pid, secret));
  return c.raw(1);
}
const keyOf = (msgs: readonly BackendMessage[]) => {
  const k = msgs.find((m) => m.type === 'K');
  assert.ok(k, 'BackendKeyData at login');
  return { pid: k.body.readInt32BE(0), secret: k.body.readInt32BE(4) };
};
async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(done(), what);
}

test("cancel: a CancelRequest with the session's key stops its list between pages (57014), nothing more read or recorded; a wrong key, another principal's, or one between queries does nothing and is told nothing", {
  timeout: 30_000,
}, async () => {
  const a = await RawPg.connect(port, fromProxy('us-analyst'));
  const key = keyOf(await a.login('us-analyst', await issuer.sign('us-analyst')));
  const b = await RawPg.connect(port, fromProxy('beijing-engineer'));
  const other = keyOf(await b.login('beijing-engineer', await issuer.sign('beijing-engineer')));
  assert.notEqual(key.pid, other.pid);

  // Held before its first page: every wrong key, then the query runs to its end.
  let hold = holdList(1);
  let size = server.log.size();
  a.send(queryMessage('SELECT uid FROM users LIMIT 2'));
  await hold.held;
  for (const [note, pid, secret] of [
    ['the secret off by one bit', key.pid, key.secret ^ 1],
    ["another principal's secret with this pid", key.pid, other.secret],
    ["another principal's own key (its session is idle)", other.pid, other.secret],
    ['an id no session has', key.pid === 1 ? 2 : 1, key.secret],
  ] as const) {
    assert.equal(await sendCancel(pid, secret), undefined, `${note}: closed without a byte`);
  }
  hold.release();
  const whole = await a.until('Z');
  assert.equal(errorOf(whole), undefined, 'not cancelled');
  assert.equal(whole.filter((m) => m.type === 'D').length, 2);
  assert.equal(server.log.size(), size + 2);

  // The right key while the second page is held: the first page's 500 rows were sent and recorded, nothing after.
  hold = holdList(2);
  size = server.log.size();
  a.send(queryMessage('SELECT uid FROM users LIMIT 501'));
  await hold.held;
  assert.equal(server.log.size(), size + 500, 'the first page recorded before the second is read');
  assert.equal(await sendCancel(key.pid, key.secret), undefined, 'a cancel is answered with nothing, as PostgreSQL answers it');
  hold.release();
  const cut = await a.until('Z');
  assert.deepEqual({ ...errorOf(cut), V: undefined }, { S: 'ERROR', C: '57014', M: 'canceling statement due to user request', V: undefined });
  assert.equal(cut.filter((m) => m.type === 'D').length, 500);
  assert.ok(!cut.some((m) => m.type === 'C'), 'no CommandComplete');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(server.log.size(), size + 500, 'the held page was neither decided into the log nor sent');

  // An aggregate held before its scan: cancelled, it counts and records nothing.
  hold = holdList(1);
  size = server.log.size();
  a.send(queryMessage('SELECT count(*) FROM users'));
  await hold.held;
  assert.equal(await sendCancel(key.pid, key.secret), undefined);
  hold.release();
  const counted = await a.until('Z');
  assert.equal(errorOf(counted)?.['C'], '57014');
  assert.ok(!counted.some((m) => m.type === 'D'), 'no count');
  assert.equal(server.log.size(), size, 'nothing recorded');

  // The session goes on; a cancel between queries changes nothing for the next one.
  assert.equal(await sendCancel(key.pid, key.secret), undefined);
  assert.deepEqual((await query(a, 'SELECT 1 AS one')).filter((m) => m.type === 'D').map(cellsOf), [['1']]);
  a.end();
  // Once the session is gone its key cancels nothing, and b never noticed any of this.
  assert.equal(await sendCancel(key.pid, key.secret), undefined);
  assert.deepEqual((await query(b, 'SELECT 1 AS one')).filter((m) => m.type === 'D').map(cellsOf), [['1']]);
  b.end();
  // A cancel packet of the wrong length is closed without a word too.
  const bad = await RawPg.connect(port);
  bad.send(startupRequest(CANCEL_REQUEST, key.pid));
  assert.equal(await bad.raw(1), undefined);
});

test("cancel from real clients: postgres.js's query.cancel() and psql's Ctrl-C stop a held list with 57014, nothing read or recorded", {
  timeout: 30_000,
}, async () => {
  const relay = await proxyRelay(port, FROM['us-analyst']!);
  const token = await issuer.sign('us-analyst');
  const sql = postgres({ host: '127.0.0.1', port: relay.port, user: 'us-analyst', database: 'cordon', password: token, max: 1 });
  let hold = { held: Promise.resolve(), release: () => {} };
  try {
    await sql`SELECT 1`;
    hold = holdList(1);
    let size = server.log.size();
    const q = sql`SELECT uid FROM users LIMIT 2`.execute();
    const settled = q.then(
      () => 'finished',
      (e: { code?: string }) => e.code,
    );
    await hold.held;
    let closed = relay.closed();
    q.cancel();
    await until('the cancel connection came and went', () => relay.closed() > closed);
    hold.release();
    assert.equal(await settled, '57014');
    assert.equal(server.log.size(), size, 'nothing recorded');
    // A constant is an integer, as PostgreSQL types it (the catalog's evaluator answers it).
    assert.deepEqual([...(await sql`SELECT 1 AS one`)], [{ one: 1 }], 'the connection goes on');

    hold = holdList(1);
    size = server.log.size();
    const psql = spawn('psql', [`host=127.0.0.1 port=${relay.port} user=us-analyst dbname=cordon`, '-X', '-c', 'SELECT uid FROM users LIMIT 2'], {
      env: { ...process.env, PSQLRC: '/dev/null', PGPASSWORD: token },
    });
    try {
      let stderr = '';
      psql.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((done) => psql.on('exit', done));
      await hold.held;
      closed = relay.closed();
      psql.kill('SIGINT');
      await until("psql's cancel connection came and went", () => relay.closed() > closed);
      hold.release();
      assert.equal(await exited, 1);
      assert.match(stderr, /ERROR: {2}canceling statement due to user request/);
      assert.equal(server.log.size(), size, 'nothing recorded');
    } finally {
      psql.kill('SIGKILL');
    }
  } finally {
    hold.release();
    await sql.end();
    await relay.close();
  }
});

test('binary: parameters of the common types mean what their text means; results in binary where asked; bad binary input is an error before anything is read, the connection goes on', {
  timeout: 30_000,
}, async () => {
  const c = await session('us-analyst');
  const ext = async (
    sql: string,
    types: readonly number[],
    params: readonly (Buffer | null)[],
    formats: readonly number[],
    results: readonly number[] = [],
  ) => {
    c.send(Buffer.concat([parseTyped(sql, types), bindFormats(params, formats, results), describePortal(), executeMessage(), syncMessage()]));
    return c.until('Z');
  };
  const rows = (msgs: readonly BackendMessage[]) => {
    assert.equal(errorOf(msgs), undefined, JSON.stringify(errorOf(msgs)));
    return msgs.filter((m) => m.type === 'D').map(cellsOf);
  };
  const be = (size: number, write: (b: Buffer) => void) => {
    const b = Buffer.alloc(size);
    write(b);
    return b;
  };
  // A video's view count, read with a text parameter: the baseline.
  const [video] = rows(await query(c, 'SELECT id, view_count FROM videos ORDER BY id LIMIT 1'));
  const [id, count] = [video![0]!, Number(video![1])];
  assert.ok(Number.isInteger(count), 'the demo counts views in whole numbers');
  const byCount = 'SELECT id, view_count FROM videos WHERE view_count = $1 ORDER BY id LIMIT $2';
  const text = rows(await ext(byCount, [0, 0], [Buffer.from(String(count)), Buffer.from('2')], [0]));
  assert.ok(text.some((r) => r[0] === id));
  for (const [note, oid, value] of [
    ['int8', 20, be(8, (b) => b.writeBigInt64BE(BigInt(count)))],
    ['int4', 23, be(4, (b) => b.writeInt32BE(count))],
    ['float8', 701, be(8, (b) => b.writeDoubleBE(count))],
  ] as const) {
    assert.deepEqual(
      rows(await ext(byCount, [oid, 20], [value, be(8, (b) => b.writeBigInt64BE(2n))], [1])),
      text,
      `a binary ${note} finds what its text finds`,
    );
  }
  // Text types in binary are their UTF-8 bytes; unspecified (0) is text, as ParameterDescription says.
  for (const oid of [1043, 0]) {
    assert.deepEqual(rows(await ext('SELECT username FROM users WHERE username = $1', [oid], [Buffer.from('lonestar_lens')], [1])), [['lonestar_lens']]);
  }
  assert.deepEqual(rows(await ext('SELECT username FROM users WHERE username = $1', [25], [Buffer.from("lonestar_lens' OR '1'='1")], [1])), [], 'a value');

  // Results in binary where asked: the RowDescription says so, float8 is 8 bytes, text its bytes; per column too.
  const bin = await ext('SELECT id, view_count FROM videos WHERE id = $1', [0], [Buffer.from(id)], [0], [1]);
  assert.equal(errorOf(bin), undefined);
  assert.deepEqual(columnsOf(bin.find((m) => m.type === 'T')!), [
    { name: 'id', oid: 25, format: 1 },
    { name: 'view_count', oid: 701, format: 1 },
  ]);
  const [cells] = bin.filter((m) => m.type === 'D').map(rawCellsOf);
  assert.equal(cells![0]!.toString(), id);
  assert.equal(cells![1]!.length, 8);
  assert.equal(cells![1]!.readDoubleBE(0), count);
  const mixed = await ext('SELECT id, view_count FROM videos WHERE id = $1', [0], [Buffer.from(id)], [0], [0, 1]);
  assert.deepEqual(
    columnsOf(mixed.find((m) => m.type === 'T')!).map((x) => x.format),
    [0, 1],
  );
  assert.equal(rawCellsOf(mixed.find((m) => m.type === 'D')!)[1]!.readDoubleBE(0), count);
  // count() is bigint: 8 bytes in binary, the number the text form gives.
  const counted = rows(await query(c, 'SELECT count(*) FROM videos WHERE view_count >= 0'))[0]?.[0];
  const countBin = await ext('SELECT count(*) FROM videos WHERE view_count >= $1', [0], [Buffer.from('0')], [0], [1]);
  assert.deepEqual(columnsOf(countBin.find((m) => m.type === 'T')!), [{ name: 'count', oid: 20, format: 1 }]);
  assert.equal(String(rawCellsOf(countBin.find((m) => m.type === 'D')!)[0]!.readBigInt64BE(0)), counted);
  // The catalog's oid, name and bool columns in binary (psql's \d asks for them in text; a driver may not).
  const cat = await ext(
    "SELECT c.oid, c.relname, c.relhasindex FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(users)$' AND n.nspname OPERATOR(pg_catalog.~) '^(public)$'",
    [],
    [],
    [],
    [1],
  );
  assert.equal(errorOf(cat), undefined, JSON.stringify(errorOf(cat)));
  assert.deepEqual(
    columnsOf(cat.find((m) => m.type === 'T')!).map((x) => [x.oid, x.format]),
    [
      [26, 1],
      [19, 1],
      [16, 1],
    ],
  );
  const [oidCell, nameCell, boolCell] = rawCellsOf(cat.find((m) => m.type === 'D')!);
  assert.ok(oidCell!.readUInt32BE(0) >= 16384);
  assert.equal(nameCell!.toString(), 'users');
  assert.equal(boolCell!.length, 1);

  // Bad binary input: the SQLSTATE PostgreSQL gives, nothing read or logged, the connection usable.
  const size = server.log.size();
  for (const [note, msgs, state, message] of [
    [
      'an int4 of 3 bytes',
      await ext(byCount, [23, 20], [Buffer.from([0, 0, 1]), be(8, (b) => b.writeBigInt64BE(3n))], [1]),
      '22P03',
      /incorrect binary data format in bind parameter 1/,
    ],
    [
      'a numeric in binary',
      await ext(byCount, [1700, 0], [Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), Buffer.from('1')], [1, 0]),
      '0A000',
      /parameter \$1 of type numeric/,
    ],
    ['format code 7', await ext(byCount, [0, 0], [Buffer.from('1'), Buffer.from('1')], [7]), '22023', /unsupported format code: 7/],
    [
      'three format codes for two parameters',
      await ext(byCount, [0, 0], [Buffer.from('1'), Buffer.from('1')], [0, 0, 0]),
      '08P01',
      /3 parameter formats but 2 parameters/,
    ],
    [
      'three result formats for two columns',
      await ext(byCount, [0, 0], [Buffer.from('1'), Buffer.from('1')], [0], [1, 1, 1]),
      '08P01',
      /3 result formats but query has 2 columns/,
    ],
    ['text that is not UTF-8', await ext('SELECT username FROM users WHERE username = $1', [25], [Buffer.from([0xc3, 0x28])], [1]), '22021', /UTF8/],
    ['a NUL inside binary text', await ext('SELECT username FROM users WHERE username = $1', [25], [Buffer.from('a\0b')], [1]), '22021', /NUL/],
    // The format changes nothing of who may filter on what: a protected column is still no oracle (W1).
    [
      'a protected column filtered by a binary value',
      await ext('SELECT uid FROM users WHERE phone_number = $1', [25], [Buffer.from('+15125550100')], [1]),
      '42501',
      /cannot be a filter/,
    ],
  ] as const) {
    assert.equal(errorOf(msgs)?.['C'], state, `${note}: ${JSON.stringify(errorOf(msgs))}`);
    assert.equal(errorOf(msgs)?.['S'], 'ERROR', note);
    assert.match(errorOf(msgs)?.['M'] ?? '', message, note);
    assert.ok(!msgs.some((m) => m.type === 'D'), `${note}: no row`);
    assert.equal(msgs.at(-1)?.type, 'Z', `${note}: ready again`);
  }
  assert.equal(server.log.size(), size, 'nothing logged');
  assert.deepEqual(rows(await query(c, 'SELECT 1 AS one')), [['1']]);
  c.end();

  // node-postgres asks for every result in binary, and sends a Buffer as a binary parameter: the same values as in text.
  const relay = await proxyRelay(port, FROM['us-analyst']!);
  const clients = [true, false].map(
    (binary) => new pg.Client({ host: '127.0.0.1', port: relay.port, user: 'us-analyst', database: 'cordon', password: '', binary }),
  );
  try {
    const token = await issuer.sign('us-analyst');
    const got: unknown[] = [];
    for (const client of clients) {
      Object.assign(client, { password: token });
      await client.connect();
      const r = await client.query('SELECT id, view_count FROM videos WHERE id = $1', [id]);
      const u = await client.query('SELECT username FROM users WHERE username = $1', [Buffer.from('lonestar_lens')]);
      got.push([r.rows, u.rows]);
    }
    assert.deepEqual(got[0], [[{ id, view_count: count }], [{ username: 'lonestar_lens' }]], 'binary results parse to the values');
    assert.deepEqual(got[0], got[1], 'binary and text agree');
  } finally {
    for (const client of clients) await client.end().catch(() => undefined);
    await relay.close();
  }
});
