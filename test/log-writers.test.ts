// Two writers of one access log on a real PostgreSQL server (a running gateway and the migrate or
// scan CLI beside it): each takes indexes the other may have taken a moment before. Every append
// lands exactly once, nothing is refused, and both processes come to sign the same tree.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, seedDemoWorld } from '../src/server/index.js';
import { openStore } from '../src/store/index.js';
import { generateSignerKey, openAccessLog, openCheckpoint, verifyConsistency, verifyLog, type AccessLog } from '../src/log/index.js';
import { mulberry32 } from '../src/shared/random.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { createDatabases } from './fixtures/migrate/legacy.js';
import { cordonAsync } from './helpers/cli.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const ORIGIN = 'test.cordon.invalid/writers';

/** One server for the tests that need only a database of their own each (a start is ~3 s of the suite). */
let shared: Promise<PostgresServer> | undefined;
after(async () => (shared ? (await shared).stop() : undefined));
async function databaseUrl(name: string): Promise<string> {
  shared ??= startPostgres({ database: 'cordon_log_writers' });
  const [url] = await createDatabases((await shared).url, [name]);
  return url!;
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A registered record (report) carrying `principal`, for appends whose content does not matter. */
function reportRecord(principal: string) {
  return {
    v: 2 as const,
    at: new Date().toISOString(),
    type: 'report' as const,
    principal,
    country: 'US',
    site: 'austin',
    from: '2026-11-01T00:00:00.000Z',
    to: '2026-12-01T00:00:00.000Z',
    policyVersion: 'pv',
    checkpointSize: 0,
    figures: '0'.repeat(64),
    snapshot: '0'.repeat(64),
    standing: 0,
    leaks: 0,
    violations: 0,
  };
}

test('two processes append to one log on PostgreSQL: every record lands once, none is refused, both sign the same tree', async () => {
  const url = await databaseUrl('cordon_writers');
  // Two stores (two connection pools), as two processes would have.
  const storeA = await openStore('enclave_us', url);
  const storeB = await openStore('enclave_us', url);
  try {
    const { skey, vkey } = generateSignerKey(ORIGIN);
    const a = await openAccessLog({ store: storeA, signerKey: skey, checkpointEveryMs: 100 });
    const b = await openAccessLog({ store: storeB, signerKey: skey, checkpointEveryMs: 100 });
    const rand = mulberry32(20261125);
    const sent: string[] = [];
    const indexes: number[] = [];
    let firstB: { size: number; root: Buffer } | undefined;
    const burst = async (log: AccessLog, writer: string, wave: number) => {
      const n = 20 + Math.floor(rand() * 200);
      const calls: Promise<{ index: number }>[] = [];
      for (let i = 0; i < n; i++) {
        // Some appends wait a little, so batches of both writers interleave rather than alternate.
        if (rand() < 0.05) await new Promise((r) => setTimeout(r, Math.floor(rand() * 4)));
        const id = `${writer}-${wave}-${i}`;
        sent.push(id);
        // A registered record (report) carrying the id where its principal goes.
        calls.push(log.append(reportRecord(id)));
      }
      for (const r of await Promise.all(calls)) indexes.push(r.index);
    };
    for (let wave = 0; wave < 8; wave++) {
      await Promise.all([burst(a, 'a', wave), burst(b, 'b', wave)]);
      if (wave === 0) {
        await b.publish();
        firstB = b.checkpoint();
      }
    }
    const total = sent.length;
    assert.deepEqual(
      [...indexes].sort((x, y) => x - y),
      Array.from({ length: total }, (_, i) => i),
      'dense, distinct indexes: each append landed exactly once',
    );

    // Each process reads the other's entries into its tree and signs all of them.
    await until('both trees to hold every entry', () => a.size() === total && b.size() === total);
    await a.publish();
    await b.publish();
    const ca = openCheckpoint(a.checkpoint().note, vkey).checkpoint;
    const cb = openCheckpoint(b.checkpoint().note, vkey).checkpoint;
    assert.equal(ca.size, total);
    assert.equal(cb.size, total);
    assert.ok(ca.root.equals(cb.root), 'both sign the same tree');
    verifyConsistency(firstB!.size, total, firstB!.root, ca.root, a.consistencyProof(firstB!.size, total));

    const stored = await a.records(-1, 10_000);
    assert.deepEqual(
      stored.map((r) => (r.record as { principal: string }).principal).sort(),
      [...sent].sort(),
      'the stored records are exactly those appended',
    );
    await a.close();
    await b.close();

    // A third opening finds a healthy log of that size, its last checkpoint verifying against it.
    const c = await openAccessLog({ store: storeA, signerKey: skey });
    assert.deepEqual(c.health(), { ok: true });
    assert.equal(c.size(), total);
    await c.close();
    console.log(`# two writers: ${total} records, ${total} distinct indexes, one tree of size ${total}`);
  } finally {
    await storeA.close();
    await storeB.close();
  }
});

test("two processes serving one log: a client asking them in turn never sees it shrink, and either serves the tiles behind the other's checkpoint", async () => {
  const url = await databaseUrl('cordon_serving');
  const storeA = await openStore('enclave_us', url);
  const storeB = await openStore('enclave_us', url);
  try {
    const { skey, vkey } = generateSignerKey(ORIGIN);
    const a = await openAccessLog({ store: storeA, signerKey: skey });
    const b = await openAccessLog({ store: storeB, signerKey: skey });
    const seed = Number(process.env.SERVING_SEED ?? 20261203);
    console.log(`# SERVING_SEED=${seed}`);
    const rand = mulberry32(seed);
    const report = reportRecord;
    let seen = 0;
    for (let round = 0; round < 30; round++) {
      // One process appends and signs; the client then asks either of them.
      const [writer, other] = rand() < 0.5 ? [a, b] : [b, a];
      const n = 1 + Math.floor(rand() * 40);
      await Promise.all(Array.from({ length: n }, (_, i) => writer.append(report(`r${round}-${i}`))));
      await writer.publish();
      const asked = rand() < 0.5 ? writer : other;
      await asked.catchUp();
      const cp = openCheckpoint(asked.checkpoint().note, vkey).checkpoint;
      assert.ok(cp.size >= seen, `round ${round}: the checkpoint went back from ${seen} to ${cp.size}`);
      assert.ok(cp.size >= writer.checkpoint().size, `round ${round}: the other process serves ${cp.size}, behind ${writer.checkpoint().size} already signed`);
      seen = cp.size;
      // The level-0 tile holding the checkpoint's last entry, and its entry bundle, from the process asked.
      const last = Math.floor((cp.size - 1) / 256);
      const width = cp.size - last * 256;
      assert.ok(asked.tile(0, last, width), `round ${round}: tile 0/${last}.p/${width} is served`);
      assert.ok(await asked.entryBundle(last, width), `round ${round}: entries ${last}.p/${width} are served`);
    }
    await a.close();
    await b.close();
  } finally {
    await storeA.close();
    await storeB.close();
  }
});

test('a checkpoint stored late (after its witnesses answered) never replaces a larger one, and a flood of catch-ups reads the store once', async () => {
  const url = await databaseUrl('cordon_late');
  const storeA = await openStore('enclave_us', url);
  const storeB = await openStore('enclave_us', url);
  try {
    const { skey, vkey } = generateSignerKey(ORIGIN);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let slow = false;
    // A's witness answers only when the test says, once A signs with entries of its own.
    const a = await openAccessLog({
      store: storeA,
      signerKey: skey,
      cosign: async () => {
        if (slow) await gate;
        return [];
      },
    });
    const b = await openAccessLog({ store: storeB, signerKey: skey });
    const report = reportRecord;
    await Promise.all(Array.from({ length: 5 }, (_, i) => a.append(report(`a${i}`))));
    slow = true;
    const signingA = a.publish();
    await Promise.all(Array.from({ length: 7 }, (_, i) => b.append(report(`b${i}`))));
    await b.catchUp();
    await b.publish();
    const larger = openCheckpoint(b.checkpoint().note, vkey).checkpoint.size;
    assert.equal(larger, 12);
    open();
    await signingA;
    await a.catchUp();
    assert.equal(openCheckpoint(a.checkpoint().note, vkey).checkpoint.size, 12, "A serves B's larger checkpoint, not its own late one");
    // A third process opening now takes the largest stored, not the last.
    const c = await openAccessLog({ store: storeB, signerKey: skey });
    assert.equal(openCheckpoint(c.checkpoint().note, vkey).checkpoint.size, 12);
    await c.close();

    // 200 catch-ups asked at once (a flood of /log/checkpoint): the checkpoints are read a few times, not 200.
    const reads = { n: 0 };
    const realReadLog = storeA.readLog.bind(storeA);
    (storeA as { readLog: typeof storeA.readLog }).readLog = (log, ...rest) => {
      if (log.endsWith('_checkpoints')) reads.n++;
      return realReadLog(log, ...rest);
    };
    await Promise.all(Array.from({ length: 200 }, () => a.catchUp()));
    (storeA as { readLog: typeof storeA.readLog }).readLog = realReadLog;
    assert.ok(reads.n <= 2, `200 catch-ups read the checkpoints ${reads.n} times`);
    await a.close();
    await b.close();
  } finally {
    await storeA.close();
    await storeB.close();
  }
});

test("cordon scan --match-enclave beside a running gateway on PostgreSQL: no read is refused, and the gateway signs the scan's key releases", {
  timeout: 300_000,
}, async () => {
  const pg = await startPostgres({ database: 'cordon_beside' });
  const dir = tempDir('cordon-beside-');
  try {
    const [enclaveUrl, globalUrl] = await createDatabases(pg.url, ['enclave_us', 'global']);
    const loaded = loadPolicy(DEMO_POLICY);
    assert.ok(loaded.ok);
    const issuer = await createDemoIssuer();
    const dataDir = join(dir, 'data');
    const server = await createCordonServer({
      policy: loaded.policy,
      dataDir,
      tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
      storeUrls: { enclave_us: enclaveUrl!, global: globalUrl!, enclave_eu: 'pglite://memory' },
      trustedProxies: ['127.0.0.1/32'],
      grantsOf: (p) =>
        p === 'austin-engineer'
          ? [{ id: 'g', datasets: ['users'], categories: ['user.contact'], expiresAt: Date.now() + 3_600_000, reason: 'USER_SUPPORT' }]
          : [],
    });
    try {
      await seedDemoWorld(server.placement, { users: 0 });
      await server.app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
      const token = await issuer.sign('austin-engineer');
      // Protected reads from 8 connections, each logged by the gateway, for as long as the scan runs.
      let stop = false;
      const statuses = new Map<number, number>();
      const reader = async () => {
        while (!stop) {
          const r = await fetch(`${base}/v1/data/users/demo-us-1`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '10.20.0.5' } });
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, reader));
      const file = join(dir, 'export.txt');
      writeFileSync(file, 'nothing protected here\n');
      const scan = await cordonAsync([
        'scan',
        file,
        '--policy',
        DEMO_POLICY,
        '--match-enclave',
        'us',
        '--data-dir',
        dataDir,
        '--store',
        `enclave_us=${enclaveUrl}`,
        '--store',
        `global=${globalUrl}`,
        '--json',
      ]);
      stop = true;
      await load;
      assert.equal(scan.status, 0, `exit ${scan.status}: ${scan.stderr}${scan.stdout}`);
      assert.deepEqual([...statuses.keys()], [200], `every read answered 200 while the scan wrote to the log: ${JSON.stringify([...statuses])}`);

      // The scan's releases are in the log, and the gateway's tree comes to include them without
      // writing anything itself.
      const records = await server.log.records(-1, 100_000);
      const releases = records.filter(
        (r) => (r.record as { type?: string; reason?: string }).type === 'key.release' && (r.record as { reason?: string }).reason?.startsWith('cordon scan'),
      );
      assert.ok(releases.length > 0, 'the scan logged its key releases');
      const last = releases.at(-1)!.index;
      const end = Date.now() + 10_000;
      while (server.log.size() <= last && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.ok(server.log.size() > last, 'the gateway read the entries the scan appended');
      await server.log.publish();
      const v = await verifyLog({ url: base, vkey: server.log.vkey });
      assert.ok(v.ok, JSON.stringify(v.problems));
      console.log(
        `# beside a running gateway: ${statuses.get(200)} reads answered 200, none refused; ${releases.length} scan key releases; the log verifies at size ${v.size}`,
      );
    } finally {
      await server.close();
    }
  } finally {
    await pg.stop();
  }
});
