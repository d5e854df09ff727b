// Attacks on the regional gateways (issue 25) by a principal holding a valid token, from any place:
// what a redirect, its Location, `elsewhere` counts, a token's region tag or an error tells; whether a
// gateway can be made to read or write another region's store, log a write it did not make, or send
// a caller round in circles; the broker's routes for another region's subject; bad input. Three
// regional gateways in one process on one PostgreSQL (the setup of test/regions.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import postgres from 'postgres';
import type { Policy } from '../src/policy/index.js';
import type { CordonServer } from '../src/server/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { REGIONS, startRegions, type Region, type Regions } from './helpers/regions.js';
import { tempDir } from './helpers/temp.js';
import { cordonAsync } from './helpers/cli.js';
import { regionSetup, type RegionFlags } from '../src/cli/region.js';
import { UsageError } from '../src/cli/output.js';

let regions: Regions;
let policy: Policy;
let urls: Readonly<Record<string, string>>;
let servers: Readonly<Record<Region, CordonServer>>;
let bases: Readonly<Record<Region, string>>;
/** Headers for `id`: its bearer token and X-Forwarded-For of its site, or of `place` (a site of the network map). */
let sign: Regions['sign'];
let call: Regions['call'];

before(async () => {
  regions = await startRegions('a');
  ({ policy, urls, servers, bases, sign, call } = regions);
  // A user of each region made for these attacks (public fields only), and a video of the EU one.
  const user = (uid: string, country: string) => ({ uid, username: uid.replace(/-/g, '_'), bio: 'b', country, created_at: '2024-05-01T00:00:00Z' });
  await servers.us.placement.write('users', 'atk-us-1', user('atk-us-1', 'US'), 'create');
  await servers.eu.placement.write('users', 'atk-eu-1', user('atk-eu-1', 'FR'), 'create');
  await servers.eu.placement.write('videos', 'atk-v-eu-1', { id: 'atk-v-eu-1', owner_uid: 'atk-eu-1', visibility: 'public', caption: 'c' }, 'create');
  await servers.us.placement.write('videos', 'atk-v-us-1', { id: 'atk-v-us-1', owner_uid: 'atk-us-1', visibility: 'public', caption: 'c' }, 'create');
});

after(async () => regions?.close());

/** Every log's size and every row of every store, to show that a request changed nothing anywhere. */
async function snapshot(): Promise<string> {
  const rows: string[] = [];
  for (const db of Object.keys(urls)) {
    const sql = postgres(urls[db]!, { max: 1, onnotice: () => {} });
    try {
      for (const t of ['users', 'videos', 'comments']) {
        const r = await sql.unsafe(`SELECT * FROM ds_${t} ORDER BY 1`);
        rows.push(`${db}.${t}:${JSON.stringify(r)}`);
      }
    } finally {
      await sql.end({ timeout: 5 });
    }
  }
  return JSON.stringify({ logs: REGIONS.map((r) => servers[r].log.size()), rows });
}

/** The token `as` gets for a users record at `region`'s gateway (from that region's list, filtered by username). */
async function tokenAt(region: Region, as: string, username: string): Promise<string> {
  const r = await call(bases[region], `/v1/data/users?filter.username=${username}`, as);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const items = r.json['items'] as { key: string }[];
  assert.equal(items.length, 1);
  return items[0]!.key;
}

