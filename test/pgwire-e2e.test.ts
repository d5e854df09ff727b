// End to end: `cordon up --demo` as a child process, real PostgreSQL clients against its wire port —
// Debian's psql running the banner's lines and \dt, \d users, \l; postgres.js and node-postgres
// with parameters (extended protocol) through a PROXY v2 relay — each persona getting exactly the
// cells GET /v1/data/users/{key} gives it, and the access log holding one record per row, naming the
// columns asked for.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import postgres from 'postgres';
import pg from 'pg';
import { startUp } from './helpers/up.js';
import { tempDir } from './helpers/temp.js';
import { assertSameHidden, hashOf } from './helpers/hidden.js';
import { proxyRelay } from './helpers/pg-raw.js';
import { DEMO_POLICY, ROOT } from './helpers/paths.js';
import { loadPolicy } from '../src/policy/index.js';

const run = promisify(execFile);
type Json = Record<string, unknown>;
const COLUMNS = ['uid', 'username', 'phone_number'] as const;

test('psql, postgres.js and node-postgres get, persona by persona, the cells the HTTP gateway gives, and the log holds the records', async () => {
  const dataDir = tempDir('cordon-pgwire-e2e-');
  const up = await startUp(dataDir, ['--demo', '--demo-users', '0']);
  try {
    const { out } = up.output();
    const pgPort = Number(/PostgreSQL 127\.0\.0\.1:(\d+) /.exec(out)?.[1]);
    assert.ok(pgPort > 0, 'the banner names the wire port');
    const tokens = up.tokens();
    const http = async (persona: string, from: string, path: string) => {
      const r = await fetch(`${up.base}${path}`, { headers: { authorization: `Bearer ${tokens[persona]}`, 'x-forwarded-for': from } });
      return { status: r.status, body: (await r.json()) as Json };
    };
    const logSize = async () => ((await (await fetch(`${up.base}/log/checkpoint`)).text()).split('\n')[1] ?? '').trim();

    // The banner's psql lines, one per persona, run as printed (with psql's unaligned output, no psqlrc).
    const lines = [...out.matchAll(/^ {2}(PGPASSWORD=.*PGOPTIONS='-c cordon\.forwarded_for=([\d.]+)' psql .* -U ([\w-]+) .*)$/gm)];
    assert.deepEqual(
      lines.map((m) => m[3]),
      ['beijing-engineer', 'us-analyst', 'austin-engineer'],
    );
    // The README shows beijing-engineer's line as the demo prints it on its default port and data dir.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('PGPASSWORD=') && l.includes("['beijing-engineer']"));
    const asInReadme = lines[0]![1]!
      .replace(`-p ${pgPort} `, '-p 5433 ')
      .replace(`require('${dataDir}/`, "require('./.cordon/")
      .replace(/'tok_[A-Za-z0-9_-]+'/, "'tok_…'");
    assert.equal(asInReadme, readme, 'the README shows the line the demo prints');
    for (const [, line, from, persona] of lines) {
      const key = /WHERE uid = '([^']+)'/.exec(line!)![1]!;
      const httpRead = await http(persona!, from!, `/v1/data/users/${key}`);
      assert.equal(httpRead.status, 200, `${persona} over HTTP`);
      const fields = httpRead.body['fields'] as Json;
      const expected = COLUMNS.map((c) => (fields[c] === undefined || fields[c] === null ? '<NULL>' : String(fields[c])));
      const psql = await run('bash', ['-c', `${line} -X -A -t -F '|' -P 'null=<NULL>'`], { cwd: process.cwd(), env: { ...process.env, PSQLRC: '/dev/null' } });
      assertSameHidden(psql.stdout.trim().split('|'), expected, `${persona}: psql's cells are the HTTP gateway's`);
      const withheld = (httpRead.body['withheld'] as { field: string }[]).map((w) => w.field).filter((f) => (COLUMNS as readonly string[]).includes(f));
      if (withheld.length > 0) assert.match(psql.stderr, new RegExp(`NOTICE: {2}cordon withheld ${withheld.join(', ')}`), `${persona}: the notice`);
      else assert.doesNotMatch(psql.stderr, /withheld/);
      console.log(`pgwire e2e: ${persona} from ${from}: cells ${expected.map(hashOf).join(' ')} (sha256/12), withheld: ${withheld.join(', ') || 'none'}`);
      // demo-us-1 in clear names nothing for a persona that may not see the uid in clear, as over HTTP (404).
      if (key !== 'demo-us-1') {
        assert.equal((await http(persona!, from!, '/v1/data/users/demo-us-1')).status, 404);
        const clear = await run('bash', ['-c', `${line!.replace(key, 'demo-us-1')} -X -A -t`], { env: { ...process.env, PSQLRC: '/dev/null' } });
        assert.equal(clear.stdout.trim(), '', `${persona}: no row for a clear key`);
      }
    }

    // psql's \dt, \d users and \l: the catalog's datasets as tables of schema public, the fields as columns with their types.
    const loaded = loadPolicy(DEMO_POLICY);
    assert.ok(loaded.ok);
    const catalog = loaded.policy.datasets;
    const sqlType = { string: 'text', number: 'double precision', boolean: 'boolean' } as const;
    const meta = async (command: string) => {
      const line = lines[1]![1]!.replace(/ -c ".*"$/, ` -c '${command}'`);
      const r = await run('bash', ['-c', `${line} -X -A -t -F '|'`], { env: { ...process.env, PSQLRC: '/dev/null' } });
      assert.equal(r.stderr, '', `psql ${command}: no error`);
      return r.stdout.trim().split('\n');
    };
    assert.deepEqual(
      await meta('\\dt'),
      [...catalog.keys()].sort().map((d) => `public|${d}|table|cordon`),
      'psql \\dt lists the datasets',
    );
    const users = catalog.get('users')!;
    assert.deepEqual(
      await meta('\\d users'),
      [...users.fields.values()].map((f) => `${f.name}|${sqlType[f.type]}||${f.name === users.key ? 'not null' : ''}|`),
      'psql \\d users lists its fields, the key not null',
    );
    assert.deepEqual(
      await meta('\\d videos'),
      [...catalog.get('videos')!.fields.values()].map((f) => `${f.name}|${sqlType[f.type]}||${f.name === 'id' ? 'not null' : ''}|`),
    );
    assert.deepEqual(await meta('\\l'), ['cordon|cordon|UTF8|C|C||libc|'], 'psql \\l lists one database');

    // postgres.js, extended protocol with parameters, through a trusted proxy that names the client in a PROXY v2 header.
    const relay = await proxyRelay(pgPort, '10.21.0.5');
    const notices: string[] = [];
    const sql = postgres({
      host: '127.0.0.1',
      port: relay.port,
      user: 'us-analyst',
      database: 'cordon',
      password: tokens['us-analyst'],
      max: 1,
      onnotice: (n) => notices.push(String(n.message)),
    });
    try {
      const key = /WHERE uid = '([^']+)'/.exec(lines[1]![1]!)![1]!;
      const rows = await sql<Json[]>`SELECT uid, username, phone_number FROM users WHERE uid = ${key}`;
      const fields = (await http('us-analyst', '10.21.0.5', `/v1/data/users/${key}`)).body['fields'] as Json;
      assertSameHidden(
        rows.map((r) => ({ ...r })),
        [Object.fromEntries(COLUMNS.map((c) => [c, fields[c] ?? null]))],
        'postgres.js gets the HTTP cells',
      );
      assert.deepEqual(notices, ['cordon withheld phone_number: NULL where the rules do not disclose the value']);
      const byName = await sql`SELECT uid FROM users WHERE username = ${'lonestar_lens'} LIMIT ${1}`;
      assert.deepEqual(
        byName.map((r) => r['uid']),
        [key],
        'a filter on a column the analyst sees in clear; the key as its token',
      );
      for (const injected of ["demo-us-1' OR '1'='1", `${key}' --`]) {
        assert.equal((await sql`SELECT uid FROM users WHERE uid = ${injected}`).length, 0, 'a parameter is a value, never SQL');
      }
      await assert.rejects(sql`SELECT uid FROM users WHERE phone_number = ${'x'}`, (e: Error & { code?: string }) => e.code === '42501');
    } finally {
      await sql.end();
      await relay.close();
    }

    // node-postgres, a parameterized query (Parse/Bind/Describe/Execute/Sync) through the trusted proxy, as austin-engineer.
    const austinRelay = await proxyRelay(pgPort, '10.20.0.5');
    const client = new pg.Client({
      host: '127.0.0.1',
      port: austinRelay.port,
      user: 'austin-engineer',
      database: 'cordon',
      password: tokens['austin-engineer'],
    });
    const pgNotices: string[] = [];
    client.on('notice', (n) => pgNotices.push(n.message));
    try {
      await client.connect();
      const key = /WHERE uid = '([^']+)'/.exec(lines[2]![1]!)![1]!;
      const r = await client.query('SELECT uid, username, phone_number FROM users WHERE uid = $1', [key]);
      const httpRead = await http('austin-engineer', '10.20.0.5', `/v1/data/users/${key}`);
      assert.equal(httpRead.status, 200);
      const fields = httpRead.body['fields'] as Json;
      assert.deepEqual(
        r.fields.map((f) => [f.name, f.dataTypeID]),
        COLUMNS.map((c) => [c, 25]),
      );
      assertSameHidden(
        r.rows.map((row) => ({ ...row })),
        [Object.fromEntries(COLUMNS.map((c) => [c, fields[c] ?? null]))],
        'node-postgres gets the HTTP cells',
      );
      const withheld = (httpRead.body['withheld'] as { field: string }[]).map((w) => w.field).filter((f) => (COLUMNS as readonly string[]).includes(f));
      assert.deepEqual(pgNotices, withheld.length > 0 ? [`cordon withheld ${withheld.join(', ')}: NULL where the rules do not disclose the value`] : []);
      console.log(`pgwire e2e: node-postgres as austin-engineer: cells ${COLUMNS.map((c) => hashOf(String(fields[c] ?? '<NULL>'))).join(' ')} (sha256/12)`);
      await assert.rejects(client.query('SELECT uid FROM users WHERE phone_number = $1', ['x']), (e: Error & { code?: string }) => e.code === '42501');
      assert.equal((await client.query('SELECT uid FROM users WHERE uid = $1', [`${key}' OR '1'='1`])).rows.length, 0, 'a parameter is a value');
    } finally {
      await client.end();
      await austinRelay.close();
    }

    // The records: one per row read, naming exactly the columns decided (the projection and the key).
    assert.match(await logSize(), /^\d+$/);
    const monitor = { authorization: `Bearer ${tokens['monitor']}` };
    const named = (r: Json) => (r['fields'] as { fields: Json }[]).flatMap((g) => Object.keys(g.fields)).sort();
    let wire: Json[] = [];
    // Records are served once a checkpoint covers them: polled for a few seconds.
    for (let i = 0; i < 50 && new Set(wire.map((r) => r['principal'])).size < 3; i++) {
      const r = await fetch(`${up.base}/v1/log/records?after=-1&limit=500`, { headers: monitor });
      assert.equal(r.status, 200);
      wire = ((await r.json()) as { records: { record: Json }[] }).records
        .map((x) => x.record)
        .filter((x) => x['action'] === 'read' && x['dataset'] === 'users' && named(x).length === 3);
      await new Promise((w) => setTimeout(w, 100));
    }
    for (const persona of ['beijing-engineer', 'us-analyst', 'austin-engineer']) {
      const mine = wire.filter((r) => r['principal'] === persona);
      assert.ok(mine.length >= 1, `${persona}'s psql read is in the log`);
      assert.deepEqual(named(mine[0]!), ['phone_number', 'uid', 'username']);
      assert.equal(mine[0]!['outcome'], 'released');
    }
  } finally {
    up.child.kill('SIGTERM');
    await up.exited;
  }
});
