// The scanner: detectors case by case, a seeded folder of CSV/NDJSON/log/chat files (exact set of
// findings among decoys), bad input reported per file, and a legacy PostgreSQL table.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import postgres from 'postgres';
import { loadPolicy, type Policy } from '../src/policy/index.js';
import { openPostgresStore, type Store } from '../src/store/index.js';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import {
  assess,
  createFingerprints,
  detect,
  fingerprintHash,
  formatText,
  scan,
  scanStore,
  toSarif,
  DEFAULT_PHONE_COUNTRIES,
  type Finding,
} from '../src/scan/index.js';
import { createPhoneParser } from '../src/scan/phone.js';
import { scanJsonText } from '../src/scan/json-line.js';
import { mulberry32 } from '../src/shared/random.js';
import { DEMO_POLICY, FIXTURES } from './helpers/paths.js';
import { hashOf } from './helpers/hidden.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';

const FOLDER = join(FIXTURES, 'scan/folder');

function demoPolicy(): Policy {
  const r = loadPolicy(DEMO_POLICY);
  assert.ok(r.ok);
  return r.policy;
}

/** One line per finding: where, detector, masked sample. */
function brief(f: Finding): string {
  const w = f.where;
  const at = w.kind === 'file' ? `${relative(FOLDER, w.file)}:${w.line}:${w.column}${w.field ? `[${w.field}]` : ''}` : `${w.table}.${w.column}#${w.row}`;
  return `${at} ${f.detector} ${f.sample}`;
}

describe('detectors', () => {
  const cases: { note: string; text: string; hint?: string; want: string[] }[] = [
    { note: 'US phone written with separators', text: 'ring (415) 555-2671 today', want: ['phone 5-19 +14155552671'] },
    { note: 'international phone with +', text: 'tel +44 20 7946 0958', want: ['phone 4-20 +442079460958'] },
    { note: 'bare digits are no phone without context', text: 'order 4155552671 shipped', want: [] },
    { note: 'bare digits are a phone in a phone column', text: '4155552671', hint: 'mobile', want: ['phone 0-10 +14155552671'] },
    { note: 'a house number is no phone', text: 'lives at 224 4966 Bond Street', want: [] },
    { note: 'email, lower-cased domain', text: 'mail Ann.Lee@Example.COM now', want: ['email 5-24 Ann.Lee@example.com'] },
    { note: 'Visa with spaces passes Luhn', text: 'card 4111 1111 1111 1111', want: ['payment_card 5-24 4111111111111111'] },
    { note: 'Luhn failure is no card', text: 'card 4111 1111 1111 1112', want: [] },
    { note: 'valid SSN shape and rules', text: 'ssn 536-22-1234', want: ['us_ssn 4-15 536221234'] },
    { note: 'SSN area 666 is never issued', text: 'ssn 666-22-1234', want: [] },
    { note: 'the advertised Woolworth SSN is rejected', text: 'ssn 078-05-1120', want: [] },
    { note: 'bare nine digits need SSN context', text: 'ref 536221234', want: [] },
    { note: 'public IPv4', text: 'from 203.0.113.7 ok', want: ['ipv4 5-16 203.0.113.7'] },
    { note: 'private IPv4 is a host, not a user', text: 'from 10.0.0.1 ok', want: [] },
    { note: 'version numbers are no IP', text: 'version 1.02.3.4', want: [] },
    { note: 'IPv6', text: 'peer 2001:db8:85a3::8a2e:370:7334 up', want: ['ipv6 5-33 2001:db8:85a3::8a2e:370:7334'] },
    { note: 'a clock time is no IPv6', text: 'at 10:00:01 sharp', want: [] },
    {
      note: 'UUID with advertising context',
      text: 'idfa=38400000-8cf0-11bd-b23e-10b96e40000d',
      want: ['advertising_id 5-41 38400000-8cf0-11bd-b23e-10b96e40000d'],
    },
    { note: 'UUID without context is just an id', text: 'session 38400000-8cf0-11bd-b23e-10b96e40000d', want: [] },
    { note: 'IMEI with Luhn and context', text: 'imei 490154203237518', want: ['imei 5-20 490154203237518'] },
    { note: 'date of birth needs birth context', text: 'born on 12/03/1985', want: ['date_of_birth 8-18 1985-12-03'] },
    { note: 'a date without birth context is no DOB', text: 'shipped 12/03/1985', want: [] },
    { note: 'a date in a birthday column is a DOB', text: '1990-05-12', hint: 'birthday', want: ['date_of_birth 0-10 1990-05-12'] },
  ];
  for (const c of cases) {
    test(c.note, () => {
      const got = detect(c.text, c.hint ? { hint: c.hint } : {}).map((d) => `${d.detector} ${d.start}-${d.end} ${d.value}`);
      assert.deepEqual(got, c.want);
    });
  }
});

