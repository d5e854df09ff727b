// The wire gateway's refusals before anything is read, with a reader that fails the test if any store
// or record is touched: every form a column can take in a query reaches the plan's tested columns
// (so a protected one is 42501), and a join on a column protected in some jurisdiction is 42501
// even for a caller who may filter on everything (a policy where user ids are protected in the EU).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Caller, GatewayReader } from '../gateway/index.js';
import { loadPolicy, type Policy } from '../policy/index.js';
import { runSelect } from './execute.js';
import { PgError } from './protocol.js';
import { loadParser, parseStatements, type SelectPlan } from './sql.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));
const load = (dir: string): Policy => {
  const loaded = loadPolicy(dir);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.issues));
  return loaded.policy;
};
const demo = load(DEMO);
before(() => loadParser());

const select = (sql: string, policy = demo): SelectPlan => {
  const [p] = parseStatements(sql, policy);
  assert.equal(p?.plan.kind, 'select', sql);
  return p!.plan as SelectPlan;
};

test('every form a column takes outside the select list is a tested column: WHERE, ON, ORDER BY, GROUP BY, count(col), expressions', () => {
  const cases: [string, string][] = [
    ["SELECT uid FROM users WHERE username = 'a' OR NOT (email LIKE 'x')", 'users.email'],
    ['SELECT uid FROM users WHERE phone_number IN ($1, $2)', 'users.phone_number'],
    ["SELECT uid FROM users WHERE CASE WHEN birthday > '2000' THEN true END", 'users.birthday'],
    ["SELECT uid FROM users WHERE coalesce(ip_address, 'x') = 'y'", 'users.ip_address'],
    ['SELECT uid FROM users WHERE device_id::text IS NULL', 'users.device_id'],
    ['SELECT uid FROM users WHERE (SELECT 1) = 1 AND email IS NULL', 'users.email'],
    ['SELECT email AS e FROM users ORDER BY e', 'users.email'],
    ['SELECT username, email FROM users ORDER BY 2', 'users.email'],
    ['SELECT username FROM users ORDER BY length(email)', 'users.email'],
    ['SELECT count(*) FROM users GROUP BY birthday', 'users.birthday'],
    ['SELECT email, count(*) FROM users GROUP BY 1', 'users.email'],
    ['SELECT count(phone_number) FROM users', 'users.phone_number'],
    ['SELECT count(DISTINCT phone_number) FROM users', 'users.phone_number'],
    ['SELECT max(birthday) FROM users', 'users.birthday'],
    ['SELECT upper(email) FROM users', 'users.email'],
    ['SELECT DISTINCT ON (email) username FROM users', 'users.email'],
    ['SELECT country, count(*) FROM users GROUP BY country HAVING max(email) > $1', 'users.email'],
    ['SELECT uid FROM users LIMIT (SELECT 1) OFFSET length($1)', ''],
    ["SELECT v.id FROM videos v JOIN users u ON v.owner_uid = u.uid AND u.email LIKE 'a%'", 'users.email'],
    ['SELECT v.id FROM videos v JOIN users u ON u.phone_number = v.owner_uid', 'users.phone_number'],
    ['SELECT v.id FROM videos v JOIN users u ON v.owner_uid = u.uid WHERE v.draft_body IS NULL', 'videos.draft_body'],
    ["SELECT uid FROM users WHERE uid = 'a' OR uid = 'b'", 'users.uid'],
    ["SELECT uid FROM users WHERE uid = 'a' ORDER BY uid", 'users.uid'],
  ];
  for (const [sql, column] of cases) {
    const p = select(sql);
    const tested = p.tested.map((c) => `${p.relations[c.rel]!.dataset.name}.${c.field}`);
    if (column !== '') assert.ok(tested.includes(column), `${sql}: ${column} is tested (${tested.join(', ')})`);
    // Whatever else the query is, it is refused or answered only after that check.
    if (p.unsupported) assert.ok(p.unsupported instanceof PgError, sql);
  }
  // A key condition at the top of WHERE addresses records (as a path does); it tests nothing.
  assert.deepEqual(select("SELECT username FROM users WHERE uid = $1 AND uid IN ('a', $2)").tested, []);
  assert.equal(select("SELECT username FROM users WHERE uid = $1 AND uid IN ('a', $2)").addressed.length, 2);
  // The join's reference and the key it names are references, not tests.
  const j = select('SELECT v.id FROM users u JOIN videos v ON v.owner_uid = u.uid');
  assert.deepEqual(j.tested, []);
  assert.deepEqual(
    j.references.map((c) => `${j.relations[c.rel]!.dataset.name}.${c.field}`),
    ['videos.owner_uid', 'users.uid'],
  );
  assert.equal(j.relations[j.listed]!.dataset.name, 'videos', 'the dataset holding the reference is the one listed');
});

/** A reader under which any read fails the test; every caller may filter on every column. */
function untouchable(policy: Policy): GatewayReader {
  const touched = (): never => assert.fail('something was read');
  return {
    policy,
    globalStore: { list: touched, getMany: touched, get: touched },
    recordKeys: { in: touched, out: touched, cursor: touched, shown: touched, shownIn: touched },
    readOne: touched,
    record: touched,
    filterable: () => true,
    untransformed: () => true,
    filterValue: (_d: unknown, _f: unknown, _p: unknown, v: string) => v,
    refusedForPlace: () => false,
  } as unknown as GatewayReader;
}
const caller = { principal: { id: 'tester' }, country: 'US', site: 'austin', audience: 'team', knownPlace: true } as unknown as Caller;
const sink = { send: async () => assert.fail('a row was sent'), closed: () => false };

test('a join on a column protected in some jurisdiction is 42501 before anything is read, whoever asks', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-pgwire-join-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(DEMO, dir, { recursive: true });
  const classes = join(dir, 'classes.yaml');
  // User ids become protected in the EU (as policy diff shows for the US): a join through them would follow protected data.
  const text = readFileSync(classes, 'utf8');
  const eu = text.indexOf('EU:');
  writeFileSync(
    classes,
    text.slice(0, eu) +
      text.slice(eu).replace('excepted: [user.unique_id]', 'excepted: []').replace('protected: [user.contact,', 'protected: [user.unique_id, user.contact,'),
  );
  const strict = load(dir);
  for (const sql of [
    'SELECT v.id FROM videos v JOIN users u ON v.owner_uid = u.uid',
    'SELECT c.id FROM comments c LEFT JOIN users u ON c.author_uid = u.uid',
  ]) {
    await assert.rejects(
      runSelect(untouchable(strict), caller, select(sql, strict), [], [], sink),
      (e: unknown) => e instanceof PgError && e.sqlstate === '42501' && /protected in some jurisdiction, so it cannot join/.test(e.message),
      sql,
    );
    // Under the demo's classes the same join goes on to read (and this reader fails it): the refusal above is the class's.
    await assert.rejects(runSelect(untouchable(demo), caller, select(sql), [], [], sink), /something was read/, sql);
  }
});
