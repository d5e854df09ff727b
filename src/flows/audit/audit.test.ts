// The backdoor finder's parsers without a server: csvlog records split where PostgreSQL ends them
// (not at every newline), pgaudit messages, object names, log times; which columns a statement read;
// and statements printed without literals or comments.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { columnsRead, loadSqlParser, logTime, parseRecord, redact, splitObjectName, splitRecords } from './index.js';

before(() => loadSqlParser());

/** A csvlog record of PostgreSQL 15 whose message is `message` (CSV-quoted here). */
const record = (role: string, message: string) =>
  `2026-12-03 13:47:21.119 UTC,${JSON.stringify(role)},"app",6599,"10.0.0.9:4242",6b1172e9.19c7,8,"SELECT",2026-12-03 13:47:21 UTC,4/7,0,LOG,00000,"${message.replace(/"/g, '""')}",,,,,,,,,"psql","client backend",,0`;
const audit = (statement: string, object = 'public.ds_users') =>
  `AUDIT: SESSION,6,1,READ,SELECT,TABLE,${object},"${statement.replace(/"/g, '""')}",<not logged>`;

test('records end at a newline outside quotes; a record still being written is left for later', () => {
  const forged = record('cordon', audit('select 1'));
  // A statement whose comment holds a whole forged record: it stays inside the one record.
  const a = record('legacy', audit(`select phone_number from ds_users /*\n${forged}\n*/`));
  const text = `${a}\r\n${record('x', 'plain message')}\n${a.slice(0, 80)}`;
  const { records, used, lines } = splitRecords(text, 10);
  assert.deepEqual(
    records.map((r) => r.line),
    [10, 13],
  );
  assert.equal(lines, 4);
  assert.equal(text.slice(used), a.slice(0, 80));
  const first = parseRecord(records[0]!.text, records[0]!.line);
  assert.equal(first.kind, 'audit');
  if (first.kind === 'audit') {
    assert.equal(first.entry.role, 'legacy');
    assert.equal(first.entry.client, '10.0.0.9:4242');
    assert.equal(first.entry.objectName, 'public.ds_users');
    assert.equal(first.entry.application, 'psql');
  }
  assert.deepEqual(parseRecord(records[1]!.text, 13), { kind: 'other' });
});

test('what cannot be parsed says why, by line, without the content', () => {
  assert.deepEqual(parseRecord('a,b', 3), { kind: 'unparsed', line: 3, why: '2 fields, a csvlog record has at least 23' });
  assert.deepEqual(parseRecord(record('r', 'AUDIT: SESSION,1'), 4), { kind: 'unparsed', line: 4, why: 'the AUDIT message has 2 field(s)' });
  assert.deepEqual(parseRecord(record('r', 'AUDIT: +15550001234,1,1,READ,SELECT,TABLE,public.t,x,y'), 5), {
    kind: 'unparsed',
    line: 5,
    why: 'the AUDIT message has 9 field(s), and its type is neither SESSION nor OBJECT',
  });
  assert.deepEqual(parseRecord(record('r', audit('select 1')).replace('2026-12-03 13:47:21.119 UTC', 'yesterday'), 6), {
    kind: 'unparsed',
    line: 6,
    why: 'log_time is not a time',
  });
});

test('log times, object names', () => {
  assert.equal(new Date(logTime('2026-12-03 13:47:21.119 UTC')).toISOString(), '2026-12-03T13:47:21.119Z');
  assert.equal(new Date(logTime('2026-12-03 15:47:21 +02')).toISOString(), '2026-12-03T13:47:21.000Z');
  assert.equal(new Date(logTime('2026-12-03 08:17:21.5 -0530')).toISOString(), '2026-12-03T13:47:21.500Z');
  assert.ok(Number.isNaN(logTime('2026-12-03 13:47:21 CET')));
  assert.deepEqual(splitObjectName('public.ds_users'), { schema: 'public', relation: 'ds_users' });
  assert.deepEqual(splitObjectName('"my ""odd"".schema".ds_users'), { schema: 'my "odd".schema', relation: 'ds_users' });
  assert.equal(splitObjectName('ds_users'), undefined);
  assert.equal(splitObjectName('a.b.c'), undefined);
  assert.equal(splitObjectName('"unterminated.x'), undefined);
});

const COLS = ['key', 'username', 'phone_number', 'email'];
const read = (sql: string) => {
  const r = columnsRead(sql, 'public', 'ds_users', COLS);
  return `${r.how}:${r.columns.join(',')}`;
};

test('the columns a statement read, as the server names them', () => {
  assert.equal(read('select phone_number from ds_users'), 'named:phone_number');
  assert.equal(read('SELECT "phone_number" FROM PUBLIC."ds_users" WHERE email IS NOT NULL'), 'named:phone_number,email');
  assert.equal(read('select u.username from public.ds_users u join other o on o.phone_number = u.key'), 'named:key,username');
  assert.equal(read('select * from ds_users'), `all:${COLS.join(',')}`);
  assert.equal(read('select u.* from ds_users u'), `all:${COLS.join(',')}`);
  assert.equal(read('select to_json(u) from ds_users u'), `all:${COLS.join(',')}`);
  assert.equal(read('select count(*) from ds_users'), 'named:');
  assert.equal(read('copy ds_users (email) to stdout'), 'named:email');
  assert.equal(read("copy ds_users to '/tmp/x'"), `all:${COLS.join(',')}`);
  assert.equal(read('copy (select username from ds_users) to stdout'), 'named:username');
  assert.equal(read('select phone_number from v_contacts'), `indirect:${COLS.join(',')}`);
  assert.equal(read('select phone_number from other.ds_users'), `indirect:${COLS.join(',')}`);
  assert.equal(read('select phone_number from ds_users where'), `unparsed:${COLS.join(',')}`);
});

test('statements are printed without literals or comments, or not at all', () => {
  assert.equal(
    redact("select phone_number /* +15550001234 */ from ds_users -- 555\nwhere key = E'a\\'b' and x = $$5550001234$$ and n = 12.5"),
    'select phone_number from ds_users where key = $1 and x = $2 and n = $3',
  );
  assert.equal(redact("select 'ünïcode +15550001234' /* ü */, email from ds_users"), 'select $1 , email from ds_users');
  assert.equal(redact("select '+15550001234' from"), undefined);
  assert.equal(redact(`select ${'a, '.repeat(200)}b from ds_users`)!.length, 300);
});
