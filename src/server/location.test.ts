import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkLocation } from '../policy/index.js';
import { createLocationResolver, isLoopbackHost, normalizeAddress, reconcile } from './location.js';

const LOCATIONS: NetworkLocation[] = [
  { cidr: '10.20.0.0/16', country: 'DE', site: 'berlin' },
  { cidr: '10.20.5.0/24', country: 'DE', site: 'berlin-lab' },
  { cidr: '10.0.0.0/8', country: 'US', site: 'corp' },
  { cidr: '192.168.1.7/32', country: 'FR', site: 'paris-desk' },
  { cidr: '2001:db8:100::/48', country: 'IE', site: 'dublin' },
  { cidr: '2001:db8:100:42::/64', country: 'IE', site: 'dublin-soc' },
];
const PROXIES = ['172.16.0.0/12', 'fd00::/8'];
const r = createLocationResolver(LOCATIONS, { trustedProxies: PROXIES });

test('IPv4 peers are placed by CIDR', () => {
  assert.deepEqual(r.resolve('10.20.1.2', undefined), { country: 'DE', site: 'berlin', address: '10.20.1.2' });
  assert.deepEqual(r.resolve('10.99.0.1', undefined), { country: 'US', site: 'corp', address: '10.99.0.1' });
  assert.equal(r.resolve('192.168.1.7', undefined)?.site, 'paris-desk');
  assert.equal(r.resolve('192.168.1.8', undefined), undefined);
});

test('the most specific CIDR wins, whatever the order of the locations', () => {
  assert.equal(r.resolve('10.20.5.9', undefined)?.site, 'berlin-lab');
  assert.equal(r.resolve('2001:db8:100:42::1', undefined)?.site, 'dublin-soc');
  const reversed = createLocationResolver([...LOCATIONS].reverse());
  assert.equal(reversed.resolve('10.20.5.9', undefined)?.site, 'berlin-lab');
  assert.equal(reversed.resolve('10.20.6.9', undefined)?.site, 'berlin');
  assert.equal(reversed.resolve('10.21.0.1', undefined)?.site, 'corp');
});

test('IPv6 peers are placed by CIDR', () => {
  assert.deepEqual(r.resolve('2001:db8:100:1::5', undefined), { country: 'IE', site: 'dublin', address: '2001:db8:100:1::5' });
  assert.equal(r.resolve('2001:DB8:100:0:0:0:0:1', undefined)?.site, 'dublin');
  assert.equal(r.resolve('2001:db8:101::1', undefined), undefined);
  assert.equal(r.resolve('fe80::1%eth0', undefined), undefined);
});

test('IPv4-mapped IPv6 peers are placed as their IPv4 address', () => {
  assert.deepEqual(r.resolve('::ffff:10.20.1.2', undefined), { country: 'DE', site: 'berlin', address: '10.20.1.2' });
  assert.deepEqual(r.resolve('::ffff:a14:102', undefined), { country: 'DE', site: 'berlin', address: '10.20.1.2' });
  assert.equal(r.resolve('0:0:0:0:0:ffff:10.20.5.1', undefined)?.site, 'berlin-lab');
  // Not mapped: ::10.20.1.2 (IPv4-compatible, deprecated) and 64:ff9b::/96 are other addresses.
  assert.equal(r.resolve('::10.20.1.2', undefined), undefined);
  assert.equal(r.resolve('64:ff9b::10.20.1.2', undefined), undefined);
});

test('mapped CIDRs and mapped proxies work too', () => {
  const m = createLocationResolver([{ cidr: '::ffff:10.20.0.0/112', country: 'DE', site: 'berlin' }], { trustedProxies: ['::ffff:172.16.0.1'] });
  assert.equal(m.resolve('10.20.3.4', undefined)?.site, 'berlin');
  assert.equal(m.resolve('::ffff:10.20.3.4', undefined)?.site, 'berlin');
  assert.equal(m.resolve('172.16.0.1', '10.20.3.4')?.site, 'berlin');
});

test('unknown and unparseable addresses resolve to undefined', () => {
  assert.equal(r.resolve('8.8.8.8', undefined), undefined);
  assert.equal(r.resolve('2a00::1', undefined), undefined);
  assert.equal(r.resolve('', undefined), undefined);
  assert.equal(r.resolve('not-an-ip', undefined), undefined);
  assert.equal(createLocationResolver([]).resolve('10.20.1.2', undefined), undefined);
});

test('X-Forwarded-For from an untrusted peer is ignored', () => {
  // A client outside claims to be inside.
  assert.equal(r.resolve('8.8.8.8', '10.20.1.2'), undefined);
  // A client inside cannot pretend to be elsewhere either: its own address counts.
  assert.equal(r.resolve('10.20.1.2', '192.168.1.7')?.site, 'berlin');
  // With no trusted proxies configured, never.
  assert.equal(createLocationResolver(LOCATIONS).resolve('172.16.0.1', '10.20.1.2'), undefined);
});

test('X-Forwarded-For from a trusted proxy is honoured', () => {
  assert.deepEqual(r.resolve('172.16.0.1', '10.20.1.2'), { country: 'DE', site: 'berlin', address: '10.20.1.2' });
  assert.equal(r.resolve('::ffff:172.16.0.1', '10.20.1.2')?.site, 'berlin');
  assert.equal(r.resolve('fd00::1', '2001:db8:100:42::9')?.site, 'dublin-soc');
  assert.equal(r.resolve('172.16.0.1', ' ::ffff:10.20.5.5 ')?.site, 'berlin-lab');
  assert.equal(r.resolve('172.16.0.1', '10.20.1.2:53211')?.address, '10.20.1.2');
  assert.equal(r.resolve('172.16.0.1', '[2001:db8:100::7]:443')?.site, 'dublin');
  // The proxy added no header: it is the client itself (it is in no location here).
  assert.equal(r.resolve('172.16.0.1', undefined), undefined);
  assert.equal(r.resolve('172.16.0.1', ''), undefined);
});

