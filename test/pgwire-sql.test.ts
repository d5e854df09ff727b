// The SQL the wire gateway answers, against what the HTTP gateway gives the same persona: WHERE with
// AND/OR/NOT, IN, IS NULL, LIKE/ILIKE and comparisons, ORDER BY and OFFSET, count() and GROUP BY,
// and joins on a reference, each compared cell by cell (by hash: protected values are never
// printed) with the HTTP list (and, for a join, the HTTP read of each referenced record by the value
// the list showed), and the access log holding one record per row and dataset sent, no more. Then
// the attacks: a protected column in any part of a query is 42501 with nothing read or logged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadPolicy } from '../src/policy/index.js';
import { seedDemoWorld, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { proxyV2Header } from '../src/pgwire/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { FROM, startWireServer } from './helpers/pgwire-server.js';
import {
  bindMessage,
  cellsOf,
  describePortal,
  executeMessage,
  fieldsOf,
  parseMessage,
  queryMessage,
  RawPg,
  syncMessage,
  type BackendMessage,
} from './helpers/pg-raw.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const PERSONAS = Object.keys(FROM);

type Json = Record<string, unknown>;
interface Item {
  readonly key: string;
  readonly fields: Json;
}

let server: CordonServer;
let issuer: DemoIssuer;
let port: number;
/** The HTTP list of each dataset, per persona (all pages), and the HTTP read of a record by the key the persona was shown. */
const lists = new Map<string, Map<string, Item[]>>();
const sessions = new Map<string, RawPg>();
/** The dataset of every record decision made (the decider is watched: a row a condition rejects must not be decided). */
const decisions: string[] = [];

async function http(persona: string, url: string): Promise<{ status: number; body: Json }> {
  const res = await server.app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${await issuer.sign(persona)}`, 'x-forwarded-for': FROM[persona]! },
  });
  return { status: res.statusCode, body: res.json() as Json };
}
async function httpList(persona: string, dataset: string): Promise<Item[]> {
  const out: Item[] = [];
  let next: string | null = null;
  do {
    const r = await http(persona, `/v1/data/${dataset}?limit=500${next === null ? '' : `&after=${encodeURIComponent(next)}`}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...(r.body['items'] as Item[]));
    next = r.body['next'] as string | null;
  } while (next !== null);
  return out;
}
const readCache = new Map<string, Json | null>();
/** GET /v1/data/users/{shown}: the fields, or null when it names no record for this persona. */
async function httpRead(persona: string, dataset: string, shown: unknown): Promise<Json | null> {
  if (typeof shown !== 'string') return null;
  const id = `${persona} ${dataset} ${shown}`;
  if (!readCache.has(id)) {
    const r = await http(persona, `/v1/data/${dataset}/${encodeURIComponent(shown)}`);
    assert.ok(r.status === 200 || r.status === 404, `${id}: ${r.status}`);
    readCache.set(id, r.status === 200 ? (r.body['fields'] as Json) : null);
  }
  return readCache.get(id)!;
}

before(async () => {
  ({ server, issuer, port } = await startWireServer(policy, 'cordon-pgwire-sql-'));
  await seedDemoWorld(server.placement, { users: 30, videosPerUser: 2, commentsPerVideo: 0.5 });
  const decide = server.decider.decide.bind(server.decider);
  (server.decider as { decide: typeof decide }).decide = (req) => {
    decisions.push(req.dataset);
    return decide(req);
  };
  for (const p of PERSONAS) {
    lists.set(p, new Map(await Promise.all(['users', 'videos', 'comments'].map(async (d) => [d, await httpList(p, d)] as const))));
    const c = await RawPg.connect(port, proxyV2Header(FROM[p]!, 40000, '127.0.0.1', port));
    assert.equal((await c.login(p, await issuer.sign(p))).at(-1)?.type, 'Z');
    sessions.set(p, c);
  }
});
after(async () => {
  for (const c of sessions.values()) c.end();
  await server.close();
});

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);
/** A cell as the wire sends it (text format of its type): numbers as their text, booleans t/f, NULL null. */
const cell = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 't' : 'f') : String(v));
const hashed = (rows: readonly (readonly (string | null)[])[]) => rows.map((r) => r.map((c) => (c === null ? null : hash(c))));
const errorOf = (msgs: readonly BackendMessage[]) => {
  const e = msgs.find((m) => m.type === 'E');
  return e ? fieldsOf(e) : undefined;
};

