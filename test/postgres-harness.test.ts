// The test PostgreSQL harness (test/helpers/postgres.ts) starts a real server that answers SQL, and
// stop() leaves nothing behind: no data directory, nothing listening on the port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgBin, startPostgres } from './helpers/postgres.js';

function psql(url: string, sql: string): string {
  const local = join(pgBin(), 'psql');
  const program = existsSync(local) ? local : '/usr/bin/psql';
  const r = spawnSync(program, ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** 'open' if something accepts a TCP connection on 127.0.0.1:port, else the connect error code. */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(5_000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('startPostgres: a real server answers SQL at the URL; stop() removes the data dir and closes the port', async () => {
  const pg = await startPostgres({ database: 'harness_check' });
  let stopped = false;
  try {
    assert.equal(pg.url, `postgres://cordon@127.0.0.1:${pg.port}/harness_check`);
    assert.ok(existsSync(join(pg.dataDir, 'PG_VERSION')), 'data dir holds a cluster');
    assert.equal(await probe(pg.port), 'open');
    assert.equal(psql(pg.url, 'select 1+1'), '2');
    assert.equal(psql(pg.url, "select current_database() || ' ' || current_user || ' ' || current_setting('server_encoding')"), 'harness_check cordon UTF8');
    assert.equal(psql(pg.url, 'show fsync'), 'off');
    await pg.stop();
    stopped = true;
    await pg.stop(); // a second stop is harmless
    assert.equal(existsSync(pg.dataDir), false, 'data dir removed');
    assert.equal(await probe(pg.port), 'ECONNREFUSED');
  } finally {
    if (!stopped) await pg.stop();
  }
});

test('startPostgres: two servers at once get different ports and data dirs, each with its own data', async () => {
  const [a, b] = await Promise.all([startPostgres({ database: 'one' }), startPostgres({ database: 'two' })]);
  try {
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.dataDir, b.dataDir);
    psql(a.url, 'create table only_in_a (x int)');
    assert.equal(psql(a.url, "select count(*) from pg_tables where tablename = 'only_in_a'"), '1');
    assert.equal(psql(b.url, "select count(*) from pg_tables where tablename = 'only_in_a'"), '0');
    assert.equal(psql(b.url, 'select current_database()'), 'two');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  assert.equal(existsSync(a.dataDir), false);
  assert.equal(existsSync(b.dataDir), false);
  assert.equal(await probe(a.port), 'ECONNREFUSED');
  assert.equal(await probe(b.port), 'ECONNREFUSED');
});

test('startPostgres: missing binaries are an error naming them and the package CI installs, not a skip', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'cordon-nopg-'));
  const saved = process.env['PG_BIN'];
  process.env['PG_BIN'] = empty;
  try {
    await assert.rejects(startPostgres(), (e: Error) => {
      assert.match(e.message, new RegExp(`missing ${join(empty, 'initdb')}`));
      assert.match(e.message, /postgresql-15/);
      assert.match(e.message, /\.ci\/run/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env['PG_BIN'];
    else process.env['PG_BIN'] = saved;
    rmSync(empty, { recursive: true, force: true });
  }
});