describe('fast paths agree with what they stand in for', () => {
  test('phone plans compiled from the metadata decide as libphonenumber-js does, near valid numbers, in every default region', () => {
    const rand = mulberry32(20261125);
    const examples = (JSON.parse(readFileSync(join(FIXTURES, 'pii/phone/libphonenumber-example-numbers.json'), 'utf8')) as { examples: { e164: string }[] })
      .examples;
    const parser = createPhoneParser();
    const diffs: string[] = [];
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const example = parsePhoneNumberFromString(examples[Math.floor(rand() * examples.length)]!.e164);
      if (!example) continue;
      // The example's national number with up to 4 digits redrawn, written bare, after a national
      // prefix (0 or 1) or after its calling code, with separators, read in one of the regions.
      const keep = example.nationalNumber.length - Math.floor(rand() * 5);
      let national = example.nationalNumber.slice(0, keep);
      while (national.length < example.nationalNumber.length) national += String(Math.floor(rand() * 10));
      const digits = ['', '0', '1', example.countryCallingCode][Math.floor(rand() * 4)]! + national;
      const run = rand() < 0.5 ? digits.replace(/^(\d{3})(\d{3})/, '($1) $2-') : digits.replace(/^(\d{2})(\d{3})/, '$1 $2.');
      const region = DEFAULT_PHONE_COUNTRIES[Math.floor(rand() * DEFAULT_PHONE_COUNTRIES.length)]!;
      const got = parser.national(run, run.replace(/\D/g, ''), region);
      const want = parsePhoneNumberFromString(run, region);
      const wantValid = want?.isValid() ?? false;
      if (wantValid) valid++;
      const same = got.valid === wantValid && (!wantValid || (got.number === want!.number && got.country === (want!.country ?? region)));
      if (!same) diffs.push(`${region} ${run.length} digits: fast ${got.valid} ${got.country}, libphonenumber ${wantValid} ${want?.country}`);
    }
    assert.deepEqual(diffs.slice(0, 5), []);
    // The cases reach valid numbers, not only ones any check would reject.
    assert.ok(valid > 2000, `${valid} valid`);
  });

  test('the first default region a phone run is valid in is the one libphonenumber-js names, across regions sharing a calling code', () => {
    const rand = mulberry32(20261203);
    const examples = (JSON.parse(readFileSync(join(FIXTURES, 'pii/phone/libphonenumber-example-numbers.json'), 'utf8')) as { examples: { e164: string }[] })
      .examples;
    const parser = createPhoneParser();
    const diffs: string[] = [];
    let valid = 0;
    for (let i = 0; i < 4000; i++) {
      // Half the cases from +1 countries (US, CA, JM… share one plan group), the rest from any.
      const pool = rand() < 0.5 ? examples.filter((e) => e.e164.startsWith('+1')) : examples;
      const example = parsePhoneNumberFromString(pool[Math.floor(rand() * pool.length)]!.e164);
      if (!example) continue;
      const keep = example.nationalNumber.length - Math.floor(rand() * 5);
      let national = example.nationalNumber.slice(0, keep);
      while (national.length < example.nationalNumber.length) national += String(Math.floor(rand() * 10));
      const digits = ['', '', '0', example.countryCallingCode][Math.floor(rand() * 4)]! + national;
      const run = rand() < 0.5 ? digits.replace(/^(\d{3})(\d{3})/, '($1) $2-') : digits;
      const got = parser.firstValid(run, run.replace(/\D/g, ''), DEFAULT_PHONE_COUNTRIES);
      let want: { number: string; country: string } | undefined;
      for (const region of DEFAULT_PHONE_COUNTRIES) {
        const p = parsePhoneNumberFromString(run, region);
        if (p?.isValid()) {
          want = { number: p.number, country: p.country ?? region };
          break;
        }
      }
      if (want) valid++;
      const same = got === undefined ? want === undefined : want !== undefined && got.number === want.number && got.country === want.country;
      if (!same) diffs.push(`case ${i}, ${run.length} characters: fast ${got?.country}, libphonenumber ${want?.country}`);
    }
    assert.deepEqual(diffs.slice(0, 5), []);
    assert.ok(valid > 1000, `${valid} valid`);
  });

  test('an NDJSON line is JSON exactly when JSON.parse says so', () => {
    const rand = mulberry32(7);
    const atoms = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"a"',
      '"p\\"h"',
      '"\\u00e9"',
      '"\\u12g4"',
      '"\\q"',
      '"x\ty"',
      '"\u001f"',
      '1',
      '-0',
      '01',
      '1.5',
      '1.',
      '.5',
      '1e5',
      '1E+2',
      '1e',
      '-',
      'true',
      'false',
      'null',
      'nul',
      ' ',
      '\t',
      '"',
      '\\',
      'é',
    ];
    const value = (depth: number): string => {
      const r = rand();
      const member = (): string => `${atoms[6 + Math.floor(rand() * 3)]}:${value(depth + 1)}`;
      if (depth < 4 && r < 0.25) return `{${Array.from({ length: Math.floor(rand() * 3) }, member).join(',')}}`;
      if (depth < 4 && r < 0.4) return `[${Array.from({ length: Math.floor(rand() * 3) }, () => value(depth + 1)).join(',')}]`;
      return atoms[6 + Math.floor(rand() * 20)]!;
    };
    const disagree: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 30_000; i++) {
      let text = value(0);
      // Half the lines get one atom inserted or substituted somewhere.
      if (rand() < 0.5) {
        const at = Math.floor(rand() * text.length);
        text = text.slice(0, at) + atoms[Math.floor(rand() * atoms.length)]! + text.slice(at + (rand() < 0.5 ? 1 : 0));
      }
      let ok = true;
      try {
        JSON.parse(text);
      } catch {
        ok = false;
      }
      if (ok) accepted++;
      if (scanJsonText(`x${text}y`, 1, text.length + 1) !== ok) disagree.push(text);
    }
    assert.deepEqual(disagree.slice(0, 5), []);
    assert.ok(accepted > 5000 && accepted < 25_000, `${accepted} accepted`);
  });

  test('an NDJSON line reports its string and number members, nested ones included', () => {
    const line = '{"id":7,"phone":"+1 415","n":{"ip":"1.2.3.4","ok":true},"l":["x",{"e\\"k":-1.5e3}]}';
    const got: string[] = [];
    const valid = scanJsonText(line, 0, line.length, (ks, ke, vs, ve, isString) =>
      got.push(`${line.slice(ks, ke)}=${line.slice(vs, ve)}${isString ? '' : ' (number)'}`),
    );
    assert.equal(valid, true);
    assert.deepEqual(got, ['id=7 (number)', 'phone=+1 415', 'ip=1.2.3.4', 'e\\"k=-1.5e3 (number)']);
  });
});