interface Answer {
  readonly rows: (string | null)[][];
  readonly error: Record<string, string> | undefined;
  readonly notice: Record<string, string> | undefined;
  /** The read records logged while the query ran: [dataset, fields named (sorted)]. */
  readonly records: [string, string][];
  /** Entries of any kind logged while the query ran. */
  readonly logged: number;
  /** Records decided while the query ran, by dataset. */
  readonly decided: Map<string, number>;
}
async function ask(persona: string, sql: string, params?: (string | null)[]): Promise<Answer> {
  const c = sessions.get(persona)!;
  const size = server.log.size();
  decisions.length = 0;
  if (params === undefined) c.send(queryMessage(sql));
  else c.send(Buffer.concat([parseMessage(sql), bindMessage(params), describePortal(), executeMessage(), syncMessage()]));
  const msgs = await c.until('Z');
  const logged = (await server.log.records(size - 1, 100_000)).map((r) => r.record as Json);
  const notice = msgs.find((m) => m.type === 'N');
  return {
    rows: msgs.filter((m) => m.type === 'D').map(cellsOf),
    error: errorOf(msgs),
    notice: notice && fieldsOf(notice),
    records: logged
      .filter((r) => r['action'] === 'read')
      .map((r) => {
        assert.equal(r['principal'], persona);
        const names = (r['fields'] as { fields: Json }[]).flatMap((g) => Object.keys(g.fields)).sort();
        return [r['dataset'] as string, names.join(',')];
      }),
    logged: logged.length,
    decided: decisions.reduce((m, d) => m.set(d, (m.get(d) ?? 0) + 1), new Map<string, number>()),
  };
}
/**
 * The answer is exactly `want` (compared by hash), with one record per row decided (by default each
 * row sent; an aggregate's, each row counted) and dataset, naming `decided` of that dataset.
 */
