// Column types on the wire, with postgres.js (which parses cells by type OID): the demo policy with
// a number and a boolean field added to users. A column the caller gets in clear (or not at all) has
// its catalog type — float8, bool — and arrives as a JS number or boolean; the same column for a
// caller who gets it as a token is text, typed so before the first row; a string column is text.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { loadPolicy } from '../src/policy/index.js';
import { DEMO_FIXED_USERS, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { startWireServer } from './helpers/pgwire-server.js';
import { proxyRelay } from './helpers/pg-raw.js';

const FROM: Record<string, string> = { 'beijing-engineer': '10.80.0.5', 'us-analyst': '10.21.0.5', 'austin-engineer': '10.20.0.5' };

// `score` shares the uid's category (tokenized for the analyst), `verified` and `followers` are operations data.
const dir = tempDir('cordon-pgwire-types-policy-');
cpSync(DEMO_POLICY, dir, { recursive: true });
const usersYaml = join(dir, 'catalog', 'users.yaml');
writeFileSync(
  usersYaml,
  `${readFileSync(usersYaml, 'utf8').trimEnd()}\n  score: { category: user.unique_id, type: number }\n  verified: { category: system.operations, type: boolean }\n  followers: { category: system.operations, type: number }\n  karma: { category: user.demographic.gender, type: number }\n`,
);
const loaded = loadPolicy(dir);
assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.issues));
const policy = loaded.policy;

let server: CordonServer;
let issuer: DemoIssuer;
let port: number;
const relays: { close(): Promise<void> }[] = [];

before(async () => {
  ({ server, issuer, port } = await startWireServer(policy, 'cordon-pgwire-types-'));
  for (const [i, u] of DEMO_FIXED_USERS.entries())
    await server.placement.write('users', u['uid']!, { ...u, score: 1.5 + i, verified: i % 2 === 0, followers: 1e21 * (i + 1), karma: 7 }, 'upsert');
});
after(async () => {
  for (const r of relays) await r.close();
  await server.close();
});

async function client(persona: string) {
  const relay = await proxyRelay(port, FROM[persona]!);
  relays.push(relay);
  return postgres({ host: '127.0.0.1', port: relay.port, user: persona, database: 'cordon', password: await issuer.sign(persona), max: 1, onnotice: () => {} });
}

test('postgres.js gets numbers and booleans as JS types where the caller sees them in clear, tokens as text', async () => {
  for (const persona of ['austin-engineer', 'us-analyst']) {
    const sql = await client(persona);
    try {
      const rows = await sql`SELECT uid, score, verified, followers, karma, created_at FROM users WHERE username = ${'lonestar_lens'}`;
      const types = Object.fromEntries(rows.columns.map((c) => [c.name, c.type]));
      assert.equal(rows.length, 1, persona);
      const r = rows[0]!;
      console.log(
        `pgwire types: ${persona}: ${JSON.stringify(types)} karma ${r['karma'] === null ? 'NULL' : `sha256/12 ${createHash('sha256').update(String(r['karma'])).digest('hex').slice(0, 12)}`}`,
      );
      // Operations data: clear for both, typed.
      assert.equal(types['verified'], 16);
      assert.equal(r['verified'], true);
      assert.equal(types['followers'], 701);
      assert.equal(r['followers'], 1e21);
      assert.equal(types['created_at'], 25);
      assert.equal(typeof r['created_at'], 'string');
      // A demographic number: withheld or clear for the engineer wherever the subject lives (a float8; NULL
      // here), a token or a mask somewhere for the analyst (text).
      assert.equal(types['karma'], persona === 'austin-engineer' ? 701 : 25);
      assert.equal(r['karma'], null);
      // The uid's category: a token for either in some jurisdiction, so text, even where this cell is clear.
      assert.equal(types['score'], 25);
      if (persona === 'austin-engineer') {
        assert.equal(r['score'], '1.5');
      } else {
        assert.equal(typeof r['score'], 'string');
        assert.notEqual(r['score'], '1.5');
      }
      // The same types in the simple protocol (unsafe: no Parse/Describe), where the RowDescription precedes the rows.
      const simple = await sql.unsafe(`SELECT score, verified FROM users WHERE username = 'lonestar_lens'`);
      assert.deepEqual(
        simple.columns.map((c) => c.type),
        [types['score'], 16],
      );
      assert.equal(simple[0]!['verified'], true);
    } finally {
      await sql.end();
    }
  }
});

test('a false boolean goes out as f and arrives as false, in a list', async () => {
  const sql = await client('austin-engineer');
  try {
    const rows = await sql`SELECT username, verified, followers FROM users LIMIT 10`;
    const byName = new Map(rows.map((r) => [r['username'] as string, r]));
    assert.equal(byName.get(DEMO_FIXED_USERS[1]!['username']!)?.['verified'], false);
    assert.equal(byName.get(DEMO_FIXED_USERS[1]!['username']!)?.['followers'], 2e21);
  } finally {
    await sql.end();
  }
});
