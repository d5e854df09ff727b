// The framing and the PROXY header on their own: messages split anywhere across chunks come out
// whole, lengths out of bounds are refused as soon as they are read, headers parse to their source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cursor, FrameError, Framer, dataRow, errorResponse } from './protocol.js';
import { parseProxyV2, proxyV2Header } from './proxy-header.js';
import { optionValue } from './settings.js';

const message = (type: string, body: string) => {
  const b = Buffer.from(`${body}\u0000`);
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(b.length + 4, 1);
  return Buffer.concat([head, b]);
};

test('messages split at every byte boundary come out whole and in order', () => {
  const stream = Buffer.concat([message('Q', 'SELECT 1'), message('Q', 'SELECT 2'), Buffer.from([0x53, 0, 0, 0, 4])]);
  for (let cut = 1; cut < stream.length; cut++) {
    const f = new Framer();
    const got: string[] = [];
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
      f.push(part);
      for (let m = f.next(); m; m = f.next()) got.push(`${m.type}:${m.body.toString().replace('\u0000', '')}`);
    }
    assert.deepEqual(got, ['Q:SELECT 1', 'Q:SELECT 2', 'S:'], `cut at ${cut}`);
  }
});

test('a length below 4 or above the limit is refused from the header alone; a startup packet outside 8..10000 too', () => {
  const f = new Framer(100);
  f.push(Buffer.from([0x51, 0, 0, 0, 101]));
  assert.throws(
    () => f.next(),
    (e: FrameError) => e.sqlstate === '54000',
  );
  const g = new Framer();
  g.push(Buffer.from([0x51, 0, 0, 0, 3]));
  assert.throws(
    () => g.next(),
    (e: FrameError) => e.sqlstate === '08P01',
  );
  for (const len of [7, 10_001, -1]) {
    const s = new Framer();
    const b = Buffer.alloc(4);
    b.writeInt32BE(len);
    s.push(b);
    assert.throws(() => s.nextStartup(), FrameError, String(len));
  }
});

test('fields read past a body or an unterminated string are protocol errors, as are trailing bytes', () => {
  assert.throws(() => new Cursor(Buffer.from([0, 1]), 'Bind').int32(), /Bind message: it ends early/);
  assert.throws(() => new Cursor(Buffer.from('abc'), 'Query').cstring(), /not terminated/);
  const c = new Cursor(Buffer.from('a\u0000b'), 'Close');
  assert.equal(c.cstring(), 'a');
  assert.throws(() => c.end(), /1 bytes too many/);
});

test('backend messages: NULL cells as length -1, errors with their fields', () => {
  const row = dataRow(['ab', null]);
  assert.deepEqual([...row], [0x44, 0, 0, 0, 16, 0, 2, 0, 0, 0, 2, 0x61, 0x62, 0xff, 0xff, 0xff, 0xff]);
  const e = errorResponse({ severity: 'ERROR', code: '42501', message: 'no' });
  assert.equal(e.toString('latin1', 5), 'SERROR\u0000VERROR\u0000C42501\u0000Mno\u0000\u0000');
});

test('PROXY v2: the source of TCP over IPv4, LOCAL, and what is not a header', () => {
  const h = proxyV2Header('10.80.0.5', 40000, '127.0.0.1', 5433);
  for (let n = 0; n < h.length; n++) assert.equal(parseProxyV2(h.subarray(0, n)), undefined, `${n} bytes: wait for more`);
  assert.deepEqual(parseProxyV2(h), { kind: 'proxy', bytes: 28, source: '10.80.0.5' });
  const local = Buffer.from(h.subarray(0, 16));
  local[12] = 0x20;
  local.writeUInt16BE(0, 14);
  assert.deepEqual(parseProxyV2(local), { kind: 'local', bytes: 16 });
  const v1 = Buffer.from(h);
  v1[12] = 0x11;
  assert.ok(parseProxyV2(v1) instanceof Error);
  const unix = Buffer.from(h);
  unix[13] = 0x31;
  assert.ok(parseProxyV2(unix) instanceof Error);
});

test('the startup option cordon.forwarded_for, in the spellings libpq passes', () => {
  assert.equal(optionValue('-c cordon.forwarded_for=10.80.0.5', 'cordon.forwarded_for'), '10.80.0.5');
  assert.equal(optionValue('-ccordon.forwarded_for=10.80.0.5 -c x=y', 'cordon.forwarded_for'), '10.80.0.5');
  assert.equal(optionValue('--cordon.forwarded_for=10.80.0.5', 'cordon.forwarded_for'), '10.80.0.5');
  assert.equal(optionValue('-c application_name=a\\ b', 'application_name'), 'a b');
  assert.equal(optionValue('-c other=1', 'cordon.forwarded_for'), undefined);
});
