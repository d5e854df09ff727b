// The wire gateway's transport on its own, against gateways over the demo policy with a password of
// their own (no store, no log: what is read through TLS is tested with the real server in
// pgwire-attacks and pgwire-tls.slow) and a throwaway certificate: TLS (SSLRequest answered 'S',
// psql verify-full, node-postgres and postgres.js over TLS), the refusal of a cleartext password
// from another host, and the attacks on the upgrade (data injected before the handshake, garbage
// instead of one, a client that refuses TLS where it is required: it is never asked for its
// password in clear).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import type { Caller, GatewayReader } from '../src/gateway/index.js';
import { loadPolicy } from '../src/policy/index.js';
import { createPgGateway, proxyV2Header, type PgGateway } from '../src/pgwire/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { makeCert, type TestCert } from './helpers/tls.js';
import { cellsOf, fieldsOf, GSSENC_REQUEST, queryMessage, RawPg, SSL_REQUEST, startupMessage, startupRequest, type BackendMessage } from './helpers/pg-raw.js';

const run = promisify(execFile);
const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;

let cert: TestCert;
/** A gateway that acts as if every peer were on another host (cleartext is refused), with a password check of its own. */
let strict: PgGateway;
let strictPort: number;
/** The same without a certificate. */
let bare: PgGateway;
let barePort: number;
const STRICT_PASSWORD = 'the-strict-gateways-token';

before(async () => {
  const dir = tempDir('cordon-pgwire-proto-');
  cert = makeCert(dir);
  const stub = (tls: boolean) =>
    createPgGateway({
      reader: { policy } as GatewayReader,
      authenticate: async (a) => {
        if (a.password !== STRICT_PASSWORD) throw Object.assign(new Error('not the password'), { code: 'auth.invalid_token' });
        return { principal: { id: a.user }, country: 'US', site: 'austin', audience: 'x', knownPlace: true } as unknown as Caller;
      },
      isTrustedProxy: () => true,
      cleartextAllowed: () => false,
      ...(tls ? { tls: { cert: cert.cert, key: cert.key } } : {}),
    });
  strict = await stub(true);
  strictPort = (await strict.listen(0, '127.0.0.1')).port;
  bare = await stub(false);
  barePort = (await bare.listen(0, '127.0.0.1')).port;
});
after(async () => {
  await strict.close();
  await bare.close();
});

