import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '../policy/index.js';
import { PgError, type TransactionStatus } from './protocol.js';
import { SessionSettings, transactionStep, type TransactionPlan } from './settings.js';
import { loadParser, parseStatements } from './sql.js';

const loaded = loadPolicy(fileURLToPath(new URL('../../../policies/demo', import.meta.url)));
assert.ok(loaded.ok);
before(() => loadParser());

const plan = (sql: string) => parseStatements(sql, loaded.policy)[0]!.plan;

test('transaction statements step the state as PostgreSQL does, savepoints included (pgJDBC autosave, setSavepoint)', () => {
  const savepoints: string[] = [];
  let tx: TransactionStatus = 'I';
  const run = (sql: string, failAfter = false): string | PgError => {
    try {
      const p = plan(sql);
      assert.equal(p.kind, 'transaction', sql);
      const step = transactionStep(p as TransactionPlan, tx, savepoints);
      tx = failAfter ? 'E' : step.tx;
      return step.tag;
    } catch (err) {
      if (!(err instanceof PgError)) throw err;
      if (tx === 'T') tx = 'E';
      return err;
    }
  };
  const state = (e: string | PgError) => (e instanceof PgError ? e.sqlstate : e);
  assert.equal(state(run('SAVEPOINT a')), '25P01', 'no savepoint outside a transaction block');
  assert.equal(tx, 'I');
  assert.equal(run('BEGIN READ ONLY'), 'BEGIN');
  assert.equal(run('SAVEPOINT a'), 'SAVEPOINT');
  assert.equal(run('SAVEPOINT b'), 'SAVEPOINT');
  assert.equal(run('RELEASE SAVEPOINT b'), 'RELEASE');
  assert.equal(state(run('ROLLBACK TO SAVEPOINT b')), '3B001', 'b was released');
  assert.equal(tx, 'E', 'the error failed the transaction');
  assert.equal(state(run('SAVEPOINT c')), '25P02');
  assert.equal(run('ROLLBACK TO SAVEPOINT a'), 'ROLLBACK', 'back to a: the failure is undone');
  assert.equal(tx, 'T');
  assert.deepEqual(savepoints, ['a']);
  run('SAVEPOINT d', true);
  assert.equal(run('COMMIT'), 'ROLLBACK', 'a failed transaction commits as a rollback');
  assert.equal(tx, 'I');
  assert.deepEqual(savepoints, []);
  assert.equal(run('START TRANSACTION ISOLATION LEVEL SERIALIZABLE'), 'BEGIN');
  assert.equal(run('END'), 'COMMIT');
  assert.throws(
    () => plan('COMMIT AND CHAIN'),
    (e: unknown) => e instanceof PgError && e.sqlstate === '0A000',
  );
});

test('SET, RESET and SHOW as drivers send them; pg_settings says where each value came from', () => {
  const s = new SessionSettings();
  s.fromStartup(
    new Map([
      ['user', 'us-analyst'],
      ['database', 'cordon'],
      ['application_name', 'psql'],
    ]),
  );
  const set = (sql: string) => {
    const p = plan(sql);
    assert.equal(p.kind, 'set', sql);
    if (p.kind === 'set') return s.set(p.name, p.value);
    return [];
  };
  assert.deepEqual(set('SET extra_float_digits = 3'), []);
  assert.equal(s.show('extra_float_digits'), '3');
  assert.deepEqual(
    set(`SET application_name = 'PostgreSQL JDBC Driver'`),
    [['application_name', 'PostgreSQL JDBC Driver']],
    'a reported parameter is reported again',
  );
  set('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY');
  assert.equal(s.show('default_transaction_isolation'), 'serializable');
  assert.equal(s.show('default_transaction_read_only'), 'on');
  set('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  assert.equal(s.show('transaction_isolation'), 'repeatable read');
  const source = (name: string) => s.entries().find(([k]) => k === name)?.[2];
  assert.equal(source('extra_float_digits'), 'session');
  assert.equal(source('client_encoding'), 'default');
  assert.equal(s.show('max_index_keys'), '32');
  assert.throws(
    () => set('SET max_index_keys = 64'),
    (e: unknown) => e instanceof PgError && e.sqlstate === '55P02',
  );
  set('RESET ALL');
  assert.equal(s.show('extra_float_digits'), '1');
  assert.equal(plan('SHOW TRANSACTION ISOLATION LEVEL').kind, 'show');
});
