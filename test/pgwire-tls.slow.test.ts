// The wire gateway's TLS as `cordon up` users set it up: the flags' usage errors (found before
// anything opens), the certificate picked up from the data dir and named in the banner, the banner's
// psql line verifying it (verify-full) and getting the HTTP gateway's cells, and on a non-loopback
// --host the rule that a client on another host sends its token only over TLS (or, with
// --pg-allow-cleartext, in clear and warned about).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cordon } from './helpers/cli.js';
import { assertSameHidden, hashOf } from './helpers/hidden.js';
import { tempDir } from './helpers/temp.js';
import { makeCert } from './helpers/tls.js';
import { startUp } from './helpers/up.js';

const run = promisify(execFile);
const psqlEnv = (extra: Record<string, string>) => ({ ...process.env, PSQLRC: '/dev/null', PGCONNECT_TIMEOUT: '10', ...extra });

test('--pg-tls-cert and --pg-tls-key: each mistake is a usage error naming it, before anything is opened', () => {
  const dir = tempDir('cordon-pgtls-usage-');
  const a = makeCert(dir, 'a');
  const b = makeCert(dir, 'b');
  const cases: [string, string[], RegExp][] = [
    ['a certificate without its key', ['--pg-tls-cert', a.certFile], /^cordon: --pg-tls-cert and --pg-tls-key go together/],
    ["another certificate's key", ['--pg-tls-cert', a.certFile, '--pg-tls-key', b.keyFile], /are not a PEM certificate and its private key/],
    ['a file that is not there', ['--pg-tls-cert', join(dir, 'nope.crt'), '--pg-tls-key', a.keyFile], /cannot read --pg-tls-cert .*nope\.crt: ENOENT/],
  ];
  const open = join(dir, 'open.key');
  copyFileSync(a.keyFile, open);
  chmodSync(open, 0o644);
  cases.push(['a key others may read', ['--pg-tls-cert', a.certFile, '--pg-tls-key', open], /may be read or written by other users \(mode 0644\).*chmod 600/]);
  const half = tempDir('cordon-pgtls-half-');
  copyFileSync(a.certFile, join(half, 'pg-tls.crt'));
  cases.push(['a data dir with pg-tls.crt and no pg-tls.key', ['--data-dir', half], /the data dir has pg-tls\.crt but no pg-tls\.key/]);
  for (const [note, args, message] of cases) {
    const r = cordon(['up', '--demo', '--port', '0', '--data-dir', tempDir('cordon-pgtls-dd-'), ...args]);
    assert.equal(r.status, 2, `${note}: ${r.stderr}`);
    assert.match(r.stderr, message, note);
    assert.equal(r.stdout, '', `${note}: nothing served`);
  }
  const noWire = cordon([
    'up',
    '--policy',
    'policies/demo',
    '--issuer',
    'https://id.example',
    '--audience',
    'a',
    '--pg-tls-cert',
    a.certFile,
    '--pg-tls-key',
    a.keyFile,
  ]);
  assert.equal(noWire.status, 2);
  assert.match(noWire.stderr, /--pg-tls-cert, --pg-tls-key and --pg-allow-cleartext go with --pg-port/);
  writeFileSync(join(dir, 'garbage.crt'), 'not a certificate\n');
  const garbage = cordon([
    'up',
    '--demo',
    '--port',
    '0',
    '--data-dir',
    tempDir('cordon-pgtls-dd-'),
    '--pg-tls-cert',
    join(dir, 'garbage.crt'),
    '--pg-tls-key',
    a.keyFile,
  ]);
  assert.equal(garbage.status, 2);
  assert.match(garbage.stderr, /are not a PEM certificate and its private key/);
});

