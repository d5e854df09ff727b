import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '../policy/index.js';
import { PgError } from './protocol.js';
import { loadParser, parseStatements } from './sql.js';

const loaded = loadPolicy(fileURLToPath(new URL('../../../policies/demo', import.meta.url)));
assert.ok(loaded.ok);
const policy = loaded.policy;
before(() => loadParser());

const plan = (sql: string) => {
  const [p] = parseStatements(sql, policy);
  assert.equal(p?.plan.kind, 'rows', sql);
  return p as unknown as { plan: { columns: { name: string; typeOid: number }[]; rows: (string | null)[][] }; params: number };
};

test('pg_class by a name pattern: the dataset with its oid; its columns from pg_attribute by that oid, typed', () => {
  const found = plan(`SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname OPERATOR(pg_catalog.~) '^(videos)$' COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3`).plan;
  assert.deepEqual(
    found.columns.map((c) => [c.name, c.typeOid]),
    [
      ['oid', 26],
      ['nspname', 25],
      ['relname', 25],
    ],
  );
  assert.equal(found.rows.length, 1);
  const [oid, schema, name] = found.rows[0]!;
  assert.deepEqual([schema, name], ['public', 'videos']);
  const cols = plan(`SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = '${oid}' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`).plan;
  assert.deepEqual(
    cols.rows.find((r) => r[0] === 'view_count'),
    ['view_count', 'double precision', 'f'],
  );
  assert.deepEqual(cols.rows[0], ['id', 'text', 't']);
  assert.equal(cols.rows.length, policy.datasets.get('videos')!.fields.size);
});

test('a relkind list without tables, another schema, an unknown catalog or a set operation: no rows, the columns named', () => {
  assert.equal(plan(`SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relkind IN ('v','m')`).plan.rows.length, 0);
  assert.equal(plan(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'secret'`).plan.rows.length, 0);
  const types = plan(`select b.oid, b.typarray from pg_catalog.pg_type a left join pg_catalog.pg_type b on b.oid = a.typelem
    where a.typcategory = 'A' group by b.oid, b.typarray order by b.oid`).plan;
  assert.deepEqual([types.columns.map((c) => c.name), types.rows], [['oid', 'typarray'], []]);
  assert.equal(plan(`SELECT relname FROM pg_class UNION SELECT relname FROM pg_class`).plan.rows.length, 0);
  assert.deepEqual(
    plan(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`).plan.rows.map((r) => r[0]),
    [...policy.datasets.keys()],
  );
});

test('a parameter in a catalog query is counted; a bad pattern is 2201B; a catalog mixed with a dataset is refused', () => {
  const p = plan(`SELECT oid FROM pg_catalog.pg_class WHERE relname = $1`);
  assert.equal(p.params, 1);
  assert.throws(
    () => plan(`SELECT relname FROM pg_class WHERE relname ~ '(('`),
    (e: unknown) => e instanceof PgError && e.sqlstate === '2201B',
  );
  // Planned as a dataset query whose subquery is refused (0A000) when it runs, after the column checks.
  const mixed = parseStatements(`SELECT uid FROM users WHERE uid = (SELECT relname FROM pg_class LIMIT 1)`, policy)[0]!.plan;
  assert.ok(mixed.kind === 'select' && mixed.unsupported?.sqlstate === '0A000');
});
