// Context scoring, candidate by candidate: each kind of identifier that looks like a phone number,
// card, SSN or IP is refused by the words or shape around it (and the same digits with a phone word,
// or none, are not), each positive context is accepted with its reason, and a number written with a
// country code libphonenumber calls invalid there is never a phone. Assertions compare detectors,
// spans and reasons, never values.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { detect, DEFAULT_MIN_CONFIDENCE } from './detect.js';
import { scanFile } from './file-scan.js';

/** Detector and span of each detection (no values). */
const found = (text: string, options: Parameters<typeof detect>[1] = {}): string[] =>
  detect(text, options)
    .filter((d) => d.detector !== 'date_of_birth')
    .map((d) => `${d.detector} ${d.start}-${d.end}`);

describe('negative context: identifiers of other kinds are refused, the same digits elsewhere are not', () => {
  const cases: { note: string; decoy: string; control?: string; want?: string }[] = [
    { note: 'order number', decoy: 'where is order 415-555-2671? still not here', control: 'where is 415-555-2671? still not here', want: 'phone 9-21' },
    { note: 'order number after #', decoy: 'order #415-555-2671 says delivered', control: 'order: call 415-555-2671 says delivered', want: 'phone 12-24' },
    {
      note: 'invoice number',
      decoy: 'Invoice 339-968-9117 was sent to the wrong address',
      control: 'Call 339-968-9117 was sent to the wrong address',
      want: 'phone 5-17',
    },
    { note: 'tracking number', decoy: 'tracking 415 555 2671 has not moved', control: 'call 415 555 2671 has not moved', want: 'phone 5-17' },
    { note: 'ticket number', decoy: 'ticket 415 555 2671 is closed', control: 'mobile 415 555 2671 is closed', want: 'phone 7-19' },
    { note: 'account number', decoy: 'account 415-555-2671 is locked', control: 'phone 415-555-2671 is locked', want: 'phone 6-18' },
    { note: 'build number', decoy: 'build 415.555.2671 is green', control: 'dial 415.555.2671 is green', want: 'phone 5-17' },
    { note: 'amount with a currency sign', decoy: 'refund of $415 555 2671 approved', control: 'ring 415 555 2671 approved', want: 'phone 5-17' },
    { note: 'timestamp word', decoy: 'event_ts=(415) 555-2671', control: 'sms=(415) 555-2671', want: 'phone 4-18' },
    { note: 'coordinates (a decimal)', decoy: 'meet at 51.5552671, -0.127600', control: 'meet at 515.552.671 or call', want: undefined },
    { note: 'ISBN-13 (one-digit groups)', decoy: 'the book is ISBN 978-0-306-40615-7', control: undefined },
    { note: 'ISBN-10 without the word', decoy: 'see 0-306-40615-2 on the shelf', control: undefined },
    { note: 'ZIP+4', decoy: 'ship to 94105-1234 please', control: undefined },
    { note: 'a path segment', decoy: 'GET /api/v2/orders/415-555-2671 HTTP/1.1', control: 'GET /api/v2/x 415-555-2671 HTTP/1.1', want: 'phone 14-26' },
    { note: 'hex id', decoy: 'commit 4bf92f3577b34da6a3ce929d0e0e4736 fixed it', control: undefined },
    { note: 'EIN', decoy: 'EIN 41-5552671 on the W-9', control: undefined },
    {
      note: 'version string is no IP',
      decoy: 'updated to 4.2.1.0 and it still crashes',
      control: 'logged in from 4.2.1.0 and it still crashes',
      want: 'ipv4 15-22',
    },
    { note: 'version key is no IP', decoy: 'service started version=8.20.9.42 pid=1', control: 'service started client=8.20.9.42 pid=1', want: 'ipv4 23-32' },
    { note: 'user-agent version is no IP', decoy: 'Chrome/120.0.0.1 Safari/537.36', control: 'peer 120.0.0.1 Safari', want: 'ipv4 5-14' },
    { note: 'internal address (172.16/12) is a host', decoy: 'upstream 172.20.3.14 timeout', control: 'upstream 173.20.3.14 timeout', want: 'ipv4 9-20' },
    { note: 'Luhn-failing 16-digit id is no card', decoy: 'ref 4111 1111 1111 1112', control: 'card 4111 1111 1111 1111', want: 'payment_card 5-24' },
    {
      note: '16-digit transaction id passing Luhn is no card',
      decoy: 'txn id 4111111111111111 failed',
      control: 'visa 4111111111111111 failed',
      want: 'payment_card 5-21',
    },
    { note: 'SSN-shaped order id', decoy: 'order 536-22-1234 shipped', control: 'ssn 536-22-1234 shipped', want: 'us_ssn 4-15' },
  ];
  for (const c of cases) {
    test(c.note, () => {
      assert.deepEqual(found(c.decoy), [], 'refused at the default minimum confidence');
      if (c.control !== undefined && c.want !== undefined) assert.deepEqual(found(c.control), [c.want], 'the same digits with other words are found');
    });
  }
});

