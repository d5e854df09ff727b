// One conformance suite for every Store driver: the same cases run on PGlite (embedded) and on a
// real PostgreSQL server that the harness starts on a temporary directory and port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EntryIndexTakenError, openStore, TABLE_PREFIX, type Store } from '../src/store/index.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { tempDir } from './helpers/temp.js';

const VIDEOS = { name: 'videos', fields: ['owner_uid', 'visibility', 'caption', 'view_count', 'flagged'] };

function conformance(driver: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${driver}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
      await store.ensureTable(VIDEOS);
    });
    after(async () => store.close());

    test('ensureTable is idempotent and adds new fields as columns', async () => {
      await store.ensureTable({ name: 'grow', fields: ['a'] });
      await store.upsert('grow', 'k1', { a: 'x' });
      await store.ensureTable({ name: 'grow', fields: ['a', 'b'] });
      await store.ensureTable({ name: 'grow', fields: ['a', 'b'] });
      assert.deepEqual(await store.get('grow', 'k1'), { a: 'x', b: null });
    });

    test('statements prepared before a column is added still answer after it (every pooled connection)', async () => {
      await store.ensureTable({ name: 'grown', fields: ['a'] });
      await store.upsert('grown', 'k1', { a: 'x' });
      // Enough at once that every connection of the pool prepares the reads.
      const reads = () => Promise.all(Array.from({ length: 24 }, () => Promise.all([store.get('grown', 'k1'), store.list('grown', { limit: 5 })])));
      await reads();
      await store.ensureTable({ name: 'grown', fields: ['a', 'b'] });
      await store.upsert('grown', 'k1', { b: 2 });
      for (const [got, page] of await reads()) {
        assert.deepEqual(got, { a: 'x', b: 2 });
        assert.deepEqual(page.rows, [{ key: 'k1', values: { a: 'x', b: 2 } }]);
      }
    });

    test('values keep their type; absent fields keep their value; null clears', async () => {
      await store.upsert('videos', 'v1', { owner_uid: 'u1', visibility: 'public', caption: 'héllo "world" 🙂', view_count: 42, flagged: false });
      assert.deepEqual(await store.get('videos', 'v1'), { owner_uid: 'u1', visibility: 'public', caption: 'héllo "world" 🙂', view_count: 42, flagged: false });
      await store.upsert('videos', 'v1', { visibility: 'private', caption: null });
      assert.deepEqual(await store.get('videos', 'v1'), { owner_uid: 'u1', visibility: 'private', caption: null, view_count: 42, flagged: false });
      assert.equal(await store.get('videos', 'missing'), undefined);
    });

    test('fingerprints: the same while the rows are; any changed column, new or removed row changes it', async () => {
      // A column named f: the table's alias in the query must not be mistaken for it.
      await store.ensureTable({ name: 'fp_a', fields: ['f', 'y'] });
      await store.ensureTable({ name: 'fp_b', fields: ['f', 'y'] });
      // Tables by their names in the database, as tables() lists them and dump() reads them.
      const fp = async () => {
        const m = await store.fingerprints([`${TABLE_PREFIX}fp_a`, `${TABLE_PREFIX}fp_b`]);
        return { fp_a: m.get(`${TABLE_PREFIX}fp_a`), fp_b: m.get(`${TABLE_PREFIX}fp_b`) };
      };
      const empty = await fp();
      assert.equal(empty['fp_a'], empty['fp_b'], 'two empty tables of one shape');
      assert.deepEqual(await store.fingerprints([]), new Map());
      await store.upsert('fp_a', 'k1', { f: 'one', y: 1 });
      const one = await fp();
      assert.notEqual(one['fp_a'], empty['fp_a']);
      assert.equal(one['fp_b'], empty['fp_b'], 'an untouched table keeps its fingerprint');
      assert.deepEqual(await fp(), one, 'reading changes nothing');
      await store.upsert('fp_a', 'k1', { y: 2 });
      const changed = await fp();
      assert.notEqual(changed['fp_a'], one['fp_a'], 'one column of one row');
      await store.upsert('fp_a', 'k2', { f: 'two' });
      const withK2 = (await fp())['fp_a'];
      assert.notEqual(withK2, changed['fp_a'], 'a new row');
      assert.equal(await store.delete('fp_a', 'k2'), true);
      const without = (await fp())['fp_a'];
      assert.notEqual(without, withK2, 'a removed row');
      assert.equal(without, changed['fp_a'], 'the same rows again, the same fingerprint');
      assert.match(without!, /^[0-9a-f]{32}$/);
    });

    test('insert refuses an existing key and changes nothing', async () => {
      assert.equal(await store.insert('videos', 'v2', { owner_uid: 'u2', caption: 'first' }), true);
      assert.equal(await store.insert('videos', 'v2', { owner_uid: 'u9', caption: 'second' }), false);
      assert.deepEqual(await store.get('videos', 'v2'), { owner_uid: 'u2', visibility: null, caption: 'first', view_count: null, flagged: null });
    });

    test('a field the table does not have is refused and nothing is written', async () => {
      await assert.rejects(store.upsert('videos', 'v3', { owner_uid: 'u3', nope: 'x' }), /videos has no field "nope"/);
      assert.equal(await store.get('videos', 'v3'), undefined);
      await assert.rejects(store.get('not_ensured', 'k'), /was not ensured/);
    });

    test('values that look like SQL are stored and matched as values', async () => {
      const evil = 'x\'); DROP TABLE "ds_videos"; --';
      await store.upsert('videos', 'v4', { owner_uid: evil, caption: '$1::jsonb' });
      assert.deepEqual((await store.get('videos', 'v4'))?.['owner_uid'], evil);
      const page = await store.list('videos', { limit: 10, where: { owner_uid: evil } });
      assert.deepEqual(
        page.rows.map((r) => r.key),
        ['v4'],
      );
      assert.ok((await store.tables()).includes('ds_videos'));
    });

    test('delete removes a record once', async () => {
      await store.upsert('videos', 'gone', { owner_uid: 'u5' });
      assert.equal(await store.delete('videos', 'gone'), true);
      assert.equal(await store.delete('videos', 'gone'), false);
      assert.equal(await store.get('videos', 'gone'), undefined);
    });

    test('list pages by key in byte order, with equality filters', async () => {
      await store.ensureTable({ name: 'paged', fields: ['n', 'even'] });
      const keys = ['a', 'B', 'b', 'a-1', 'Z', 'é', '10', '9'];
      for (const [i, k] of keys.entries()) await store.upsert('paged', k, { n: i, even: i % 2 === 0 });
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await store.list('paged', { limit: 3, after });
        seen.push(...page.rows.map((r) => r.key));
        after = page.next;
        pages++;
      } while (after !== undefined);
      assert.deepEqual(
        seen,
        [...keys].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1)),
      );
      assert.equal(pages, 3);
      const evens = await store.list('paged', { limit: 100, where: { even: true } });
      // Even positions: a (0), b (2), Z (4), 10 (6); in byte order 10 < Z < a < b.
      assert.deepEqual(
        evens.rows.map((r) => r.values['n']),
        [6, 4, 0, 2],
      );
      assert.equal(evens.next, undefined);
      await assert.rejects(store.list('paged', { limit: 1, where: { nope: 1 } }), /paged has no field "nope"/);
    });

    test('names with quotes are identifiers, not SQL', async () => {
      await store.ensureTable({ name: 'we"ird', fields: ['fi"eld'] });
      await store.upsert('we"ird', 'k', { 'fi"eld': 1 });
      assert.deepEqual(await store.get('we"ird', 'k'), { 'fi"eld': 1 });
    });

    test('append-only logs: dense indexes from 1, read in order, updates and deletes refused', async () => {
      assert.equal(await store.append('access', { n: 1, who: 'a' }), 1);
      assert.equal(await store.append('access', { n: 2, who: 'b' }), 2);
      assert.equal(await store.append('other', { n: 1 }), 1);
      assert.deepEqual(await store.readLog('access', 0, 10), [
        { index: 1, entry: { n: 1, who: 'a' } },
        { index: 2, entry: { n: 2, who: 'b' } },
      ]);
      assert.deepEqual(await store.readLog('access', 1, 10), [{ index: 2, entry: { n: 2, who: 'b' } }]);
      const db = store as unknown as { db: { query(sql: string): Promise<unknown> } };
      await assert.rejects(db.db.query('DELETE FROM "log_access"'), /append-only log/);
      await assert.rejects(db.db.query('UPDATE "log_access" SET entry = \'{}\''), /append-only log/);
      assert.equal((await store.readLog('access', 0, 10)).length, 2);
      assert.deepEqual(await store.appendMany('access', [{ n: 3 }, { n: 4 }, { n: 5 }]), [3, 4, 5]);
      assert.deepEqual(
        (await store.readLog('access', 2, 10)).map((e) => e.entry),
        [{ n: 3 }, { n: 4 }, { n: 5 }],
      );
      assert.deepEqual(await store.appendMany('access', []), []);
      // Any JSON value reads back as itself: a string entry is not parsed a second time.
      const odd = ['a string', '{"looks":"like json"}', 42, null, true, [1, 'two'], { nested: { '': 'é\tx' } }];
      const first = await store.append('odd', odd[0]);
      for (const e of odd.slice(1)) await store.append('odd', e);
      assert.deepEqual(
        (await store.readLog('odd', first - 1, 100)).map((e) => e.entry),
        odd,
      );
    });

    test('entry tables: rows at explicit indexes in one statement, nothing written when an index is taken, append-only', async () => {
      const row = (e: string) => ({ entry: e, payload: `{"p":"${e}"}` });
      await store.appendEntries('merkle', 0, [row('zero'), row('one')]);
      await store.appendEntries('merkle', 2, [row('two')]);
      await assert.rejects(store.appendEntries('merkle', 2, [row('late')]), EntryIndexTakenError, 'a taken index says so (another writer appended first)');
      await store.appendEntries('merkle', 3, [row('three'), row('four'), row('five')]);
      await assert.rejects(store.appendEntries('merkle', 5, [row('six'), row('seven')]), EntryIndexTakenError);
      const all = await store.readEntries('merkle', -1, 100);
      assert.deepEqual(
        all.map((r) => [r.index, r.entry]),
        [
          [0, 'zero'],
          [1, 'one'],
          [2, 'two'],
          [3, 'three'],
          [4, 'four'],
          [5, 'five'],
        ],
        'a batch that clashes on one index writes none of its rows',
      );
      assert.equal(all[0]!.payload, undefined, 'payloads only when asked');
      assert.deepEqual(await store.readEntries('merkle', 0, 2, { payload: true }), [
        { index: 1, entry: 'one', payload: '{"p":"one"}' },
        { index: 2, entry: 'two', payload: '{"p":"two"}' },
      ]);
      const db = store as unknown as { db: { query(sql: string): Promise<unknown> } };
      await assert.rejects(db.db.query('DELETE FROM "tlog_merkle"'), /append-only log/);
      await assert.rejects(db.db.query(`UPDATE "tlog_merkle" SET entry = 'x'`), /append-only log/);
      assert.ok((await store.tables()).includes('tlog_merkle'));
      if (driver === 'postgres') {
        // Payloads over 2 KB are compressed with lz4 (the server CI installs is built with it).
        const [c] = (await db.db.query(
          `SELECT attcompression::text AS c FROM pg_attribute WHERE attrelid = 'tlog_merkle'::regclass AND attname = 'payload'`,
        )) as { c: string }[];
        assert.equal(c?.c, 'l');
      }
      // Payloads are any text: backslashes, tabs, newlines, carriage returns, \N, quotes and non-ASCII survive.
      const odd = '{"r":"a\\\\b\\t\tc\nd\re \\N \\. ü 🔒 \\u0000"}';
      await store.appendEntries('merkle', 6, [{ entry: 'six', payload: odd }]);
      assert.equal((await store.readEntries('merkle', 5, 1, { payload: true }))[0]!.payload, odd);
    });

    test('dump reads every column of any table as text', async () => {
      await store.ensureTable({ name: 'dumped', fields: ['s', 'n', 'b'] });
      await store.upsert('dumped', 'k1', { s: 'text', n: 7, b: true });
      const rows: Record<string, string | null>[] = [];
      for await (const r of store.dump('ds_dumped')) rows.push({ ...r });
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!['key'], 'k1');
      assert.equal(rows[0]!['s'], 'text');
      assert.equal(rows[0]!['n'], '7');
      assert.equal(rows[0]!['b'], 'true');
      await store.ping();
    });
  });
}

let server: PostgresServer | undefined;
conformance('pglite', () => openStore('test', 'pglite://memory'));
// An on-disk store starts from the build's template data directory (src/store/pglite-template.ts).
conformance('pglite (directory, from the template)', () => openStore('test', `pglite://${join(tempDir('cordon-conformance-'), 'db')}`));
conformance('postgres', async () => {
  server ??= await startPostgres({ database: 'conformance' });
  const s = await openStore('test', server.url);
  const close = s.close.bind(s);
  return Object.assign(s, {
    close: async () => {
      await close();
      await server?.stop();
    },
  });
});