function same(a: Answer, want: readonly (readonly (string | null)[])[], note: string, decided?: readonly [string, string][], rows = want.length): void {
  assert.equal(a.error, undefined, `${note}: ${JSON.stringify(a.error)}`);
  assert.deepEqual(hashed(a.rows), hashed(want), note);
  if (decided) {
    const expected = Array.from({ length: rows }, () => decided.map(([d, f]) => `${d}: ${f.split(',').sort().join(',')}`)).flat();
    const got = a.records.map(([d, f]) => `${d}: ${f}`);
    assert.equal(got.length, expected.length, `${note}: ${got.length} records, one per row decided and dataset (${expected.length})`);
    assert.deepEqual(got.sort(), expected.sort(), `${note}: each record names the columns decided`);
    // Only the rows recorded were decided: the listed dataset's exactly; a joined record read once per page however many rows name it.
    decided.forEach(([d], i) => {
      const n = a.decided.get(d) ?? 0;
      if (i === 0) assert.equal(n, rows, `${note}: ${n} ${d} records decided, ${rows} recorded`);
      else assert.ok(n <= rows && (rows === 0 || n > 0), `${note}: ${n} ${d} records decided for ${rows} rows`);
    });
    assert.deepEqual([...a.decided.keys()].sort(), rows === 0 ? [] : decided.map(([d]) => d).sort(), `${note}: no other dataset decided`);
  }
}
const by =
  (...keys: ((i: Item) => unknown)[]) =>
  (a: Item, b: Item): number => {
    for (const k of keys) {
      const [x, y] = [k(a), k(b)] as [string | number, string | number];
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
const f = (name: string) => (i: Item) => i.fields[name];
const pick = (items: readonly Item[], cols: readonly string[]) => items.map((i) => cols.map((c) => cell(i.fields[c])));

test('WHERE with AND, OR, NOT, IN, IS NULL, LIKE, ILIKE, <> and ranges: the rows of the HTTP list the same test keeps, one record each, none for the rows left out', async () => {
  const cases: [string, (i: Item) => boolean, (string | null)[]?][] = [
    [
      "WHERE country = 'DE' OR country = 'FR' OR username = 'lonestar_lens'",
      (i) => ['DE', 'FR'].includes(i.fields['country'] as string) || i.fields['username'] === 'lonestar_lens',
    ],
    [
      "WHERE country IN ('US', 'BR') AND NOT (username LIKE 's%')",
      (i) => ['US', 'BR'].includes(i.fields['country'] as string) && !(i.fields['username'] as string).startsWith('s'),
    ],
    [
      "WHERE bio IS NULL OR username ILIKE '%LENS%' OR bio LIKE '%c_ts%'",
      (i) => /lens/i.test(i.fields['username'] as string) || /c.ts/.test(i.fields['bio'] as string),
    ],
    [
      "WHERE country <> 'US' AND created_at >= '2023-01-01' AND bio IS NOT NULL",
      (i) => i.fields['country'] !== 'US' && (i.fields['created_at'] as string) >= '2023-01-01',
    ],
    [
      "WHERE username NOT IN ('lonestar_lens', 'rheinblick') AND country BETWEEN 'A' AND 'F'",
      (i) => !['lonestar_lens', 'rheinblick'].includes(i.fields['username'] as string) && (i.fields['country'] as string) <= 'F',
    ],
    ['WHERE country = $1 OR username LIKE $2', (i) => i.fields['country'] === 'IE' || (i.fields['username'] as string).endsWith('r'), ['IE', '%r']],
  ];
  const cols = ['uid', 'username', 'phone_number', 'country'];
  for (const persona of PERSONAS) {
    const users = lists.get(persona)!.get('users')!;
    for (const [where, keep, params] of cases) {
      const sql = `SELECT ${cols.join(', ')} FROM users ${where}`;
      const want = pick(users.filter(keep), cols);
      assert.ok(want.length > 0 && want.length < users.length, `${where}: a test that keeps some rows and leaves some out (${want.length} of ${users.length})`);
      const a = await ask(persona, sql, params);
      const decided = [...new Set([...cols, 'country', 'username', 'bio', 'created_at'].filter((c) => where.includes(c) || cols.includes(c)))].join(',');
      same(a, want, `${persona}: ${sql}`, [['users', decided]]);
    }
  }
  // A number column compared as a number (view_count is float8 on the wire), against the HTTP list of videos.
  for (const persona of PERSONAS) {
    const videos = lists.get(persona)!.get('videos')!;
    const want = pick(
      videos.filter((i) => (i.fields['view_count'] as number) > 100 && (i.fields['view_count'] as number) <= 500_000),
      ['id', 'caption', 'view_count'],
    );
    same(
      await ask(persona, 'SELECT id, caption, view_count FROM videos WHERE view_count > 100 AND NOT view_count > 500000'),
      want,
      `${persona}: view_count range`,
      [['videos', 'caption,id,view_count']],
    );
  }
});

test('ORDER BY any filterable column, ASC/DESC, NULLS FIRST/LAST, OFFSET: the HTTP list sorted the same way; rows OFFSET skips are not decided', async () => {
  for (const persona of PERSONAS) {
    const users = lists.get(persona)!.get('users')!;
    const videos = lists.get(persona)!.get('videos')!;
    const cols = ['username', 'country', 'email'];
    const byCountryDesc = [...users].sort((a, b) => by(f('country'))(b, a) || by(f('username'))(a, b));
    same(
      await ask(persona, 'SELECT username, country, email FROM users ORDER BY country DESC NULLS LAST, username LIMIT 10 OFFSET 5'),
      pick(byCountryDesc.slice(5, 15), cols),
      `${persona}: ORDER BY country DESC, username LIMIT 10 OFFSET 5`,
      [['users', 'country,email,username']],
    );
    same(
      await ask(persona, 'SELECT username AS who, created_at FROM users ORDER BY 2, who OFFSET 20'),
      pick([...users].sort(by(f('created_at'), f('username'))).slice(20), ['username', 'created_at']),
      `${persona}: ORDER BY position and alias, OFFSET`,
      [['users', 'created_at,username']],
    );
    // The key order streams; OFFSET and LIMIT on it.
    same(
      await ask(persona, 'SELECT id, visibility FROM videos ORDER BY id OFFSET 7 LIMIT 4'),
      pick([...videos].sort(by(f('id'))).slice(7, 11), ['id', 'visibility']),
      `${persona}: ORDER BY the key`,
      [['videos', 'id,visibility']],
    );
    same(
      await ask(persona, "SELECT id, view_count FROM videos WHERE visibility <> 'draft' ORDER BY view_count DESC, id DESC LIMIT 6"),
      pick(
        videos.filter((i) => i.fields['visibility'] !== 'draft').sort((a, b) => by(f('view_count'), f('id'))(b, a)),
        ['id', 'view_count'],
      ).slice(0, 6),
      `${persona}: ORDER BY a number DESC`,
      [['videos', 'id,view_count,visibility']],
    );
  }
  // NULLS FIRST/LAST on a column with NULLs (draft_body is protected: sorted on videos' created_at and a nullable... only public columns sort).
  const a = await ask('us-analyst', 'SELECT id FROM videos ORDER BY visibility NULLS FIRST, id DESC LIMIT 3 OFFSET 1');
  assert.equal(a.error, undefined);
  assert.equal(a.rows.length, 3);
  assert.equal(a.records.length, 3, 'only the rows sent are decided and recorded');
});

test('count(*), count(col) and GROUP BY on filterable columns: the HTTP list counted; each row counted is one record naming the grouped columns, only the counts go out', async () => {
  for (const persona of PERSONAS) {
    const users = lists.get(persona)!.get('users')!;
    const us = users.filter((i) => i.fields['country'] === 'US');
    let a = await ask(persona, "SELECT count(*) FROM users WHERE country = 'US'");
    same(a, [[String(us.length)]], `${persona}: count(*) WHERE country = 'US'`, [['users', 'country']], us.length);
    a = await ask(persona, 'SELECT count(*) AS n FROM users');
    same(a, [[String(users.length)]], `${persona}: a bare count(*) decides each row's key`, [['users', 'uid']], users.length);
    const counts = new Map<string, number>();
    for (const i of users) counts.set(i.fields['country'] as string, (counts.get(i.fields['country'] as string) ?? 0) + 1);
    const want = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([c, n]) => [c, String(n), String(n)]);
    a = await ask(persona, 'SELECT country, count(*), count(bio) FROM users GROUP BY country ORDER BY count(*) DESC, 1');
    same(a, want, `${persona}: GROUP BY country`, [['users', 'bio,country']], users.length);
    a = await ask(persona, "SELECT country, count(*) FROM users WHERE country LIKE 'D%' OR country = 'nowhere' GROUP BY 1 LIMIT 5 OFFSET 0");
    const d = want.filter(([c]) => c!.startsWith('D'));
    same(
      a,
      d.map((r) => [r[0]!, r[1]!]),
      `${persona}: GROUP BY with WHERE`,
      [['users', 'country']],
      users.filter((i) => (i.fields['country'] as string).startsWith('D')).length,
    );
    // No row: count(*) is 0, GROUP BY is no group; nothing decided or logged.
    a = await ask(persona, "SELECT count(*) FROM users WHERE country = 'XX'");
    same(a, [['0']], `${persona}: count of nothing`, [], 0);
    same(await ask(persona, "SELECT country, count(*) FROM users WHERE country = 'XX' GROUP BY country"), [], `${persona}: no group`, [], 0);
    assert.equal(a.logged, 0);
  }
  // The count's type is bigint (int8) on the wire, a group column its own.
  const c = sessions.get('us-analyst')!;
  c.send(
    Buffer.concat([
      parseMessage('SELECT visibility, count(*) FROM videos GROUP BY visibility'),
      bindMessage([]),
      describePortal(),
      executeMessage(),
      syncMessage(),
    ]),
  );
  const t = (await c.until('Z')).find((m) => m.type === 'T')!;
  assert.deepEqual(
    [t.body.readInt32BE(2 + 'visibility'.length + 1 + 6), t.body.readInt32BE(2 + 'visibility'.length + 1 + 18 + 'count'.length + 1 + 6)],
    [25, 20],
  );
});

test('joins on a reference, INNER and LEFT: each row is the listed record and the record its reference names, as the HTTP read of the value shown gives it; two records per row', async () => {
  for (const persona of PERSONAS) {
    const videos = lists.get(persona)!.get('videos')!;
    const comments = lists.get(persona)!.get('comments')!;
    // videos JOIN users: the videos listed, each owner read by the owner_uid shown (a token, or the key in clear).
    const want: (string | null)[][] = [];
    for (const v of [...videos].filter((i) => i.fields['visibility'] === 'public').sort(by(f('id')))) {
      const u = await httpRead(persona, 'users', v.fields['owner_uid']);
      if (u) want.push([cell(v.fields['id']), cell(v.fields['caption']), cell(u['username']), cell(u['phone_number']), cell(u['uid'])]);
    }
    assert.ok(want.length > 5, `${persona}: public videos with owners (${want.length})`);
    const a = await ask(
      persona,
      "SELECT v.id, v.caption, u.username, u.phone_number, u.uid FROM videos v JOIN users u ON v.owner_uid = u.uid WHERE v.visibility = 'public' ORDER BY v.id",
    );
    same(a, want, `${persona}: videos JOIN users`, [
      ['videos', 'caption,id,owner_uid,visibility'],
      ['users', 'phone_number,uid,username'],
    ]);
    if (persona !== 'austin-engineer') assert.match(a.notice?.['M'] ?? '', /users\.phone_number/, 'the notice names the withheld column with its table');

    // Written the other way round, with a condition on the referenced side: the same reads.
    const de: (string | null)[][] = [];
    for (const v of [...videos].sort(by(f('id')))) {
      const u = await httpRead(persona, 'users', v.fields['owner_uid']);
      if (u && ['DE', 'FR', 'IE'].includes(u['country'] as string)) de.push([cell(u['username']), cell(v.fields['id'])]);
    }
    same(
      await ask(persona, "SELECT users.username, videos.id FROM users JOIN videos ON videos.owner_uid = users.uid WHERE users.country IN ('DE', 'FR', 'IE')"),
      de,
      `${persona}: users JOIN videos WHERE on the users side`,
      [
        ['videos', 'id,owner_uid'],
        ['users', 'country,uid,username'],
      ],
    );

    // LEFT JOIN keeps every comment; comments JOIN videos on video_id (a column every persona filters on, holding videos' key).
    const left: (string | null)[][] = [];
    for (const cm of [...comments].sort(by(f('id')))) {
      const u = await httpRead(persona, 'users', cm.fields['author_uid']);
      left.push([cell(cm.fields['id']), cell(u?.['username']), cell(u?.['uid'])]);
    }
    same(
      await ask(persona, 'SELECT c.id, u.username, u.uid FROM comments c LEFT JOIN users u ON c.author_uid = u.uid'),
      left,
      `${persona}: comments LEFT JOIN users`,
      [
        ['comments', 'author_uid,id'],
        ['users', 'uid,username'],
      ],
    );
    // RIGHT JOIN written the other way round is the same LEFT JOIN, its columns in FROM's order.
    same(
      await ask(persona, 'SELECT u.uid, u.username, c.id FROM users u RIGHT JOIN comments c ON c.author_uid = u.uid'),
      left.map(([id, name, uid]) => [uid!, name!, id!]),
      `${persona}: users RIGHT JOIN comments`,
      [
        ['comments', 'author_uid,id'],
        ['users', 'uid,username'],
      ],
    );
    // More conditions in a LEFT JOIN's ON: the referenced record joins only where they hold (and only then is it recorded).
    const usOnly = await ask(persona, "SELECT c.id, u.username FROM comments c LEFT JOIN users u ON c.author_uid = u.uid AND u.country = 'US'");
    const us: (string | null)[][] = [];
    let joined = 0;
    for (const cm of [...comments].sort(by(f('id')))) {
      const u = await httpRead(persona, 'users', cm.fields['author_uid']);
      if (u?.['country'] === 'US') joined++;
      us.push([cell(cm.fields['id']), u?.['country'] === 'US' ? cell(u['username']) : null]);
    }
    assert.ok(joined > 0 && joined < comments.length, `${persona}: some comments by US users, not all (${joined})`);
    assert.deepEqual(hashed(usOnly.rows), hashed(us), `${persona}: LEFT JOIN … ON … AND`);
    assert.equal(usOnly.records.filter(([d]) => d === 'comments').length, comments.length);
    assert.equal(usOnly.records.filter(([d]) => d === 'users').length, joined, 'a record joined is recorded, one left NULL is not');
    const onVideo: (string | null)[][] = [];
    for (const cm of [...comments].sort(by(f('id')))) {
      const v = await httpRead(persona, 'videos', cm.fields['video_id']);
      if (v) onVideo.push([cell(cm.fields['id']), cell(v['visibility']), cell(v['view_count'])]);
    }
    same(
      await ask(persona, 'SELECT c.id, v.visibility, v.view_count FROM comments c JOIN videos v ON c.video_id = v.id'),
      onVideo,
      `${persona}: comments JOIN videos`,
      [
        ['comments', 'id,video_id'],
        ['videos', 'id,view_count,visibility'],
      ],
    );

    // An aggregate over a join: videos per owner's country.
    const per = new Map<string, number>();
    for (const v of videos) {
      const u = await httpRead(persona, 'users', v.fields['owner_uid']);
      if (u) per.set(u['country'] as string, (per.get(u['country'] as string) ?? 0) + 1);
    }
    same(
      await ask(persona, 'SELECT u.country, count(*) FROM videos v JOIN users u ON v.owner_uid = u.uid GROUP BY u.country ORDER BY u.country'),
      [...per].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([c, n]) => [c, String(n)]),
      `${persona}: GROUP BY over a join`,
      [
        ['videos', 'owner_uid'],
        ['users', 'country,uid'],
      ],
      [...per.values()].reduce((x, y) => x + y, 0),
    );
  }
});

