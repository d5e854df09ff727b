// `cordon up --workers 2` on real PostgreSQL stores, with a token issuer on loopback: two gateway
// processes behind one port. Reads are answered by both (each connection anew); a grant approved
// through the API reaches every worker's decisions within the broker's bound, and so does its
// revocation; checkpoints asked of either never go back and `cordon log verify` accepts the log; a
// worker killed with SIGKILL is replaced while reads go on; SIGTERM stops both cleanly. The wire
// gateway shares its port the same way, and a cancel reaches a session of the other worker.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, seedDemoWorld } from '../src/server/index.js';
import { addressOfSite } from '../src/cli/defaults.js';
import { openCheckpoint } from '../src/log/index.js';
import { startPostgres } from './helpers/postgres.js';
import { createDatabases } from './fixtures/migrate/legacy.js';
import { cordonAsync } from './helpers/cli.js';
import { CLI, DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { hashOf } from './helpers/hidden.js';
import { cellsOf, fieldsOf, queryMessage, RawPg } from './helpers/pg-raw.js';

const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
});

/** One request on a connection of its own, so that the cluster hands each to the next worker. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET', body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      { method, agent: false, headers: { connection: 'close', ...(data ? { 'content-type': 'application/json' } : {}), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

test('cordon up --workers 2 on PostgreSQL: both workers serve, grants and revocations reach both within the bound, the log never goes back, a killed worker is replaced, SIGTERM stops both', async () => {
  const pg = await startPostgres({ database: 'cordon_workers' });
  closers.push(() => pg.stop());
  const [us, eu, global] = await createDatabases(pg.url, ['w_enclave_us', 'w_enclave_eu', 'w_global']);
  const policyDir = tempDir('cordon-workers-policy-');
  cpSync(DEMO_POLICY, policyDir, { recursive: true });
  const yaml = join(policyDir, 'cordon.yaml');
  writeFileSync(
    yaml,
    readFileSync(yaml, 'utf8')
      .replace('"pglite://stores/enclave_us"', JSON.stringify(us))
      .replace('"pglite://stores/enclave_eu"', JSON.stringify(eu))
      .replace('"pglite://stores/global"', JSON.stringify(global)),
  );
  const loaded = loadPolicy(policyDir);
  assert.ok(loaded.ok);
  const policy = loaded.policy;

  // The token issuer: its key set on loopback, its name that address (cordon up takes issuers that are URLs).
  let keySet: unknown = { keys: [] };
  const jwks: Server = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify(keySet)));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const issuer = await createDemoIssuer({ issuer: `http://127.0.0.1:${(jwks.address() as { port: number }).port}` });
  keySet = issuer.jwks;
  closers.push(() => new Promise((r) => jwks.close(r)));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`;
  const tokenOf = async (id: string) => {
    const p = policy.directory.principals.get(id)!;
    const place = policy.deployment.locations.find((l) => l.site === p.site)!;
    return {
      authorization: `Bearer ${await issuer.sign(id, { location: { country: place.country, site: place.site } })}`,
      'x-forwarded-for': addressOfSite(policy, p.site)!,
    };
  };

  // The data dir and the demo's fixed records, written once by a server in this process.
  const dataDir = tempDir('cordon-workers-data-');
  const seeder = await createCordonServer({ policy, dataDir, tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks } });
  // Enough users that a list of them takes a while: a cancel sent just after it lands mid-list.
  await seedDemoWorld(seeder.placement, { users: 2000, videosPerUser: 0, commentsPerVideo: 0 });
  await seeder.close();

  // Refused before anything starts: too many workers for an embedded store, or a bad count.
  const embedded = await cordonAsync([
    'up',
    '--policy',
    DEMO_POLICY,
    '--jwks',
    jwksUrl,
    '--issuer',
    issuer.issuer,
    '--audience',
    issuer.audience,
    '--port',
    '0',
    '--data-dir',
    tempDir('cordon-w-'),
    '--workers',
    '2',
  ]);
  assert.equal(embedded.status, 2, embedded.stderr);
  assert.match(embedded.stderr, /--workers 2 needs every store on PostgreSQL, but store enclave_us is pglite/);
  const zero = await cordonAsync(['up', '--policy', policyDir, '--jwks', jwksUrl, '--issuer', issuer.issuer, '--audience', issuer.audience, '--workers', '0']);
  assert.equal(zero.status, 2);
  assert.match(zero.stderr, /--workers must be a whole number from 1 to 256, or auto, got "0"/);

  const child = spawn(
    process.execPath,
    [
      CLI,
      'up',
      '--policy',
      policyDir,
      '--jwks',
      jwksUrl,
      '--issuer',
      issuer.issuer,
      '--audience',
      issuer.audience,
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--workers',
      '2',
      '--pg-port',
      '0',
      '--trusted-proxy',
      '127.0.0.1/32',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  closers.push(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const until = async (what: string, ok: () => boolean, ms = 30_000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}; stderr: ${err.slice(-400)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await until('two workers serving', () => /cordon: 2 workers serving \(pids \d+, \d+\)/.test(err) && /cordon is serving/.test(out));
  const base = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  const pids = /pids (\d+), (\d+)/.exec(err)!.slice(1).map(Number);
  assert.equal((out.match(/cordon is serving/g) ?? []).length, 1, 'one banner');

  // The wire gateway on the workers' shared port: each connection is the next worker's (round robin),
  // and each gets the cells the HTTP gateway gives.
  const pgPort = Number(/PostgreSQL 127\.0\.0\.1:(\d+) /.exec(out)?.[1]);
  assert.ok(pgPort > 0, 'the banner names the wire port');
  const wireLogin = async () => {
    const t = await tokenOf('austin-engineer');
    const c = await RawPg.connect(pgPort);
    const msgs = await c.login('austin-engineer', t.authorization.slice('Bearer '.length), { options: `-c cordon.forwarded_for=${t['x-forwarded-for']}` });
    assert.equal(msgs.at(-1)?.type, 'Z', `logged in: ${msgs.map((m) => m.type).join('')}`);
    const key = msgs.find((m) => m.type === 'K')!.body;
    return { c, pid: key.readInt32BE(0), secret: key.readInt32BE(4) };
  };
  const http = (await get(`${base}/v1/data/users/demo-us-1`, await tokenOf('austin-engineer'))).json as { fields: Record<string, unknown> };
  for (let i = 0; i < 4; i++) {
    const { c } = await wireLogin();
    c.send(queryMessage("SELECT uid, username, phone_number FROM users WHERE uid = 'demo-us-1'"));
    const rows = (await c.until('Z')).filter((m) => m.type === 'D').map(cellsOf);
    c.end();
    assert.deepEqual(
      rows.map((r) => r.map((x) => (x === null ? null : hashOf(x)))),
      [['uid', 'username', 'phone_number'].map((f) => (http.fields[f] === undefined ? null : hashOf(String(http.fields[f]))))],
      `connection ${i}: the HTTP gateway's cells (by hash)`,
    );
  }
  // A cancel names a session of the other worker (the next connection is the other worker's): the
  // primary hands it on, and the list stops at a page's end with 57014, twice in a row.
  for (let round = 0; round < 2; round++) {
    const { c, pid, secret } = await wireLogin();
    c.send(queryMessage('SELECT * FROM users'));
    const cancel = await RawPg.connect(pgPort);
    const body = Buffer.alloc(16);
    body.writeInt32BE(16, 0);
    body.writeInt32BE(80877102, 4);
    body.writeInt32BE(pid, 8);
    body.writeInt32BE(secret, 12);
    cancel.send(body);
    const answer = await c.until('Z');
    c.end();
    cancel.end();
    const error = answer.find((m) => m.type === 'E');
    const rows = answer.filter((m) => m.type === 'D').length;
    assert.equal(error && fieldsOf(error)['C'], '57014', `round ${round}: the list was cancelled (${rows} rows came first)`);
    assert.ok(rows < 2000, `round ${round}: the list stopped early (${rows} rows)`);
  }

  const engineer = await tokenOf('austin-engineer');
  const phone = async () => {
    const r = await get(`${base}/v1/data/users/demo-us-1`, engineer);
    assert.equal(r.status, 200, r.text.slice(0, 200));
    // How the phone number came back (never the value): in clear, transformed (masked, tokenized) or withheld.
    const body = r.json as { fields: Record<string, unknown>; transformed?: Record<string, { disclosure: string }>; withheld?: { field: string }[] };
    const t = body.transformed?.['phone_number'];
    if (t) return t.disclosure;
    if (body.withheld?.some((w) => w.field === 'phone_number')) return 'withheld';
    return 'phone_number' in body.fields ? 'clear' : 'absent';
  };
  /** Disclosures of phone_number over `n` reads, each on a new connection (so both workers answer). */
  const phones = async (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(await phone());
    return [...seen].sort();
  };
  assert.deepEqual(await phones(8), ['masked']);

  // A grant through the API: requested and approved on connections that land on either worker.
  const requested = await get(`${base}/v1/access/requests`, engineer, 'POST', {
    datasets: ['users'],
    categories: ['user.contact'],
    subjects: ['demo-us-1'],
    reason: 'USER_SUPPORT',
    ticket: 'SUP-42',
    duration: '1h',
  });
  assert.equal(requested.status, 201, requested.text.slice(0, 300));
  const id = (requested.json as { id: string }).id;
  for (const approver of ['austin-approver-a', 'austin-approver-b']) {
    const a = await get(`${base}/v1/access/requests/${id}/approve`, await tokenOf(approver), 'POST', {});
    assert.equal(a.status, 200, a.text.slice(0, 300));
  }
  // Read on a fresh connection, the request may come from the worker that did not grant: it shows
  // the grant within the bound (500 ms; here up to 3 s with slack).
  let grant: string | null = null;
  for (let i = 0; i < 30 && grant === null; i++) {
    const granted = await get(`${base}/v1/access/requests/${id}`, engineer);
    grant = (granted.json as { grant: string | null }).grant;
    if (grant === null) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(grant, 'the request shows its grant');
  // Within the bound (500 ms, here 1.5 s with slack), every worker shows the phone number in clear.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(await phones(8), ['clear']);
  const revoked = await get(`${base}/v1/access/grants/${grant}/revoke`, await tokenOf('austin-approver-a'), 'POST', {});
  assert.equal(revoked.status, 200, revoked.text.slice(0, 300));
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(await phones(8), ['masked']);

  // Checkpoints asked of either worker never go back.
  const vkey = readFileSync(join(dataDir, 'keys', 'log.vkey'), 'utf8').trim();
  let seen = 0;
  for (let i = 0; i < 12; i++) {
    await phone();
    const cp = openCheckpoint((await get(`${base}/log/checkpoint`)).text, vkey).checkpoint;
    assert.ok(cp.size >= seen, `checkpoint ${i} went back from ${seen} to ${cp.size}`);
    seen = cp.size;
  }
  const state = join(tempDir('cordon-workers-state-'), 'state.json');
  for (let i = 0; i < 2; i++) {
    const v = await cordonAsync(['log', 'verify', '--url', base, '--vkey', vkey, '--state', state]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  }

  // A worker killed mid-load is replaced; reads go on.
  process.kill(pids[0]!, 'SIGKILL');
  await until('the killed worker replaced', () => /cordon: worker \d \(pid \d+\) exited \(signal SIGKILL\); starting another/.test(err));
  await until('the new worker serving', () => /cordon: worker \d \(pid \d+\) serving/.test(err));
  let ok = 0;
  for (let i = 0; i < 10; i++) {
    const r = await get(`${base}/v1/data/users/demo-us-1`, engineer).catch(() => ({ status: 0 }));
    if (r.status === 200) ok++;
  }
  assert.equal(ok, 10, 'every read after the restart is answered');

  child.kill('SIGTERM');
  assert.equal(await exited, 0, err.slice(-400));
  for (const pid of pids.slice(1)) assert.throws(() => process.kill(pid, 0), 'the workers are gone');
  assert.doesNotMatch(out + err, /\+1512|@example\.com/, 'no protected value on the terminal');
});