test("a clear key of another region is no oracle: a caller who may not see that region's keys in clear gets the 404 of a key no record has", async () => {
  // austin-engineer sees US and ROW uids in clear, EU uids only as tokens: on one gateway, the clear
  // key demo-eu-1 from it is answered as a key no record has.
  const before = await snapshot();
  for (const region of ['us', 'global'] as const) {
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const body = method === 'PATCH' ? { bio: 'x' } : undefined;
      const none = await call(bases[region], '/v1/data/users/no-such-user', 'austin-engineer', { method, body });
      const eu = await call(bases[region], '/v1/data/users/demo-eu-1', 'austin-engineer', { method, body });
      assert.equal(none.status, 404, `${method} of a key no record has at ${region}`);
      assert.equal(eu.status, none.status, `${method} of an EU key at ${region}: ${eu.status} ${eu.headers.get('location') ?? ''}`);
      assert.equal(eu.headers.get('location'), null);
      assert.deepEqual(eu.json, none.json);
    }
  }
  // A reference by clear key to another region's subject: as a subject that does not exist.
  const video = (owner: string) => ({ id: 'atk-v-new-1', owner_uid: owner, visibility: 'public', caption: 'c' });
  const none = await call(bases.us, '/v1/data/videos', 'austin-engineer', { method: 'POST', body: video('no-such-user') });
  const eu = await call(bases.us, '/v1/data/videos', 'austin-engineer', { method: 'POST', body: video('demo-eu-1') });
  assert.equal(none.status, 422);
  assert.equal(eu.status, none.status, `a video of an EU owner named in clear: ${eu.status}`);
  assert.equal(eu.json['code'], none.json['code']);
  assert.equal(await snapshot(), before, 'nothing was written or logged');
  // Where the caller does see the key in clear, the redirect is the answer (a US key asked in the EU).
  const us = await call(bases.eu, '/v1/data/users/demo-us-1', 'austin-engineer');
  assert.equal(us.status, 307);
  assert.equal(us.headers.get('location'), `${bases.us}/v1/data/users/demo-us-1`);
});

test("a gateway's own token that opens to another region's key (a list cursor) is not sent to a region that cannot open it", async () => {
  // The US list's cursor is the US gateway's token of the page's last key, whichever region holds it.
  const page = await call(bases.us, '/v1/data/users?limit=1', 'austin-engineer');
  assert.equal(page.status, 200);
  const next = page.json['next'] as string;
  assert.match(next, /^tok_us\./);
  assert.deepEqual(page.json['items'], []);
  assert.deepEqual(page.json['elsewhere'], { eu: 1 }, 'atk-eu-1, the first key');
  // As a record key: the US gateway opens it to atk-eu-1, an EU record; a redirect to the EU would
  // come straight back (tok_us is the US's), so a caller would go round for ever.
  const r = await call(bases.us, `/v1/data/users/${next}`, 'austin-engineer');
  assert.notEqual(r.status, 307, `redirected to ${r.headers.get('location')}`);
  assert.equal(r.status, 404);
  const back = await call(bases.eu, `/v1/data/users/${next}`, 'austin-engineer');
  assert.equal(back.headers.get('location'), `${bases.us}/v1/data/users/${next}`, 'the EU sends a tok_us token to the US');
  // As a reference in a write (a video's owner): the US opened it to the EU's key and sent the create
  // to the EU, which cannot open tok_us and sent it back. It names no subject the US may use.
  const before = await snapshot();
  const v = await call(bases.us, '/v1/data/videos', 'austin-engineer', {
    method: 'POST',
    body: { id: 'atk-v-new-3', owner_uid: next, visibility: 'public', caption: 'c' },
  });
  assert.equal(v.status, 422, `${v.status} ${v.headers.get('location') ?? ''}`);
  assert.equal(v.json['code'], 'gateway.unknown_subject');
  const p = await call(bases.us, '/v1/data/videos/atk-v-us-1', 'austin-engineer', { method: 'PATCH', body: { owner_uid: next } });
  assert.equal(p.status, 422, `${p.status} ${p.headers.get('location') ?? ''}`);
  assert.equal(await snapshot(), before, 'nothing was written or logged');
  // As the cursor it is, it still pages on at the US gateway.
  const more = await call(bases.us, `/v1/data/users?limit=50&after=${next}`, 'austin-engineer');
  assert.equal(more.status, 200);
  assert.ok((more.json['items'] as { key: string }[]).some((i) => i.key === 'demo-us-1'));
});