test("cordon up --demo with pg-tls.crt and pg-tls.key in its data dir: the banner names the certificate, and its psql line, verifying it, gets the HTTP gateway's cells", async () => {
  const dataDir = tempDir('cordon-pgtls-demo-');
  const cert = makeCert(dataDir);
  const up = await startUp(dataDir, ['--demo', '--demo-users', '0']);
  try {
    const { out, err } = up.output();
    assert.doesNotMatch(err, /warning/, 'no warning on loopback');
    const m = /PostgreSQL 127\.0\.0\.1:(\d+) \(wire protocol: .*; TLS with (\S+), CN=localhost, until (\d{4}-\d\d-\d\d)\)/.exec(out);
    assert.ok(m, `the banner names the certificate:\n${out}`);
    assert.equal(m[2], join(dataDir, 'pg-tls.crt'));
    const line = /^ {2}(PGPASSWORD=.* -U us-analyst .*)$/m.exec(out)![1]!;
    const from = /cordon\.forwarded_for=([\d.]+)/.exec(line)![1]!;
    const key = /WHERE uid = '([^']+)'/.exec(line)![1]!;
    const r = await run('bash', ['-c', `${line} -X -A -t -F '|' -P 'null=<NULL>' -c '\\conninfo'`], {
      env: psqlEnv({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: cert.certFile }),
    });
    const [cells, , ssl] = r.stdout.trim().split('\n');
    assert.match(ssl ?? '', /^SSL connection \(protocol: TLSv1\.[23]/, r.stdout);
    const http = await fetch(`${up.base}/v1/data/users/${key}`, { headers: { authorization: `Bearer ${up.tokens()['us-analyst']}`, 'x-forwarded-for': from } });
    assert.equal(http.status, 200);
    const fields = ((await http.json()) as { fields: Record<string, unknown> }).fields;
    const expected = ['uid', 'username', 'phone_number'].map((c) => (fields[c] === undefined || fields[c] === null ? '<NULL>' : String(fields[c])));
    assertSameHidden(cells!.split('|'), expected, 'psql over TLS gets the HTTP cells');
    console.log(`pgwire tls: us-analyst over TLS: cells ${expected.map(hashOf).join(' ')} (sha256/12)`);
  } finally {
    up.child.kill('SIGTERM');
    await up.exited;
  }
});

/** This machine's address on a non-loopback interface: connections from it are from "another host" to the gateway. */
function outsideAddress(): string {
  const a = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4');
  assert.ok(a, 'this test needs a non-loopback IPv4 interface (a container has eth0)');
  return a.address;
}

test('on a non-loopback --host, a client from another address sends its token only over TLS (28000 before any password in clear); --pg-allow-cleartext lets it, with a warning', async () => {
  const address = outsideAddress();
  const dataDir = tempDir('cordon-pgtls-public-');
  const cert = makeCert(tempDir('cordon-pgtls-cert-'));
  const up = await startUp(dataDir, [
    '--demo',
    '--demo-users',
    '0',
    '--host',
    '0.0.0.0',
    '--demo-public',
    '--pg-tls-cert',
    cert.certFile,
    '--pg-tls-key',
    cert.keyFile,
  ]);
  try {
    const { out, err } = up.output();
    assert.doesNotMatch(err, /wire gateway/, 'with a certificate, nothing to warn of');
    const pgPort = /PostgreSQL 0\.0\.0\.0:(\d+) \(.*; TLS with /.exec(out)?.[1];
    assert.ok(pgPort, out);
    const token = up.tokens()['us-analyst']!;
    const dsn = `host=${address} port=${pgPort} user=us-analyst dbname=cordon`;
    await assert.rejects(run('psql', [`${dsn} sslmode=disable`, '-X', '-c', 'SELECT 1'], { env: psqlEnv({ PGPASSWORD: token }) }), (e: { stderr: string }) =>
      /28000|not encrypted: cordon takes a password \(a bearer token\) from another host only over TLS/.test(e.stderr),
    );
    // verify-ca: the throwaway certificate names localhost and 127.0.0.1, not this address.
    const ok = await run('psql', [`${dsn} sslmode=verify-ca sslrootcert=${cert.certFile}`, '-X', '-A', '-t', '-c', 'SELECT 1 AS one'], {
      env: psqlEnv({ PGPASSWORD: token }),
    });
    assert.equal(ok.stdout.trim(), '1');
  } finally {
    up.child.kill('SIGTERM');
    await up.exited;
  }

  const clear = await startUp(tempDir('cordon-pgtls-clear-'), ['--demo', '--demo-users', '0', '--host', '0.0.0.0', '--demo-public', '--pg-allow-cleartext']);
  try {
    const { out, err } = clear.output();
    assert.match(err, /cordon: warning: the PostgreSQL wire gateway listens on 0\.0\.0\.0 and, with --pg-allow-cleartext, lets clients log in without TLS/);
    const pgPort = /PostgreSQL 0\.0\.0\.0:(\d+) \(.*; no TLS\)/.exec(out)?.[1];
    assert.ok(pgPort, out);
    const ok = await run('psql', [`host=${address} port=${pgPort} user=us-analyst dbname=cordon sslmode=disable`, '-X', '-A', '-t', '-c', 'SELECT 1 AS one'], {
      env: psqlEnv({ PGPASSWORD: clear.tokens()['us-analyst']! }),
    });
    assert.equal(ok.stdout.trim(), '1');
  } finally {
    clear.child.kill('SIGTERM');
    await clear.exited;
  }
});