describe('files and folders', () => {
  test('a seeded folder yields exactly the known protected values, none of the decoys', async () => {
    const r = await scan({ paths: [FOLDER] }, { threads: 2 });
    assert.deepEqual(r.findings.map(brief), [
      'chat-export.txt:1:54 email …et',
      'chat-export.txt:2:43 phone …23',
      'customers.csv:2:11[phone] phone …71',
      'customers.csv:2:26[email] email …om',
      'customers.csv:2:46[birthday] date_of_birth …12',
      'customers.csv:3:12[email] email …rg',
      'customers.csv:3:45[notes] payment_card …11',
      'events.ndjson:1:45[client_ip] ipv4 ….7',
      'events.ndjson:2:37[adid] advertising_id …0d',
      'logs/app.log:1:66 us_ssn …34',
      'logs/app.log:1:84 date_of_birth …03',
      'logs/app.log:2:46 phone …58',
      'logs/app.log:2:74 imei …18',
      'logs/old.log.gz:1:31 ipv6 …34',
      'logs/old.log.gz:1:77 phone …43',
    ]);
    assert.equal(r.files, 6);
    assert.equal(r.complete, false);
    assert.deepEqual(
      r.problems.map((p) => `${relative(FOLDER, p.target)} ${p.code}`),
      ['logs/archive.bin scan.binary'],
    );
  });

  test('against the demo policy, in CN: what is protected for its subjects is a violation', async () => {
    const r = await scan({ paths: [FOLDER] }, { threads: 1, policy: demoPolicy(), place: 'CN' });
    // Two GB phone numbers belong to ROW subjects, whose enclave (global) includes CN.
    assert.deepEqual(r.findings.filter((f) => !r.violations.some((v) => v.finding === f)).map(brief), [
      'chat-export.txt:2:43 phone …23',
      'logs/app.log:2:46 phone …58',
    ]);
    assert.equal(r.violations.length, 13);
    const us = r.violations.find((v) => brief(v.finding) === 'customers.csv:2:11[phone] phone …71')!;
    assert.deepEqual([us.jurisdictions, us.enclaves, us.place], [['US'], ['us'], 'CN']);
    // In the US, only what EU subjects' classes protect (an unknown subject could be European) remains.
    const inUs = await scan({ paths: [FOLDER] }, { threads: 1, policy: demoPolicy(), place: 'US', subjects: ['US'] });
    assert.deepEqual(inUs.violations, []);
  });

  test('no report holds a clear value', async () => {
    const r = await scan({ paths: [FOLDER] }, { threads: 1, policy: demoPolicy(), place: 'CN' });
    const out = JSON.stringify(r) + formatText(r) + JSON.stringify(toSarif(r));
    for (const clear of [
      '555-2671',
      'ann.lee@example.com',
      '4111 1111 1111 1111',
      '536-22-1234',
      '203.0.113.7',
      '38400000-8cf0',
      '490154203237518',
      '1990-05-12',
      '7946 0958',
    ]) {
      assert.equal(out.includes(clear), false, `clear value ${clear.slice(0, 3)}… in a report`);
    }
  });

  describe('bad input is reported per file and the scan goes on', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'cordon-scan-'));
      const good = 'email: a.b@example.com\n';
      writeFileSync(join(dir, 'a-good.txt'), good);
      writeFileSync(join(dir, 'b-binary.dat'), Buffer.from([0x50, 0x4b, 0, 0, 1, 2]));
      writeFileSync(join(dir, 'c-broken.log.gz'), gzipSync(Buffer.from(`${good}${'x'.repeat(5000)}\n`)).subarray(0, 40));
      writeFileSync(join(dir, 'd-ragged.csv'), 'name,email\nann,a.b@example.com\nbob\n');
      writeFileSync(join(dir, 'e-quotes.csv'), 'name,email\n"ann"x,a.b@example.com\n"bob,c.d@example.com\n');
      writeFileSync(join(dir, 'f-latin1.txt'), Buffer.concat([Buffer.from('caf\xe9 ', 'latin1'), Buffer.from(good)]));
      writeFileSync(join(dir, 'g-notjson.ndjson'), '{"email":"a.b@example.com"}\n{broken\n');
      writeFileSync(join(dir, 'h-unreadable.txt'), good);
      chmodSync(join(dir, 'h-unreadable.txt'), 0);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('each problem names its file; findings come from every readable part', async () => {
      const r = await scan({ paths: [dir] }, { threads: 1 });
      const asRoot = process.getuid?.() === 0; // root reads a mode-000 file
      assert.deepEqual(
        r.problems.map((p) => `${relative(dir, p.target)} ${p.code}`),
        [
          'b-binary.dat scan.binary',
          'c-broken.log.gz scan.bad_gzip',
          'd-ragged.csv scan.malformed',
          'e-quotes.csv scan.malformed',
          'f-latin1.txt scan.invalid_encoding',
          'g-notjson.ndjson scan.malformed',
          ...(asRoot ? [] : ['h-unreadable.txt scan.unreadable']),
        ],
      );
      assert.deepEqual(
        r.findings.map((f) => (f.where.kind === 'file' ? `${relative(dir, f.where.file)}:${f.where.line}` : '')),
        [
          'a-good.txt:1',
          'd-ragged.csv:2',
          'e-quotes.csv:2',
          'e-quotes.csv:3',
          'f-latin1.txt:1',
          'g-notjson.ndjson:1',
          ...(asRoot ? ['h-unreadable.txt:1'] : []),
        ],
      );
      assert.equal(r.complete, false);
    });
  });
});

