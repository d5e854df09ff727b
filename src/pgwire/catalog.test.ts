import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '../policy/index.js';
import { namePattern } from './catalog.js';
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

test('a parameter in a catalog query is counted; a pattern psql would not write is 0A000; a catalog mixed with a dataset is refused', () => {
  const p = plan(`SELECT oid FROM pg_catalog.pg_class WHERE relname = $1`);
  assert.equal(p.params, 1);
  assert.throws(
    () => plan(`SELECT relname FROM pg_class WHERE relname ~ '(('`),
    (e: unknown) => e instanceof PgError && e.sqlstate === '0A000',
  );
  assert.throws(
    () => plan(`SELECT relname FROM pg_class WHERE relname ~ '^(a|b)$'`),
    (e: unknown) => e instanceof PgError && e.sqlstate === '0A000' && /"\|"/.test(e.message),
  );
  // Planned as a dataset query whose subquery is refused (0A000) when it runs, after the column checks.
  const mixed = parseStatements(`SELECT uid FROM users WHERE uid = (SELECT relname FROM pg_class LIMIT 1)`, policy)[0]!.plan;
  assert.ok(mixed.kind === 'select' && mixed.unsupported?.sqlstate === '0A000');
});

test('name patterns as psql writes them match as its regular expressions would, in linear time: a pattern of nested .* from any caller cannot hold the process', () => {
  const cases: [string, string, boolean][] = [
    ['^(users)$', 'users', true],
    ['^(users)$', 'user', false],
    ['^(use.*)$', 'users', true],
    ['^(.*s)$', 'users', true],
    ['^(u.ers)$', 'users', true],
    ['^(u.ers)$', 'uers', false],
    ['^(phone\\_number)$', 'phone_number', true],
    ['^(.*)$', '', true],
    ['^pg_toast', 'pg_toast_2604', true],
    ['^pg_toast', 'public', false],
    ['toast', 'pg_toast', true],
    ['^(information_schema)$', 'information_schema', true],
  ];
  for (const [pattern, name, want] of cases) {
    assert.equal(namePattern(pattern)(name), want, `${pattern} ~ ${name}`);
    assert.equal(new RegExp(pattern).test(name), want, `the same as a regular expression: ${pattern}`);
  }
  // 40 × .* before a character no name has: exponential for a backtracking engine (24 held the demo
  // 12 s), linear here. The whole catalog query answers at once.
  const evil = `^${'.*'.repeat(40)}!$`;
  const t0 = process.hrtime.bigint();
  assert.equal(namePattern(evil)('phone_number_of_some_length'), false);
  const r = plan(`SELECT attname FROM pg_attribute WHERE attname ~ '${evil}'`);
  assert.deepEqual(r.plan.rows, []);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`# 40 nested .*: answered in ${ms.toFixed(1)} ms`);
  assert.throws(
    () => namePattern(`^(${'a'.repeat(600)})$`),
    (e: unknown) => e instanceof PgError && e.sqlstate === '54000',
  );
});