describe('positive context: each kind is accepted, with its reason', () => {
  const cases: { note: string; text: string; hint?: string; want: string; reason: string }[] = [
    { note: 'call', text: 'can you call me back on 4155552671?', want: 'phone 24-34', reason: 'context:+call' },
    { note: 'text me', text: 'text me at 4155552671 after 6', want: 'phone 11-21', reason: 'context:+text-me' },
    { note: 'mobile', text: 'Mobile: 4155552671', want: 'phone 8-18', reason: 'context:+mobile' },
    { note: 'whatsapp', text: 'reach me on whatsapp 4155552671', want: 'phone 21-31', reason: 'context:+whatsapp' },
    { note: 'tel: link', text: '<a href="tel:4155552671">', want: 'phone 13-23', reason: 'context:+tel' },
    { note: 'a word after the number', text: '4155552671 office', want: 'phone 0-10', reason: 'context:+office' },
    { note: 'a label line above', text: 'Phone:\n4155552671\n', want: 'phone 7-17', reason: 'context:+phone' },
    { note: 'a phone column', text: '4155552671', hint: 'home_phone', want: 'phone 0-10', reason: 'field:+name' },
    { note: 'an SSN word', text: 'SSN 536221234 on file', want: 'us_ssn 4-13', reason: 'context:+ssn' },
    { note: 'an IP word', text: 'client 203.0.113.7 ok', want: 'ipv4 7-18', reason: 'context:+client' },
  ];
  for (const c of cases) {
    test(c.note, () => {
      const ds = detect(c.text, c.hint ? { hint: c.hint } : {});
      assert.deepEqual(
        ds.map((d) => `${d.detector} ${d.start}-${d.end}`),
        [c.want],
      );
      assert.ok(ds[0]!.reasons?.includes(c.reason), `reasons ${JSON.stringify(ds[0]!.reasons)} include ${c.reason}`);
      assert.ok(ds[0]!.confidence >= DEFAULT_MIN_CONFIDENCE);
    });
  }
  test('the same bare digits without context are not reported', () => {
    assert.deepEqual(found('see 4155552671 later'), []);
  });
  test('judged per candidate: an order number beside a phone number on one line', () => {
    const text = 'order 4155552671, call me at (415) 555-2672';
    assert.deepEqual(found(text), ['phone 29-43']);
    assert.deepEqual(detect(text)[0]!.reasons, ['valid:US', 'shape:national-punctuated', 'context:+call']);
  });
  test('a full national number written as its country writes it needs no context', () => {
    const ds = detect('Ann Lee | Acme | 07400 123456');
    assert.deepEqual(
      ds.map((d) => [d.detector, d.start, d.end, d.reasons]),
      [['phone', 17, 29, ['valid:GB', 'shape:national-grouping']]],
    );
  });
});

describe('a country code libphonenumber calls invalid there is never a phone', () => {
  for (const [note, text, number] of [
    ['US area code starting with 0', 'call me on +1 055 555 0123', '+1 055 555 0123'],
    ['a UK number one digit short', 'phone: +44 20 7946 095', '+44 20 7946 095'],
    ['the same written with 00', 'phone: 0044 20 7946 095', '+44 20 7946 095'],
    ['a country code that does not exist', 'mobile +999 415 555 2671', '+999 415 555 2671'],
  ] as const) {
    test(note, () => {
      assert.equal(parsePhoneNumberFromString(number)?.isValid() ?? false, false, 'libphonenumber calls it invalid');
      assert.deepEqual(
        detect(text, { minConfidence: 0 }).filter((d) => d.detector === 'phone'),
        [],
        'not a phone even at minimum confidence 0 and with a phone word',
      );
    });
  }
  test('the valid number with the same country code is one', () => {
    const ds = detect('phone: +44 20 7946 0958');
    assert.deepEqual(
      ds.map((d) => [d.detector, d.start, d.end, d.reasons]),
      [['phone', 7, 23, ['valid:GB', 'shape:international', 'context:+phone']]],
    );
  });
});

test('reasons name checks and words, never a part of the value', () => {
  const texts = [
    'call 415-555-2671',
    'ssn 536-22-1234',
    'card 4111 1111 1111 1111',
    'from 203.0.113.7',
    'mail ann.lee@example.com',
    'imei 490154203237518',
    'idfa=38400000-8cf0-11bd-b23e-10b96e40000d',
    'born on 12/03/1985',
  ];
  let n = 0;
  for (const t of texts) {
    for (const d of detect(t)) {
      n++;
      assert.ok(d.reasons && d.reasons.length > 0, `${d.detector} has reasons`);
      for (const r of d.reasons) {
        assert.match(r, /^[a-z]+:[+-]?[a-z0-9:-]*$/i, `${d.detector}: a reason is a word, not text`);
        assert.ok(!/\d{3}/.test(r), `${d.detector}: no reason holds digits of the value`);
      }
    }
  }
  assert.equal(n, texts.length);
});

test('a CSV column named for another kind: its digit strings are not findings, its emails are; free text about orders is scanned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-context-'));
  try {
    const file = join(dir, 'export.csv');
    writeFileSync(file, 'order_id,home_phone,account,order_notes\n415-555-2671,415-555-2672,ann.lee@example.com,call 415-555-2673\n');
    const r = await scanFile(file);
    assert.deepEqual(
      r.findings.map((f) => `${f.detector} ${f.where.kind === 'file' ? f.where.field : ''} ${f.span.join('-')}`),
      ['phone home_phone 13-25', 'email account 26-45', 'phone order_notes 51-63'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