test('a protected column anywhere (OR, NOT, IN, LIKE, CASE, a function, a cast, ORDER BY, GROUP BY, count(col), a join ON) is 42501 before anything is read: nothing logged; so is an aggregate or a join from an unknown place', async () => {
  const attacks = [
    "SELECT username FROM users WHERE username = 'x' OR phone_number = '+15125550101'",
    "SELECT username FROM users WHERE NOT (email LIKE '%@example.com')",
    "SELECT username FROM users WHERE birthday IN ('1994-03-02', $1)",
    "SELECT username FROM users WHERE phone_number LIKE '+1512%'",
    "SELECT username FROM users WHERE ip_address ILIKE '203.%'",
    "SELECT username FROM users WHERE CASE WHEN phone_number LIKE '+1%' THEN true ELSE false END",
    "SELECT username FROM users WHERE CASE WHEN false THEN device_id ELSE username END = 'x'",
    "SELECT username FROM users WHERE lower(email) = 'us1@example.com'",
    "SELECT username FROM users WHERE birthday::date > '2000-01-01'",
    "SELECT username FROM users WHERE email IS NOT NULL AND country = 'US'",
    "SELECT username FROM users WHERE birthday BETWEEN '1990-01-01' AND '1995-01-01'",
    "SELECT username FROM users WHERE uid LIKE 'demo%'",
    "SELECT username FROM users WHERE uid = 'demo-us-1' OR username = 'x'",
    'SELECT username FROM users ORDER BY birthday',
    'SELECT phone_number AS p FROM users ORDER BY p',
    'SELECT phone_number FROM users ORDER BY 1 DESC',
    'SELECT count(*) FROM users GROUP BY phone_number',
    'SELECT email, count(*) FROM users GROUP BY 1',
    'SELECT count(phone_number) FROM users',
    "SELECT count(*) FROM users WHERE birthday > '2000-01-01'",
    "SELECT count(*) FROM videos WHERE caption LIKE '%reunion%'",
    'SELECT visibility, count(draft_body) FROM videos GROUP BY visibility',
    'SELECT lower(phone_number) FROM users',
    "SELECT v.id FROM videos v JOIN users u ON v.owner_uid = u.uid AND u.phone_number LIKE '+1%'",
    'SELECT v.id FROM videos v JOIN users u ON u.email = v.owner_uid',
    "SELECT v.id FROM videos v JOIN users u ON v.owner_uid = u.uid WHERE u.birthday < '1990-01-01'",
    'SELECT v.id FROM videos v LEFT JOIN users u ON v.owner_uid = u.uid ORDER BY u.device_id',
    'SELECT u.country, count(*) FROM videos v JOIN users u ON v.owner_uid = u.uid GROUP BY u.country, v.caption',
    'SELECT c.id FROM comments c JOIN videos v ON c.video_id = v.id WHERE c.author_uid IS NULL',
    'SELECT v.id FROM videos v JOIN users u ON v.owner_uid = u.uid ORDER BY v.owner_uid',
  ];
  for (const persona of ['beijing-engineer', 'us-analyst']) {
    const before = server.log.size();
    for (const sql of attacks) {
      const a = await ask(persona, sql, sql.includes('$1') ? ['x'] : undefined);
      assert.equal(a.error?.['C'], '42501', `${persona}: ${sql}: ${JSON.stringify(a.error)}`);
      assert.equal(a.rows.length, 0, sql);
      assert.equal(a.logged, 0, `${sql}: nothing read, nothing logged`);
      assert.equal(a.decided.size, 0, `${sql}: nothing decided`);
    }
    assert.equal(server.log.size(), before);
  }
  // From a place the network map does not know (127.0.0.1 straight, a token naming Beijing), an
  // aggregate or a join is refused as a list is, unread.
  const nowhere = await RawPg.connect(port);
  assert.equal(
    (await nowhere.login('beijing-engineer', await issuer.sign('beijing-engineer', { location: { country: 'CN', site: 'beijing' } }))).at(-1)?.type,
    'Z',
  );
  const size = server.log.size();
  for (const sql of [
    "SELECT count(*) FROM users WHERE country = 'US'",
    'SELECT country, count(*) FROM users GROUP BY country',
    'SELECT v.id, u.username FROM videos v JOIN users u ON v.owner_uid = u.uid',
    "SELECT username FROM users WHERE country = 'US' OR country = 'DE' ORDER BY username",
  ]) {
    nowhere.send(queryMessage(sql));
    const msgs = await nowhere.until('Z');
    assert.equal(errorOf(msgs)?.['C'], '42501', sql);
    assert.match(errorOf(msgs)?.['M'] ?? '', /place the network map does not know/);
    assert.ok(!msgs.some((m) => m.type === 'D'), sql);
  }
  nowhere.end();
  assert.equal(server.log.size(), size, 'nothing read or logged');
  // The enclave engineer may filter on nothing more: protected and excepted columns are filters for nobody (no oracle, whoever asks).
  for (const sql of attacks.slice(0, 5)) assert.equal((await ask('austin-engineer', sql, sql.includes('$1') ? ['x'] : undefined)).error?.['C'], '42501', sql);
});

