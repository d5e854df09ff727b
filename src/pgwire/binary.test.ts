// The binary format on its own: each supported type's binary value read as the text PostgreSQL's
// output function writes (dates and timestamps against JavaScript's own calendar, random values
// with a printed seed), wrong sizes and unknown types refused with the SQLSTATE PostgreSQL gives,
// and result cells written back in binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryCell, OID, paramText, sendsBinary } from './binary.js';
import { PgError } from './protocol.js';

const b = (...bytes: number[]) => Buffer.from(bytes);
const be = (size: number, write: (buf: Buffer) => void) => {
  const buf = Buffer.alloc(size);
  write(buf);
  return buf;
};

test('binary parameters read as the text PostgreSQL writes for them', () => {
  const cases: [string, number, Buffer, string][] = [
    ['int2 min', OID.int2, be(2, (x) => x.writeInt16BE(-32768)), '-32768'],
    ['int4', OID.int4, be(4, (x) => x.writeInt32BE(123456789)), '123456789'],
    ['int8 max, past 2^53', OID.int8, be(8, (x) => x.writeBigInt64BE(9223372036854775807n)), '9223372036854775807'],
    ['oid above 2^31', OID.oid, be(4, (x) => x.writeUInt32BE(4294967295)), '4294967295'],
    ['float4 0.5', OID.float4, be(4, (x) => x.writeFloatBE(0.5)), '0.5'],
    ['float4 0.1 is the float nearest 0.1, as a float8 compares it', OID.float4, be(4, (x) => x.writeFloatBE(0.1)), '0.10000000149011612'],
    ['float8 1e21', OID.float8, be(8, (x) => x.writeDoubleBE(1e21)), '1e+21'],
    ['float8 -0', OID.float8, be(8, (x) => x.writeDoubleBE(-0)), '-0'],
    ['float8 NaN', OID.float8, be(8, (x) => x.writeDoubleBE(Number.NaN)), 'NaN'],
    ['float8 -Infinity', OID.float8, be(8, (x) => x.writeDoubleBE(Number.NEGATIVE_INFINITY)), '-Infinity'],
    ['bool false', OID.bool, b(0), 'false'],
    ['bool: any other byte is true (boolrecv)', OID.bool, b(2), 'true'],
    ['text', OID.text, Buffer.from("x' OR '1'='1"), "x' OR '1'='1"],
    ['varchar', OID.varchar, Buffer.from('é'), 'é'],
    ['unspecified (0): text, as ParameterDescription says', 0, Buffer.from('lonestar_lens'), 'lonestar_lens'],
    ['bytea', OID.bytea, b(0, 0xff, 0x10), '\\x00ff10'],
    ['uuid', OID.uuid, Buffer.from('0123456789abcdef0123456789abcdef', 'hex'), '01234567-89ab-cdef-0123-456789abcdef'],
    ['jsonb', OID.jsonb, Buffer.concat([b(1), Buffer.from('{"a":1}')]), '{"a":1}'],
    ['date 2000-01-01', OID.date, be(4, (x) => x.writeInt32BE(0)), '2000-01-01'],
    ['date the day before 0001-01-01', OID.date, be(4, (x) => x.writeInt32BE(-730120)), '0001-12-31 BC'],
    ['date infinity', OID.date, be(4, (x) => x.writeInt32BE(0x7fffffff)), 'infinity'],
    ['timestamp with a half second', OID.timestamp, be(8, (x) => x.writeBigInt64BE(500_000n)), '2000-01-01 00:00:00.5'],
    ['timestamp before the epoch', OID.timestamp, be(8, (x) => x.writeBigInt64BE(-1n)), '1999-12-31 23:59:59.999999'],
    ['timestamptz in UTC', OID.timestamptz, be(8, (x) => x.writeBigInt64BE(86_400_000_000n)), '2000-01-02 00:00:00+00'],
    ['timestamptz BC', OID.timestamptz, be(8, (x) => x.writeBigInt64BE(-730120n * 86_400_000_000n)), '0001-12-31 00:00:00+00 BC'],
    ['timestamp -infinity', OID.timestamp, be(8, (x) => x.writeBigInt64BE(-0x8000000000000000n)), '-infinity'],
  ];
  for (const [note, oid, bytes, text] of cases) assert.equal(paramText(oid, bytes, 1), text, note);
});