test('a write that would give a record of this region a subject of another region is refused (409), not redirected round in circles', async () => {
  const euToken = await tokenAt('eu', 'austin-engineer', 'atk_eu_1');
  assert.match(euToken, /^tok_eu\./);
  const before = await snapshot();
  // The video is the US's; its new owner would make it the EU's: a move across regions.
  const r = await call(bases.us, '/v1/data/videos/atk-v-us-1', 'austin-engineer', { method: 'PATCH', body: { owner_uid: euToken } });
  assert.equal(r.status, 409, `${r.status} ${r.headers.get('location') ?? ''}`);
  assert.equal(r.json['code'], 'gateway.cross_region_move');
  // The same with the EU's clear key, from a caller who sees it in clear nowhere near the EU: as an unknown subject.
  const clear = await call(bases.us, '/v1/data/videos/atk-v-us-1', 'austin-engineer', { method: 'PATCH', body: { owner_uid: 'atk-eu-1' } });
  assert.equal(clear.status, 422, `${clear.status} ${clear.headers.get('location') ?? ''}`);
  // A comment of the EU region's author on a US video is the EU's to create: redirected with its body.
  const comment = { id: 'atk-c-1', video_id: 'atk-v-us-1', author_uid: euToken, body: 'hi', created_at: '2024-05-02T00:00:00Z' };
  const c = await call(bases.us, '/v1/data/comments', 'austin-engineer', { method: 'POST', body: comment });
  assert.equal(c.status, 307);
  assert.equal(c.headers.get('location'), `${bases.eu}/v1/data/comments`);
  assert.equal(await snapshot(), before, 'nothing was written or logged');
});

test('an X-Cordon-On-Behalf-Of token of another region names nobody here: the write is judged as without it, not redirected', async () => {
  const euToken = await tokenAt('eu', 'austin-engineer', 'atk_eu_1');
  const plain = await call(bases.us, '/v1/data/users/atk-us-1', 'austin-engineer', { method: 'PATCH', body: { bio: 'one' } });
  assert.equal(plain.status, 200);
  const sizeBefore = servers.us.log.size();
  const r = await call(bases.us, '/v1/data/users/atk-us-1', 'austin-engineer', {
    method: 'PATCH',
    body: { bio: 'two' },
    headers: { 'x-cordon-on-behalf-of': euToken },
  });
  assert.equal(r.status, 200, `${r.status} ${r.headers.get('location') ?? ''}`);
  assert.equal(servers.us.log.size(), sizeBefore + 1, 'the write is logged once');
  assert.equal((await servers.us.placement.read('users', 'atk-us-1'))?.values['bio'], 'two');
});

test("the broker: a subject of another region named in clear is no oracle, and a request's subjects of two regions are not sent round", async () => {
  const request = (subjects: string[]) => ({
    datasets: ['users'],
    categories: ['user.contact'],
    subjects,
    reason: 'USER_SUPPORT',
    ticket: 'SUP-1',
    duration: '1h',
  });
  const before = await snapshot();
  const none = await call(bases.us, '/v1/access/requests', 'austin-engineer', { method: 'POST', body: request(['no-such-user']) });
  const eu = await call(bases.us, '/v1/access/requests', 'austin-engineer', { method: 'POST', body: request(['demo-eu-1']) });
  assert.equal(none.status, 400);
  assert.equal(eu.status, none.status, `${eu.status} ${eu.headers.get('location') ?? ''}`);
  assert.deepEqual(eu.json, none.json);
  // A scope of a US and an EU subject (legacy-admin names both in clear) asked at either region was
  // sent to the other one, which sent it back. Each region grants on its own subjects only.
  for (const region of ['us', 'eu'] as const) {
    const both = await call(bases[region], '/v1/access/requests', 'legacy-admin', { method: 'POST', body: request(['demo-us-1', 'demo-eu-1']) });
    assert.equal(both.status, 400, `${region}: ${both.status} ${both.headers.get('location') ?? ''}`);
    assert.equal(both.json['code'], none.json['code']);
  }
  assert.equal(await snapshot(), before, 'nothing was written or logged');
});