test('the rest is refused with 0A000 (or the error PostgreSQL gives) naming the construct; parameters are values; bad LIMIT, OFFSET and operands are errors; nothing logged', async () => {
  const size = server.log.size();
  for (const [sql, state, message] of [
    ['SELECT username FROM users WHERE username IN (SELECT username FROM users)', '0A000', /subquery/],
    ['SELECT country, count(*) FROM users GROUP BY country HAVING count(*) > 1', '0A000', /HAVING/],
    ['SELECT count(DISTINCT country) FROM users', '0A000', /DISTINCT/],
    ['SELECT u.username FROM users u LEFT JOIN videos v ON v.owner_uid = u.uid', '0A000', /LEFT JOIN keeping every row of users/],
    ['SELECT v.id FROM videos v JOIN users u ON v.created_at = u.created_at', '0A000', /join condition/],
    ['SELECT v.id FROM videos v, users u', '0A000', /more than one table/],
    ['SELECT c.id FROM comments c JOIN videos v ON c.video_id = v.id JOIN users u ON c.author_uid = u.uid', '0A000', /more than two tables/],
    ['SELECT username, count(*) FROM users', '42803', /GROUP BY/],
    ["SELECT username FROM users WHERE username ~ 'a'", '0A000', /~/],
    ['SELECT username FROM users ORDER BY 3', '42P10', /position 3/],
    ["SELECT username FROM users WHERE country LIKE 'x\\'", '22025', /escape/],
    ["SELECT id FROM videos WHERE view_count > 'lots'", '22P02', /number/],
    ["SELECT id FROM videos WHERE visibility LIKE 'p%' AND view_count LIKE '1%'", '42883', /view_count/],
    ['SELECT id FROM videos WHERE view_count = visibility', '42883', /operator/],
    ['SELECT id FROM videos LIMIT -1', '2201W', /LIMIT/],
    ['SELECT id FROM videos OFFSET -1', '2201X', /OFFSET/],
    ['SELECT v.id FROM videos v JOIN users u ON v.owner_uid = u.uid WHERE created_at = $1', '42702', /ambiguous/],
  ] as const) {
    const a = await ask('us-analyst', sql, sql.includes('$1') ? ['x'] : undefined);
    assert.equal(a.error?.['C'], state, `${sql}: ${JSON.stringify(a.error)}`);
    assert.match(a.error?.['M'] ?? '', message, sql);
  }
  // Parameters are values, whatever they hold: in IN, LIKE, a comparison, LIMIT.
  for (const injected of ["x' OR '1'='1", "%' OR username LIKE '%", "'; DELETE FROM users; --", 'US) OR (1=1'])
    for (const sql of [
      'SELECT username FROM users WHERE country IN ($1, $2)',
      'SELECT username FROM users WHERE username LIKE $1 OR username ILIKE $2',
      'SELECT count(*) FROM users WHERE country >= $1 AND country < $2',
    ]) {
      const a = await ask('us-analyst', sql, [injected, injected]);
      assert.equal(a.error, undefined, `${sql} ${injected}`);
      assert.deepEqual(a.rows, sql.startsWith('SELECT count') ? [['0']] : [], `${sql}: a value no row has`);
    }
  assert.equal((await ask('us-analyst', 'SELECT id FROM videos LIMIT $1', ['1; DROP TABLE videos'])).error?.['C'], '22P02');
  assert.equal(server.log.size(), size, 'nothing logged');
  // LIKE's own characters: %, _ and the escape, matched as PostgreSQL matches them.
  const users = lists.get('us-analyst')!.get('users')!;
  const underscored = users.filter((i) => /^[a-z]+_l/.test(i.fields['username'] as string)).map((i) => [cell(i.fields['username'])]);
  same(await ask('us-analyst', "SELECT username FROM users WHERE username LIKE '%\\_l%' AND username NOT LIKE '%\\_l%\\_%'"), underscored, 'escaped _');
});