const errorOf = (msgs: readonly BackendMessage[]) => {
  const e = msgs.find((m) => m.type === 'E');
  return e ? fieldsOf(e) : undefined;
};
const psqlEnv = (password: string) => ({ ...process.env, PSQLRC: '/dev/null', PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' });

/** SSLRequest, 'S', then a TLS handshake that verifies the certificate: a raw client over TLS. */
async function startTls(toPort: number, preamble?: Buffer): Promise<RawPg> {
  const c = await RawPg.connect(toPort, preamble);
  c.send(startupRequest(SSL_REQUEST));
  assert.equal((await c.raw(1))?.toString(), 'S', 'the server has a certificate: S');
  c.socket.removeAllListeners('data');
  const secure = await new Promise<TLSSocket>((done, fail) => {
    const s = tlsConnect({ socket: c.socket, ca: cert.cert, servername: 'localhost' }, () => done(s));
    s.once('error', fail);
  });
  return RawPg.over(secure);
}

test('TLS: an SSLRequest is answered S and the connection goes on encrypted; psql (verify-full), node-postgres and postgres.js log in over it', {
  timeout: 20_000,
}, async () => {
  // A raw client: a proxy's header, then TLS, then the startup and the password inside it.
  const c = await startTls(strictPort, proxyV2Header('10.21.0.5', 40000, '127.0.0.1', strictPort));
  const login = await c.login('us-analyst', STRICT_PASSWORD);
  assert.equal(login.at(-1)?.type, 'Z', JSON.stringify(errorOf(login)));
  c.send(queryMessage('SELECT 1 AS one'));
  assert.deepEqual((await c.until('Z')).filter((m) => m.type === 'D').map(cellsOf), [['1']]);
  c.end();

  // psql: sslmode=verify-full against the throwaway root; \conninfo says the connection is TLS.
  const dsn = `host=localhost hostaddr=127.0.0.1 port=${strictPort} user=us-analyst dbname=cordon sslmode=verify-full sslrootcert=${cert.certFile}`;
  const p = await run('psql', [dsn, '-X', '-A', '-t', '-c', '\\conninfo', '-c', 'SELECT 1 AS one'], { env: psqlEnv(STRICT_PASSWORD) });
  assert.match(p.stdout, /SSL connection \(protocol: TLSv1\.[23]/);
  assert.equal(p.stdout.trim().split('\n').at(-1), '1');
  // Another root: psql refuses the server's certificate, and sends nothing.
  const other = makeCert(tempDir('cordon-pgwire-other-'), 'other');
  await assert.rejects(
    run('psql', [dsn.replace(cert.certFile, other.certFile), '-X', '-c', 'SELECT 1'], { env: psqlEnv(STRICT_PASSWORD) }),
    (e: { stderr: string }) => /certificate verify failed/.test(e.stderr),
  );

  // node-postgres with ssl (it fails if the server answers N).
  const client = new pg.Client({
    host: '127.0.0.1',
    port: strictPort,
    user: 'us-analyst',
    database: 'cordon',
    password: STRICT_PASSWORD,
    ssl: { ca: cert.cert, servername: 'localhost' },
  });
  await client.connect();
  try {
    assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  } finally {
    await client.end();
  }
  // postgres.js with ssl: the CA as a node:tls option.
  const sql = postgres({
    host: 'localhost',
    port: strictPort,
    user: 'us-analyst',
    database: 'cordon',
    password: STRICT_PASSWORD,
    ssl: { ca: cert.cert },
    max: 1,
  });
  try {
    assert.deepEqual([...(await sql`SELECT 1 AS one`)], [{ one: 1 }]);
  } finally {
    await sql.end();
  }
});

test('TLS required from another host: a cleartext startup is refused (28000) before any password is asked for; over TLS the same client logs in', {
  timeout: 20_000,
}, async () => {
  // The raw downgrade: no SSLRequest. The answer is a FATAL error, never an authentication request.
  for (const [note, toPort, reason] of [
    ['with a certificate', () => strictPort, /not encrypted: .*only over TLS; connect with sslmode=require/],
    ['without a certificate', () => barePort, /not encrypted and this server has no TLS certificate/],
  ] as const) {
    const c = await RawPg.connect(toPort());
    c.send(startupMessage({ user: 'us-analyst', database: 'cordon' }));
    const msgs = await c.until('Z');
    assert.deepEqual(
      msgs.map((m) => m.type),
      ['E'],
      `${note}: an error and nothing else (no 'R': no password is asked for)`,
    );
    assert.equal(errorOf(msgs)?.['C'], '28000', note);
    assert.equal(errorOf(msgs)?.['S'], 'FATAL', note);
    assert.match(errorOf(msgs)?.['M'] ?? '', reason, note);
    assert.equal(await c.next(), undefined, `${note}: closed`);
  }
  // Without a certificate: SSLRequest is N, and the cleartext startup that follows is refused the same way.
  const n = await RawPg.connect(barePort);
  n.send(startupRequest(SSL_REQUEST));
  assert.equal((await n.raw(1))?.toString(), 'N');
  n.send(startupMessage({ user: 'us-analyst' }));
  const refused = await n.until('Z');
  assert.deepEqual(
    refused.map((m) => m.type),
    ['E'],
  );
  assert.equal(errorOf(refused)?.['C'], '28000');

  // psql that will not use TLS (sslmode=disable) is refused with the reason; with sslmode=require it logs in.
  const dsn = `host=127.0.0.1 port=${strictPort} user=us-analyst dbname=cordon`;
  await assert.rejects(run('psql', [`${dsn} sslmode=disable`, '-X', '-c', 'SELECT 1'], { env: psqlEnv(STRICT_PASSWORD) }), (e: { stderr: string }) =>
    /not encrypted: cordon takes a password \(a bearer token\) from another host only over TLS/.test(e.stderr),
  );
  const ok = await run('psql', [`${dsn} sslmode=require`, '-X', '-A', '-t', '-c', 'SELECT 1 AS one'], { env: psqlEnv(STRICT_PASSWORD) });
  assert.equal(ok.stdout.trim(), '1');
  // node-postgres without ssl: 28000, and its password never went out (the server asked for none).
  const plain = new pg.Client({ host: '127.0.0.1', port: strictPort, user: 'us-analyst', database: 'cordon', password: STRICT_PASSWORD });
  await assert.rejects(plain.connect(), (e: { code?: string }) => e.code === '28000');
  await plain.end().catch(() => undefined);

  // The client that asks for TLS, gets S, and then refuses it (a downgrade attempt in the middle): nothing more is said.
  const quitter = await RawPg.connect(strictPort);
  quitter.send(startupRequest(SSL_REQUEST));
  assert.equal((await quitter.raw(1))?.toString(), 'S');
  quitter.send(startupMessage({ user: 'us-analyst' }));
  assert.equal(await quitter.next(), undefined, 'cleartext after S is no TLS handshake: closed without a word');

  // Through a trusted proxy's PROXY header, TLS is the proxy's business: a cleartext login is taken.
  const proxied = await RawPg.connect(strictPort, proxyV2Header('10.21.0.5', 40000, '127.0.0.1', strictPort));
  assert.equal((await proxied.login('us-analyst', STRICT_PASSWORD)).at(-1)?.type, 'Z');
  proxied.end();
  // GSSENCRequest is N, then SSLRequest is S (libpq's order), and the login goes on in TLS.
  const g = await RawPg.connect(strictPort);
  g.send(startupRequest(GSSENC_REQUEST));
  assert.equal((await g.raw(1))?.toString(), 'N');
  g.end();
  const viaTls = await startTls(strictPort);
  assert.equal((await viaTls.login('us-analyst', STRICT_PASSWORD)).at(-1)?.type, 'Z');
  viaTls.end();
});

test('attacks on the upgrade: data injected before the handshake, garbage instead of one, requests repeated or malformed; the gateway serves on', {
  timeout: 20_000,
}, async () => {
  const fatal = async (note: string, bytes: Buffer, state: string, message: RegExp, answered = '') => {
    const c = await RawPg.connect(strictPort);
    c.send(bytes);
    if (answered) assert.equal((await c.raw(answered.length))?.toString(), answered, note);
    const msgs = await c.until('Z');
    assert.equal(errorOf(msgs)?.['C'], state, `${note}: ${JSON.stringify(errorOf(msgs))}`);
    assert.match(errorOf(msgs)?.['M'] ?? '', message, note);
    assert.equal(await c.next(), undefined, `${note}: closed`);
  };
  // CVE-2021-23214's shape: a startup (or anything) sent in clear right behind the SSLRequest would be
  // read as if it had come through TLS. It ends the connection before the S.
  await fatal(
    'a startup in clear behind the SSLRequest',
    Buffer.concat([startupRequest(SSL_REQUEST), startupMessage({ user: 'us-analyst' })]),
    '08P01',
    /unencrypted data after SSL request/,
  );
  await fatal('an SSLRequest 4 bytes too long', startupRequest(SSL_REQUEST, 0), '08P01', /4 bytes too many/);
  await fatal('a GSSENCRequest twice', Buffer.concat([startupRequest(GSSENC_REQUEST), startupRequest(GSSENC_REQUEST)]), '08P01', /sent twice/, 'N');

  // Garbage after the S: the handshake fails and the connection ends, with nothing said in clear.
  const garbage = await RawPg.connect(strictPort);
  garbage.send(startupRequest(SSL_REQUEST));
  assert.equal((await garbage.raw(1))?.toString(), 'S');
  garbage.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(10)));
  for (let m = await garbage.raw(1); m !== undefined; m = await garbage.raw(1)) assert.notEqual(m.toString(), 'E', 'no ErrorResponse in clear');
  // An SSLRequest inside TLS is a protocol violation.
  const twice = await startTls(strictPort);
  twice.send(startupRequest(SSL_REQUEST));
  assert.equal(errorOf(await twice.until('Z'))?.['C'], '08P01');
  assert.equal(await twice.next(), undefined);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(strict.connections(), 0, 'no connection left open');
  const c = await startTls(strictPort);
  assert.equal((await c.login('us-analyst', STRICT_PASSWORD)).at(-1)?.type, 'Z', 'the gateway serves on');
  c.end();
});