test('dates and timestamps agree with JavaScript’s calendar for random values of years 1 to 9999 (seed printed; BINARY_SEED=… replays)', (t) => {
  const seed = process.env['BINARY_SEED'] ? Number(process.env['BINARY_SEED']) : Date.now() % 2 ** 31;
  t.diagnostic(`seed ${seed} (BINARY_SEED=${seed} replays it)`);
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const first = Date.UTC(1, 0, 1) - Date.UTC(2000, 0, 1);
  const span = Date.UTC(9999, 11, 31, 23, 59, 59, 999) - Date.UTC(1, 0, 1);
  for (let i = 0; i < 2000; i++) {
    const ms = first + Math.floor(next() * span);
    const micros = Math.floor(next() * 1000);
    const us = BigInt(ms) * 1000n + BigInt(micros);
    const d = new Date(Date.UTC(2000, 0, 1) + ms);
    const iso = d.toISOString();
    const year = iso.startsWith('+') || iso.startsWith('-') ? iso.slice(3, 7) : iso.slice(0, 4);
    const day = `${year}${iso.slice(iso.indexOf('-', 1), iso.indexOf('T'))}`;
    const frac = `${String(d.getUTCMilliseconds()).padStart(3, '0')}${String(micros).padStart(3, '0')}`.replace(/0+$/, '');
    const time = `${iso.slice(iso.indexOf('T') + 1, iso.indexOf('T') + 9)}${frac ? `.${frac}` : ''}`;
    assert.equal(
      paramText(
        OID.timestamp,
        be(8, (x) => x.writeBigInt64BE(us)),
        1,
      ),
      `${day} ${time}`,
      `seed ${seed}, value ${us}`,
    );
    const days = Math.floor(ms / 86_400_000);
    assert.equal(
      paramText(
        OID.date,
        be(4, (x) => x.writeInt32BE(days)),
        1,
      ),
      day,
      `seed ${seed}, day ${days}`,
    );
  }
});

test('binary values that are not of their type, types with no binary form here, and text that is not UTF-8 are refused', () => {
  const refused = (oid: number, bytes: Buffer, state: string, message: RegExp) =>
    assert.throws(
      () => paramText(oid, bytes, 2),
      (e: PgError) => e instanceof PgError && e.sqlstate === state && message.test(e.message),
      `${oid}: ${state}`,
    );
  refused(OID.int4, b(0, 0, 1), '22P03', /incorrect binary data format in bind parameter 2/);
  refused(OID.int8, b(0, 0, 0, 1), '22P03', /bind parameter 2/);
  refused(OID.bool, Buffer.alloc(0), '22P03', /bind parameter 2/);
  refused(OID.uuid, Buffer.alloc(15), '22P03', /bind parameter 2/);
  refused(OID.jsonb, Buffer.from('{"a":1}'), '22P03', /bind parameter 2/);
  refused(1700, b(0, 1, 0, 0, 0, 0, 0, 0, 0, 1), '0A000', /parameter \$2 of type numeric is not supported/);
  refused(99999, b(1), '0A000', /type oid 99999 is not supported/);
  refused(OID.text, b(0xc3, 0x28), '22021', /invalid byte sequence for encoding "UTF8" in bind parameter 2/);
});

test('result cells in binary: what the gateway emits, the way each type sends it', () => {
  assert.deepEqual(
    binaryCell(OID.float8, '1e+21'),
    be(8, (x) => x.writeDoubleBE(1e21)),
  );
  assert.deepEqual(
    binaryCell(OID.float8, '0.1'),
    be(8, (x) => x.writeDoubleBE(0.1)),
  );
  assert.deepEqual(binaryCell(OID.bool, 't'), b(1));
  assert.deepEqual(binaryCell(OID.bool, 'f'), b(0));
  assert.deepEqual(
    binaryCell(OID.int4, '16384'),
    be(4, (x) => x.writeInt32BE(16384)),
  );
  assert.deepEqual(
    binaryCell(OID.oid, '4294967295'),
    be(4, (x) => x.writeUInt32BE(4294967295)),
  );
  assert.deepEqual(binaryCell(OID.text, 'é'), Buffer.from('é'));
  for (const oid of [OID.text, OID.float8, OID.bool, OID.int4, OID.oid, OID.int2, OID.int8, OID.name, OID.char]) assert.ok(sendsBinary(oid), String(oid));
  for (const oid of [1700, 1009, OID.date, OID.uuid]) assert.ok(!sendsBinary(oid), String(oid));
  assert.throws(() => binaryCell(1700, '1'), /no binary form for type numeric/);
});
