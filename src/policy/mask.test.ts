// Masks keep a part that identifies nobody on its own, and refuse values of the wrong shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMask, maskKindOf } from './mask.js';

test('the mask of a category is that of its most specific masked ancestor', () => {
  assert.equal(maskKindOf(['user.contact.phone_number', 'user.contact', 'user']), 'last_two_digits');
  assert.equal(maskKindOf(['user.demographic.date_of_birth', 'user.demographic', 'user']), 'year');
  assert.equal(maskKindOf(['user.device.device_id', 'user.device', 'user']), undefined);
});

test('masks (synthetic values)', () => {
  const cases: [Parameters<typeof applyMask>[0], unknown, string | undefined][] = [
    ['last_two_digits', '+1 512 555 0142', '…42'],
    ['last_two_digits', '12', undefined],
    ['year', '1994-03-02', '1994'],
    ['year', 'March 1994', undefined],
    ['email_domain', 'someone@example.com', '…@example.com'],
    ['email_domain', 'no-at-sign', undefined],
    ['ip_prefix', '203.0.113.77', '203.0.113.0/24'],
    ['ip_prefix', '2001:db8::1', '2001:db8:0::/48'],
    ['ip_prefix', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:db8:85a3::/48'],
    ['ip_prefix', 'not an ip', undefined],
    ['year', { y: 1 }, undefined],
  ];
  for (const [kind, value, expected] of cases) assert.equal(applyMask(kind, value), expected, `${kind} ${JSON.stringify(value)}`);
});