describe('stores', () => {
  let server: PostgresServer;
  let store: Store;
  before(async () => {
    server = await startPostgres({ database: 'legacy' });
    const sql = postgres(server.url, { onnotice: () => {} });
    await sql`CREATE TABLE legacy_users (id int PRIMARY KEY, full_name text, contact text, dob date, last_ip inet, note text)`;
    await sql`INSERT INTO legacy_users VALUES
      (1, 'Ann Lee', '+1 415 555 2671', '1990-05-12', '203.0.113.7', 'likes cats'),
      (2, 'Bob Roe', 'bob@example.org', '1985-12-03', '198.51.100.23', 'order 1234-5678-9012'),
      (3, 'Cy Dee', NULL, NULL, '10.0.0.8', 'ref 555-0100')`;
    await sql.end();
    store = await openPostgresStore('legacy_sg', server.url);
    // cordon's own users table, with a phone number in the public bio column.
    await store.ensureTable({ name: 'users', fields: ['username', 'bio'] });
    await store.upsert('users', 'u1', { username: 'ann', bio: 'call me: +1 415 555 2671' });
    await store.upsert('users', 'u2', { username: 'bob', bio: 'text +44 20 7946 0958 anytime' });
  });
  after(async () => {
    await store?.close();
    await server?.stop();
  });

  test('a legacy table and a catalog table: exact findings, and columns the catalog gets wrong', async () => {
    const policy = demoPolicy();
    const r = await scanStore(store);
    assert.deepEqual(r.findings.map(brief), [
      'ds_users.bio#u1 phone …71',
      'ds_users.bio#u2 phone …58',
      'legacy_users.contact#1 phone …71',
      'legacy_users.dob#1 date_of_birth …12',
      'legacy_users.last_ip#1 ipv4 ….7',
      'legacy_users.contact#2 email …rg',
      'legacy_users.dob#2 date_of_birth …03',
      'legacy_users.last_ip#2 ipv4 …23',
    ]);
    assert.equal(r.rows, 5);
    const a = assess(policy, r.findings, r.columns, { storePlaces: new Map([['legacy_sg', 'SG']]) });
    assert.deepEqual(
      a.columns.map((c) => `${c.verdict} ${c.table}.${c.column} ${c.detected} ${c.share} ${c.catalog ?? '-'}`),
      [
        'misclassified ds_users.bio user.contact.phone_number 1 user.content.public',
        'unclassified legacy_users.contact user.contact.phone_number 0.5 -',
        'unclassified legacy_users.dob user.demographic.date_of_birth 1 -',
        'unclassified legacy_users.last_ip user.device.ip_address 0.667 -',
      ],
    );
    // SG is outside the US and EU enclaves; the +44 number is a ROW subject's, allowed in SG.
    assert.deepEqual(
      a.violations.map((v) => brief(v.finding)),
      [
        'ds_users.bio#u1 phone …71',
        'legacy_users.contact#1 phone …71',
        'legacy_users.dob#1 date_of_birth …12',
        'legacy_users.last_ip#1 ipv4 ….7',
        'legacy_users.contact#2 email …rg',
        'legacy_users.dob#2 date_of_birth …03',
        'legacy_users.last_ip#2 ipv4 …23',
      ],
    );
  });

  test('a sample of one row per table reads one row per table', async () => {
    const r = await scanStore(store, { sample: 1 });
    assert.equal(r.rows, 2);
    assert.deepEqual(r.findings.map(brief), [
      'ds_users.bio#u1 phone …71',
      'legacy_users.contact#1 phone …71',
      'legacy_users.dob#1 date_of_birth …12',
      'legacy_users.last_ip#1 ipv4 ….7',
    ]);
  });

  test('keyed-hash matching finds copies of enclave values without clear values', async () => {
    const key = Buffer.alloc(32, 7);
    const fp = createFingerprints(key, [
      { hash: fingerprintHash(key, 'user.contact.phone_number', '+14155552671'), category: 'user.contact.phone_number', enclave: 'us' },
    ]);
    const r = await scanStore(store, { fingerprints: fp });
    assert.deepEqual(
      r.findings.filter((f) => f.detector === 'enclave_match').map((f) => `${brief(f)} ${f.enclave}`),
      ['ds_users.bio#u1 enclave_match …71 us', 'legacy_users.contact#1 enclave_match …71 us'],
    );
  });

  test('a store that goes away mid-scan: reported per table, the scan goes on', async () => {
    const failing: Store = Object.create(store) as Store;
    (failing as { dump: Store['dump'] }).dump = async function* (table: string) {
      if (table === 'ds_users') throw new Error('connection terminated');
      yield* store.dump(table);
    };
    const r = await scanStore(failing);
    assert.deepEqual(
      r.problems.map((p) => `${p.code} ${p.target} ${p.message}`),
      ['scan.store_unavailable legacy_sg/ds_users stopped after 0 rows: connection terminated'],
    );
    assert.equal(r.findings.length, 6);
  });

  test('a legacy table keyed by email or phone number: rows are named by position, never by the key', async () => {
    const sql = postgres(server.url, { onnotice: () => {} });
    try {
      await sql`CREATE TABLE legacy_contacts (contact text PRIMARY KEY, plan text, ip text)`;
      await sql`INSERT INTO legacy_contacts VALUES ('ann@example.org', 'gold', '203.0.113.9'), ('+1 415 555 2671', 'free', '198.51.100.4'), ('acct-77', 'free', '192.0.2.8')`;
      const r = await scanStore(store, { tables: ['legacy_contacts'] });
      assert.deepEqual(r.findings.map(brief), [
        // In the table's key order, as the store reads it.
        'legacy_contacts.contact##1 phone …71',
        'legacy_contacts.ip##1 ipv4 ….4',
        'legacy_contacts.ip#acct-77 ipv4 ….8',
        'legacy_contacts.contact##3 email …rg',
        'legacy_contacts.ip##3 ipv4 ….9',
      ]);
      const text = JSON.stringify(r);
      for (const key of ['ann@example.org', '+1 415 555 2671']) assert.ok(!text.includes(key), `a key (sha ${hashOf(key)}) is in the result`);
    } finally {
      await sql`DROP TABLE IF EXISTS legacy_contacts`;
      await sql.end();
    }
  });
});