test('Location is the peer and the request path: no other host, no header injected by the path or query', async () => {
  const raw = async (target: string): Promise<string> => {
    const h = await sign('austin-engineer');
    const port = Number(new URL(bases.global).port);
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(
          `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${h['authorization']}\r\nX-Forwarded-For: ${h['x-forwarded-for']}\r\nConnection: close\r\n\r\n`,
        );
      });
      let out = '';
      s.setEncoding('latin1');
      s.on('data', (d) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  };
  const headOf = (res: string) => res.slice(0, res.indexOf('\r\n\r\n')).split('\r\n');
  const locationOf = (res: string) =>
    headOf(res)
      .find((l) => /^location:/i.test(l))
      ?.slice('location:'.length)
      .trim();
  // Absolute-form request targets name another host: never echoed as the redirect's host.
  for (const target of ['http://evil.example/v1/data/users/demo-us-1', 'HTTP://a@evil.example:1/v1/data/users/demo-us-1']) {
    const res = await raw(target);
    const location = locationOf(res);
    assert.match(headOf(res)[0]!, /^HTTP\/1\.1 307 /, target);
    assert.ok(location?.startsWith(`${bases.us}/`), `${target}: Location ${location}`);
    assert.equal(new URL(location!).host, new URL(bases.us).host, `${target}: Location ${location}`);
  }
  // A path that begins with two slashes names no route here (and would stay on the peer's host).
  const slashes = await raw('//evil.example/v1/data/users/demo-us-1');
  const slashed = locationOf(slashes);
  if (slashed !== undefined) assert.equal(new URL(slashed).host, new URL(bases.us).host, slashed);
  // Encoded CR LF, quotes and angle brackets in the path and query stay encoded in one Location line.
  const target = '/v1/data/users/demo-us-1?x=%0d%0aSet-Cookie:%20a=b&y=%22%3Cscript%3E';
  const res = await raw(target);
  assert.match(headOf(res)[0]!, /^HTTP\/1\.1 (307|400) /);
  assert.ok(!headOf(res).some((l) => /^set-cookie:/i.test(l)), 'no header injected');
  if (headOf(res)[0]!.includes('307')) assert.equal(locationOf(res), `${bases.us}${target}`);
  // Bytes outside ASCII in the path: a 4xx or a redirect, never a 500.
  const latin = await raw('/v1/data/users/demo-us-\u00e9');
  assert.doesNotMatch(headOf(latin)[0]!, / 5\d\d /, headOf(latin)[0]);
});

test("lists and the egress feed: another region's records are counted, never listed, and filters stay no oracle", async () => {
  const before = await snapshot();
  // A filter on a protected field is refused before anything is read, at every region, with no counts.
  for (const r of REGIONS) {
    const refused = await call(bases[r], '/v1/data/users?filter.phone_number=1', 'austin-engineer');
    assert.equal(refused.status, 403);
    assert.equal(refused.json['code'], 'gateway.filter_refused');
    assert.equal('elsewhere' in refused.json, false);
  }
  // A filter on a public field: the US lists no EU record, counts it under the EU.
  const de = await call(bases.us, '/v1/data/users?filter.country=DE', 'austin-engineer');
  assert.deepEqual(de.json['items'], []);
  assert.deepEqual(de.json['elsewhere'], { eu: 1 });
  // The EU gateway's cursor is the EU's token: the US sends the list there, query and all.
  const euPage = await call(bases.eu, '/v1/data/users?limit=1', 'austin-engineer');
  const cursor = euPage.json['next'] as string;
  assert.match(cursor, /^tok_eu\./);
  const there = await call(bases.us, `/v1/data/users?limit=1&after=${cursor}`, 'austin-engineer');
  assert.equal(there.status, 307);
  assert.equal(there.headers.get('location'), `${bases.eu}/v1/data/users?limit=1&after=${cursor}`);
  // The egress feed of videos at the US: the EU's video is counted, not listed, and its key is in no item.
  const feed = await call(bases.us, '/v1/egress/videos?limit=500', 'austin-engineer');
  assert.equal(feed.status, 200);
  const items = feed.json['items'] as { key: string }[];
  assert.ok(items.some((i) => i.key === 'atk-v-us-1'));
  assert.ok(!items.some((i) => i.key === 'atk-v-eu-1'));
  assert.ok(((feed.json['elsewhere'] as Record<string, number>)['eu'] ?? 0) >= 1);
  // The EU's own feed lists it.
  const euFeed = await call(bases.eu, '/v1/egress/videos?limit=500', 'austin-engineer');
  assert.ok((euFeed.json['items'] as { key: string }[]).some((i) => i.key === 'atk-v-eu-1'));
  // Logs grew by the reads made at each region only; no store changed.
  const after = JSON.parse(await snapshot()) as { rows: string[] };
  assert.deepEqual(after.rows, (JSON.parse(before) as { rows: string[] }).rows);
});