test('through several proxies, the first untrusted address from the right is the client', () => {
  // The client forged a leftmost entry; the trusted proxies appended the real one.
  assert.equal(r.resolve('172.16.0.1', '192.168.1.7, 10.20.1.2, 172.16.0.9, 172.20.1.1')?.site, 'berlin');
  assert.equal(r.resolve('172.16.0.1', '192.168.1.7, 8.8.8.8, 172.16.0.9'), undefined);
  assert.equal(r.resolve('fd00::2', '10.99.0.1,fd00::3,172.16.0.2')?.site, 'corp');
  // Every hop trusted: the leftmost one is the origin.
  const dc = createLocationResolver([...LOCATIONS, { cidr: '172.16.0.0/12', country: 'DE', site: 'dc' }], { trustedProxies: PROXIES });
  assert.deepEqual(dc.resolve('172.16.0.1', '172.16.0.5, 172.16.0.9'), { country: 'DE', site: 'dc', address: '172.16.0.5' });
  assert.equal(dc.resolve('172.16.0.1', '10.20.1.2, 172.16.0.9')?.site, 'berlin');
  // An entry that is not an address where the client should be places the request nowhere.
  assert.equal(r.resolve('172.16.0.1', '10.20.1.2, garbage, 172.16.0.9'), undefined);
  assert.equal(r.resolve('172.16.0.1', 'unknown'), undefined);
});

test('bad CIDRs in the configuration are refused', () => {
  for (const cidr of ['10.0.0.0/33', '10.0.0/8', '2001:db8::/129', 'x/8', '10.0.0.0/8/8', '10.0.0.0/-1']) {
    assert.throws(() => createLocationResolver([{ cidr, country: 'DE', site: 'x' }]), TypeError, cidr);
  }
  assert.throws(() => createLocationResolver([], { trustedProxies: ['proxy.example'] }), TypeError);
});

test('normalizeAddress', () => {
  assert.equal(normalizeAddress('::ffff:10.20.1.2'), '10.20.1.2');
  assert.equal(normalizeAddress('::FFFF:0a14:0102'), '10.20.1.2');
  assert.equal(normalizeAddress('[::1]:80'), '::1');
  assert.equal(normalizeAddress('1.2.3.4:80'), '1.2.3.4');
  assert.equal(normalizeAddress('1.2.3'), undefined);
});

const BERLIN = { country: 'DE', site: 'berlin', address: '10.20.1.2' };

test('reconcile: a token location that agrees keeps the network location', () => {
  assert.deepEqual(reconcile(BERLIN, undefined), { country: 'DE', site: 'berlin', mismatch: false });
  assert.deepEqual(reconcile(BERLIN, { country: 'DE', site: 'berlin' }), { country: 'DE', site: 'berlin', mismatch: false });
  assert.deepEqual(reconcile(BERLIN, { country: 'DE' }), { country: 'DE', site: 'berlin', mismatch: false });
  assert.deepEqual(r.reconcile(BERLIN, {}), { country: 'DE', site: 'berlin', mismatch: false });
});

test('reconcile: a token location that disagrees makes the place unknown', () => {
  assert.deepEqual(reconcile(BERLIN, { country: 'US', site: 'berlin' }), { country: 'unknown', site: 'unknown', mismatch: true });
  assert.deepEqual(reconcile(BERLIN, { country: 'DE', site: 'munich' }), { country: 'unknown', site: 'unknown', mismatch: true });
  assert.deepEqual(reconcile(BERLIN, { site: 'munich' }), { country: 'unknown', site: 'unknown', mismatch: true });
});

test('reconcile: no network location is unknown, whatever the token says', () => {
  assert.deepEqual(reconcile(undefined, undefined), { country: 'unknown', site: 'unknown', mismatch: false });
  assert.deepEqual(reconcile(undefined, { country: 'DE', site: 'berlin' }), { country: 'unknown', site: 'unknown', mismatch: false });
  assert.deepEqual(reconcile(r.resolve('8.8.8.8', undefined), { country: 'DE', site: 'berlin' }).country, 'unknown');
});

test('loopback hosts: localhost, 127.0.0.0/8 and ::1 (however written); wildcards and other addresses are not', () => {
  const cases: [string, boolean, string][] = [
    ['127.0.0.1', true, 'the default --host'],
    ['127.8.9.10', true, 'all of 127.0.0.0/8'],
    ['localhost', true, 'the name'],
    ['LOCALHOST', true, 'names are case-insensitive'],
    ['::1', true, 'IPv6 loopback'],
    ['[::1]', true, 'bracketed'],
    ['0:0:0:0:0:0:0:1', true, 'IPv6 loopback written out'],
    ['::ffff:127.0.0.1', true, 'IPv4-mapped loopback'],
    ['0.0.0.0', false, 'the IPv4 wildcard listens on every interface'],
    ['::', false, 'the IPv6 wildcard'],
    ['10.20.0.5', false, "a private address is still another host's to reach"],
    ['128.0.0.1', false, 'just outside 127/8'],
    ['::2', false, 'not ::1'],
    ['localhost.example.com', false, 'a name that only starts like localhost'],
    ['myhost', false, 'any other name'],
    ['', false, 'nothing'],
  ];
  for (const [host, loopback, note] of cases) assert.equal(isLoopbackHost(host), loopback, `${JSON.stringify(host)}: ${note}`);
});