test('a create redirected to another region writes and logs nothing here, and a create for this region with a made-up region token is refused as bad input', async () => {
  const euToken = await tokenAt('eu', 'austin-engineer', 'atk_eu_1');
  const before = await snapshot();
  const v = await call(bases.us, '/v1/data/videos', 'austin-engineer', {
    method: 'POST',
    body: { id: 'atk-v-new-2', owner_uid: euToken, visibility: 'private', caption: 'c' },
  });
  assert.equal(v.status, 307);
  assert.equal(v.headers.get('location'), `${bases.eu}/v1/data/videos`);
  // Keys that look like another region's tokens are refused as keys (they would be sent there).
  const u = await call(bases.us, '/v1/data/users', 'austin-engineer', {
    method: 'POST',
    body: { uid: 'tok_eu.AAAA', username: 'x', bio: 'b', country: 'US', created_at: '2024-05-01T00:00:00Z' },
  });
  assert.equal(u.status, 400);
  // A made-up token naming a region is redirected there (it names the region the caller chose, nothing
  // more); one naming no region, or an empty body, is a key no record has.
  const made = await call(
    bases.us,
    '/v1/data/users/tok_eu.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'us-analyst',
  );
  assert.equal(made.status, 307);
  for (const t of ['tok_mars.AAAA', 'tok_us.', 'tok_.AAAA', 'tok_eu']) assert.equal((await call(bases.us, `/v1/data/users/${t}`, 'us-analyst')).status, 404, t);
  assert.equal(await snapshot(), before, 'nothing was written or logged');
});

test('cordon up --region: more bad peers and regions are usage errors naming them, and nothing is created', async () => {
  const cases: [Partial<RegionFlags>, RegExp][] = [
    [{ region: '' }, /^--region "" is not an enclave/],
    [{ region: 'us', peer: ['eu=http://a', 'eu=http://b'] }, /^--peer eu is given twice/],
    [{ region: 'us', peer: ['=http://10.0.0.1'] }, /^--peer must be REGION=URL/],
    [{ region: 'us', peer: ['eu='] }, /^--peer must be REGION=URL/],
    [{ region: 'us', peer: ['eu=http://a\r\nSet-Cookie: x'] }, /^--peer must be REGION=URL/],
    [{ region: 'us', peer: ['eu=http://a b'] }, /^--peer must be REGION=URL/],
    [{ region: 'us', peer: ['__proto__=http://a'] }, /^--peer __proto__: not an enclave/],
    [{ region: 'us', peer: ['toString=http://a'] }, /^--peer toString: not an enclave/],
    [{ region: 'us', store: ['mars=postgres://a@127.0.0.1:1/x'] }, /mars/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(
      () => regionSetup({ peer: [], store: [], ...flags }, policy),
      (err: unknown) => err instanceof UsageError && message.test(err.message),
      JSON.stringify(flags),
    );
  }
  // And through the command: exit 2, the message on stderr, no data directory.
  const dataDir = join(tempDir('cordon-attack-flags-'), 'data');
  const idp = ['--issuer', 'http://127.0.0.1:9', '--audience', 'https://cordon.example.com', '--port', '0'];
  const r = await cordonAsync([
    'up',
    '--policy',
    DEMO_POLICY,
    '--data-dir',
    dataDir,
    ...idp,
    '--region',
    'us',
    '--peer',
    'eu=http://a',
    '--peer',
    'eu=http://b',
  ]);
  assert.equal(r.stderr, 'cordon: --peer eu is given twice\n');
  assert.equal(r.status, 2);
  assert.equal(existsSync(dataDir), false);
});

test("the broker's lists: a request whose subject has since become another region's (deleted, then made again there) still lists here", async () => {
  const user = (country: string) => ({ uid: 'atk-mv-1', username: 'atk_mv_1', bio: 'b', country, created_at: '2024-05-01T00:00:00Z' });
  await servers.us.placement.write('users', 'atk-mv-1', user('US'), 'create');
  const made = await call(bases.us, '/v1/access/requests', 'austin-engineer', {
    method: 'POST',
    body: { datasets: ['users'], categories: ['user.contact'], subjects: ['atk-mv-1'], reason: 'USER_SUPPORT', ticket: 'SUP-2', duration: '1h' },
  });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  // The subject is deleted in the US and a record of that key is made in the EU.
  assert.ok(await servers.us.placement.remove('users', 'atk-mv-1'));
  await servers.eu.placement.write('users', 'atk-mv-1', user('FR'), 'create');
  // The US broker's lists sent everyone to the EU (which has no such request) from then on.
  for (const path of ['/v1/access/requests', `/v1/access/requests/${String(made.json['id'])}`]) {
    const r = await call(bases.us, path, 'austin-engineer');
    assert.equal(r.status, 200, `${path}: ${r.status} ${r.headers.get('location') ?? ''}`);
  }
  const one = await call(bases.us, `/v1/access/requests/${String(made.json['id'])}`, 'austin-engineer');
  const subjects = (one.json['scope'] as { subjects: string[] }).subjects;
  // No longer a US record: its key goes out as the caller's token (it sees EU keys only so).
  assert.equal(subjects.length, 1);
  assert.match(subjects[0]!, /^tok_us\./);
});

test("the egress feed: another region's deletes are counted under it, not listed with this region's token of their key", async () => {
  const feedAt = async (region: Region, after: number) => {
    const r = await call(bases[region], `/v1/egress/users?limit=500&after=${after}`, 'austin-engineer');
    assert.equal(r.status, 200);
    return {
      items: r.json['items'] as { seq: number; key: string; deleted?: boolean }[],
      elsewhere: (r.json['elsewhere'] as Record<string, number> | undefined) ?? {},
      next: r.json['next'] as number,
    };
  };
  const start = async (region: Region) => {
    let after = 0;
    for (;;) {
      const page = await feedAt(region, after);
      if (page.next === after) return after;
      after = page.next;
    }
  };
  const [usFrom, euFrom] = [await start('us'), await start('eu')];
  const user = { uid: 'atk-del-eu-1', username: 'atk_del_eu_1', bio: 'b', country: 'NL', created_at: '2024-05-01T00:00:00Z' };
  await servers.eu.placement.write('users', 'atk-del-eu-1', user, 'create');
  assert.ok(await servers.eu.placement.remove('users', 'atk-del-eu-1'));
  // The EU's feed lists both changes (the record is gone: both as deleted, by the EU's token).
  const eu = await feedAt('eu', euFrom);
  assert.equal(eu.items.length, 2);
  assert.ok(eu.items.every((i) => i.deleted === true && i.key.startsWith('tok_eu.')));
  // The US's lists neither: they are the EU's to disclose, counted under it.
  const us = await feedAt('us', usFrom);
  assert.deepEqual(
    us.items.map((i) => i.key.slice(0, 7)),
    [],
    'the US feed lists the EU record, by a US token of its key',
  );
  assert.deepEqual(us.elsewhere, { eu: 2 });
});
