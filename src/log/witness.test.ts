// The witness (c2sp.org/tlog-witness) against in-memory trees: cosigning, stale sizes, rollbacks,
// forks, bad proofs, bad signatures, garbage bodies, restarts, races, its HTTP route, and the log's client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { MerkleTree } from './merkle.js';
import { openCheckpoint, signCheckpoint } from './checkpoint.js';
import { cosign, generateSignerKey, generateWitnessKey, parseSignerKey, parseWitnessKey, type NoteSigner } from './note.js';
import { mulberry32 } from '../shared/random.js';
import {
  TLOG_SIZE_CONTENT_TYPE,
  WitnessStateError,
  createWitness,
  createWitnessCosigner,
  witnessRoutes,
  type Witness,
  type WitnessResponse,
} from './witness.js';

const ORIGIN = 'example.com/cordon-log';
const NOW_MS = 1_750_000_000_123;

interface LogFixture {
  readonly signer: NoteSigner;
  readonly vkey: string;
  readonly tree: MerkleTree;
  /** Appends leaves up to `size` and returns the signed checkpoint note of that size. */
  grow(size: number): string;
  note(size: number): string;
}

function makeLog(origin = ORIGIN, salt = 'entry', key = generateSignerKey(origin)): LogFixture {
  const signer = parseSignerKey(key.skey);
  const tree = new MerkleTree();
  const note = (size: number) => signCheckpoint({ origin, size, root: tree.root(size) }, signer);
  return {
    signer,
    vkey: key.vkey,
    tree,
    note,
    grow(size) {
      const leaves = [];
      for (let i = tree.size; i < size; i++) leaves.push(Buffer.from(`${salt} ${i}`));
      tree.appendLeaves(leaves);
      return note(size);
    },
  };
}

function body(old: number, proof: readonly Buffer[], note: string): string {
  return `old ${old}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${note}`;
}

const witnessKey = generateWitnessKey('witness.example/w1');

function setup(options: { logs?: { origin: string; vkey: string }[]; log?: LogFixture } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-witness-'));
  const statePath = join(dir, 'state.json');
  const log = options.log ?? makeLog();
  const logs = options.logs ?? [{ origin: ORIGIN, vkey: log.vkey }];
  const evidence: unknown[] = [];
  const open = () => createWitness({ signer: parseWitnessKey(witnessKey.skey), logs, statePath, now: () => NOW_MS, onEvidence: (e) => evidence.push(e) });
  const witness = open();
  return { dir, statePath, log, witness, open, evidence, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Grows the log to `size` and has the witness cosign it from its current size; asserts 200. */
async function advance(witness: Witness, log: LogFixture, size: number): Promise<string> {
  const old = witness.state(ORIGIN)?.size ?? 0;
  const note = log.grow(size);
  const proof = old === 0 ? [] : log.tree.consistencyProof(old, size);
  const r = await witness.addCheckpoint(body(old, proof, note));
  assert.equal(r.status, 200, r.body);
  return note + r.body;
}

function assertConflict(r: WitnessResponse, size: number): void {
  assert.equal(r.status, 409, r.body);
  assert.equal(r.contentType, TLOG_SIZE_CONTENT_TYPE);
  assert.equal(r.body, `${size}\n`);
}

test('cosigns the first checkpoint (old 0), then a grown one with a valid proof; cosignatures verify', async () => {
  const { witness, log, statePath, cleanup } = setup();
  try {
    const first = log.grow(5);
    const r1 = await witness.addCheckpoint(body(0, [], first));
    assert.equal(r1.status, 200, r1.body);
    assert.match(r1.body, /^\u2014 witness\.example\/w1 [A-Za-z0-9+/]+=*\n$/);
    const opened1 = openCheckpoint(first + r1.body, log.vkey, { witnesses: [witnessKey.vkey], minCosignatures: 1 });
    assert.equal(opened1.checkpoint.size, 5);
    assert.deepEqual(
      opened1.cosignatures.map((c) => c.time),
      [Math.floor(NOW_MS / 1000)],
    );
    assert.equal(witness.state(ORIGIN)?.size, 5);

    const second = log.grow(13);
    const r2 = await witness.addCheckpoint(Buffer.from(body(5, log.tree.consistencyProof(5, 13), second)));
    assert.equal(r2.status, 200, r2.body);
    const opened2 = openCheckpoint(second + r2.body, log.vkey, { witnesses: [witnessKey.vkey], minCosignatures: 1 });
    assert.equal(opened2.checkpoint.size, 13);
    assert.equal(witness.state(ORIGIN)?.size, 13);
    assert.deepEqual(witness.state(ORIGIN)?.root, log.tree.root(13));

    // Durable: the state file holds the new checkpoint, verbatim.
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { v: number; logs: Record<string, { size: number; root: string; note: string }> };
    assert.deepEqual(saved, { v: 1, logs: { [ORIGIN]: { size: 13, root: log.tree.root(13).toString('base64'), note: second } } });

    // The same checkpoint again (old == size, same root, empty proof) is cosigned again.
    const r3 = await witness.addCheckpoint(body(13, [], second));
    assert.equal(r3.status, 200, r3.body);
    // A cosignature by another witness key does not pass for this one.
    const other = generateWitnessKey('witness.example/w1');
    assert.throws(() => openCheckpoint(second + r2.body, log.vkey, { witnesses: [other.vkey], minCosignatures: 1 }));
  } finally {
    cleanup();
  }
});

test('409 with the witness size when old is stale; the state does not change', async () => {
  const { witness, log, cleanup } = setup();
  try {
    await advance(witness, log, 10);
    const note = log.grow(15);
    assertConflict(await witness.addCheckpoint(body(0, [], note)), 10);
    assertConflict(await witness.addCheckpoint(body(4, log.tree.consistencyProof(4, 15), note)), 10);
    assertConflict(await witness.addCheckpoint(body(12, log.tree.consistencyProof(12, 15), note)), 10);
    assert.equal(witness.state(ORIGIN)?.size, 10);
  } finally {
    cleanup();
  }
});

test('rollback: a smaller checkpoint is refused with evidence', async () => {
  const { witness, log, cleanup } = setup();
  try {
    await advance(witness, log, 10);
    const small = log.note(5);
    // old = the witness size but above the checkpoint size: 400 per the spec.
    const r1 = await witness.addCheckpoint(body(10, [], small));
    assert.equal(r1.status, 400, r1.body);
    assert.equal(r1.evidence?.kind, 'rollback');
    assert.equal(r1.evidence?.witnessed.size, 10);
    assert.equal(r1.evidence?.submitted.size, 5);
    assert.equal(r1.evidence?.submitted.note, small);
    // old = the checkpoint size: 409 with the witness size.
    const r2 = await witness.addCheckpoint(body(5, [], small));
    assertConflict(r2, 10);
    assert.equal(r2.evidence?.kind, 'rollback');
    assert.equal(witness.state(ORIGIN)?.size, 10);
  } finally {
    cleanup();
  }
});

test('fork: a second tree of the same size signed by the same log key is refused with both roots', async () => {
  const key = generateSignerKey(ORIGIN);
  const a = makeLog(ORIGIN, 'honest', key);
  const b = makeLog(ORIGIN, 'forked', key);
  const { witness, statePath, evidence, cleanup } = setup({ log: a });
  try {
    const noteA = await advance(witness, a, 10);
    const before = readFileSync(statePath);
    const noteB = b.grow(10);
    const rootA = a.tree.root(10).toString('base64');
    const rootB = b.tree.root(10).toString('base64');
    assert.notEqual(rootA, rootB);
    for (const old of [10, 0]) {
      const r = await witness.addCheckpoint(body(old, [], noteB));
      assertConflict(r, 10);
      assert.equal(r.evidence?.kind, 'fork');
      assert.equal(r.evidence?.origin, ORIGIN);
      assert.equal(r.evidence?.witnessed.size, 10);
      assert.equal(r.evidence?.submitted.size, 10);
      assert.equal(r.evidence?.witnessed.root, rootA);
      assert.equal(r.evidence?.submitted.root, rootB);
      assert.equal(r.evidence?.witnessed.note, a.note(10));
      assert.equal(r.evidence?.submitted.note, noteB);
      assert.ok(noteA.startsWith(r.evidence.witnessed.note));
    }
    // Both notes verify with the log key: the evidence stands on its own.
    openCheckpoint(a.note(10), key.vkey);
    openCheckpoint(noteB, key.vkey);
    assert.equal(evidence.length, 2);
    assert.deepEqual(readFileSync(statePath), before);
    assert.deepEqual(witness.state(ORIGIN)?.root, a.tree.root(10));
    // A grown fork with a proof from the forked tree does not pass either.
    const grownB = b.grow(14);
    const r = await witness.addCheckpoint(body(10, b.tree.consistencyProof(10, 14), grownB));
    assert.equal(r.status, 422);
    assert.equal(r.evidence?.kind, 'inconsistent');
    console.log(`fork: refused with evidence (size 10, roots ${rootA} / ${rootB})`);
  } finally {
    cleanup();
  }
});

test('bad consistency proofs are 422 with evidence, and change nothing', async () => {
  const { witness, log, statePath, cleanup } = setup();
  try {
    await advance(witness, log, 6);
    const before = readFileSync(statePath);
    const note = log.grow(13);
    const good = log.tree.consistencyProof(6, 13);
    assert.ok(good.length >= 2);
    const flipped = good.map((h, i) => (i === 1 ? Buffer.from(h.map((x, j) => (j === 7 ? x ^ 0x01 : x))) : h));
    const cases: { note: string; old: number; proof: Buffer[] }[] = [
      { note: 'one hash short', old: 6, proof: good.slice(0, -1) },
      { note: 'one hash too many', old: 6, proof: [...good, good[0]!] },
      { note: 'a flipped bit', old: 6, proof: flipped },
      { note: 'hashes swapped', old: 6, proof: [good[1]!, good[0]!, ...good.slice(2)] },
      { note: 'empty proof', old: 6, proof: [] },
      { note: 'proof for another size', old: 6, proof: log.tree.consistencyProof(5, 13) },
    ];
    for (const c of cases) {
      const r = await witness.addCheckpoint(body(c.old, c.proof, note));
      assert.equal(r.status, 422, `${c.note}: ${r.body}`);
      assert.equal(r.evidence?.kind, 'inconsistent', c.note);
      assert.equal(r.evidence?.witnessed.root, log.tree.root(6).toString('base64'));
      assert.equal(r.evidence?.submitted.root, log.tree.root(13).toString('base64'));
    }
    // old == size needs an empty proof.
    const same = await witness.addCheckpoint(body(6, [good[0]!], log.note(6)));
    assert.equal(same.status, 422, same.body);
    assert.deepEqual(readFileSync(statePath), before);
    const fresh = setup({ log });
    try {
      // From old 0 the proof must be empty.
      const r = await fresh.witness.addCheckpoint(body(0, [good[0]!], note));
      assert.equal(r.status, 422, r.body);
      assert.equal(existsSync(fresh.statePath), false);
    } finally {
      fresh.cleanup();
    }
    assert.equal((await witness.addCheckpoint(body(6, good, note))).status, 200);
  } finally {
    cleanup();
  }
});

test('unknown origin is 404; a checkpoint not signed by the log key is 403', async () => {
  const { witness, log, cleanup } = setup();
  try {
    log.grow(3);
    const stranger = makeLog('example.com/other-log');
    assert.equal((await witness.addCheckpoint(body(0, [], stranger.grow(3)))).status, 404);
    // Same origin, another key (a key the witness does not trust for it).
    const impostor = makeLog(ORIGIN, 'entry');
    const r1 = await witness.addCheckpoint(body(0, [], impostor.grow(3)));
    assert.equal(r1.status, 403, r1.body);
    // A forged signature by the log key: one byte of the signature changed.
    const note = log.note(3);
    const sigStart = note.lastIndexOf(' ') + 10;
    const ch = note[sigStart] === 'A' ? 'B' : 'A';
    const forged = note.slice(0, sigStart) + ch + note.slice(sigStart + 1);
    const r2 = await witness.addCheckpoint(body(0, [], forged));
    assert.equal(r2.status, 403, r2.body);
    // The text changed under a valid signature.
    const altered = note.replace(`${ORIGIN}\n3\n`, `${ORIGIN}\n4\n`);
    assert.equal((await witness.addCheckpoint(body(0, [], altered))).status, 403);
    // A note signed only by the witness key itself is not a log checkpoint.
    const text = note.slice(0, note.indexOf('\n\n') + 1);
    const r3 = await witness.addCheckpoint(body(0, [], `${text}\n${cosign(text, parseWitnessKey(witnessKey.skey), 1)}`));
    assert.equal(r3.status, 403, r3.body);
    assert.equal(witness.state(ORIGIN), undefined);
  } finally {
    cleanup();
  }
});

test('malformed bodies are 400 and leave the state file byte for byte', async () => {
  const { witness, log, statePath, cleanup } = setup();
  try {
    await advance(witness, log, 4);
    const note = log.grow(9);
    const proof = log.tree.consistencyProof(4, 9);
    const good = body(4, proof, note);
    const before = readFileSync(statePath);
    const p64 = proof.map((h) => h.toString('base64'));
    const cases: { note: string; body: string | Buffer }[] = [
      { note: 'empty body', body: '' },
      { note: 'only a newline', body: '\n' },
      { note: 'no old line', body: `\n${note}` },
      { note: 'old with a leading zero', body: good.replace('old 4\n', 'old 04\n') },
      { note: 'old negative', body: good.replace('old 4\n', 'old -4\n') },
      { note: 'old not a number', body: good.replace('old 4\n', 'old four\n') },
      { note: 'old with two spaces', body: good.replace('old 4\n', 'old  4\n') },
      { note: 'old beyond 2^53', body: good.replace('old 4\n', 'old 9007199254740993\n') },
      { note: 'OLD in capitals', body: good.replace('old 4\n', 'OLD 4\n') },
      { note: 'CRLF line ends', body: good.replace(/\n/g, '\r\n') },
      { note: 'no blank line before the checkpoint', body: `old 4\n${p64.map((l) => `${l}\n`).join('')}${note}` },
      { note: 'proof line not base64', body: good.replace(p64[0]!, '!!!not base64!!!') },
      { note: 'proof line of 31 bytes', body: good.replace(p64[0]!, Buffer.alloc(31).toString('base64')) },
      { note: 'proof line in unpadded base64', body: good.replace(p64[0]!, p64[0]!.replace(/=+$/, '')) },
      { note: 'proof line with trailing space', body: good.replace(p64[0]!, `${p64[0]} `) },
      {
        note: '64 proof lines',
        body: body(
          4,
          Array.from({ length: 64 }, () => proof[0]!),
          note,
        ),
      },
      { note: 'old above the checkpoint size', body: body(12, [], note) },
      { note: 'note without signatures', body: `old 4\n\n${note.slice(0, note.indexOf('\n\n') + 1)}` },
      { note: 'note without a final newline', body: good.slice(0, -1) },
      { note: 'checkpoint size with a leading zero', body: good.replace(`${ORIGIN}\n9\n`, `${ORIGIN}\n09\n`) },
      { note: 'checkpoint with two lines', body: `old 0\n\n${ORIGIN}\n9\n\n${note.slice(note.indexOf('\n\n') + 2)}` },
      { note: 'invalid UTF-8', body: Buffer.concat([Buffer.from('old 4\n\n'), Buffer.from([0xff, 0xfe]), Buffer.from(note)]) },
      { note: 'a NUL byte in the note', body: good.replace(`${ORIGIN}\n`, `${ORIGIN}\u0000\n`) },
      { note: 'lone surrogate in a string body', body: good.replace(ORIGIN, `${ORIGIN}\ud800`) },
      { note: 'over the size limit', body: `old 4\n\n${'x'.repeat(70_000)}` },
      { note: 'JSON', body: JSON.stringify({ old: 4, proof: p64, checkpoint: note }) },
    ];
    for (const c of cases) {
      const r = await witness.addCheckpoint(c.body);
      assert.equal(r.status, 400, `${c.note}: ${r.status} ${r.body}`);
      assert.match(r.body, /\n$/);
    }
    assert.deepEqual(readFileSync(statePath), before);

    // Random damage to a valid request: never a crash, never a cosignature, never a state change.
    const rand = mulberry32(20250607);
    const bytes = Buffer.from(good);
    const statuses = new Map<number, number>();
    const rounds = 2000;
    for (let i = 0; i < rounds; i++) {
      const b = Buffer.from(bytes);
      const kind = i % 4;
      let mutated: Buffer;
      if (kind === 0) {
        const at = Math.floor(rand() * b.length);
        b[at] = Math.floor(rand() * 256);
        mutated = b;
      } else if (kind === 1) {
        mutated = b.subarray(0, Math.floor(rand() * b.length));
      } else if (kind === 2) {
        const at = Math.floor(rand() * b.length);
        mutated = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rand() * 128)]), b.subarray(at)]);
      } else {
        mutated = Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
      }
      if (mutated.equals(bytes)) continue;
      const r = await witness.addCheckpoint(mutated);
      assert.notEqual(r.status, 200, `mutation ${i} was cosigned`);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    assert.deepEqual(readFileSync(statePath), before);
    assert.equal((await witness.addCheckpoint(good)).status, 200);
    const summary = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${n}×${s}`)
      .join(', ');
    console.log(`malformed: ${cases.length} garbage bodies refused with 400; ${rounds} random mutations refused (${summary}); state unchanged`);
  } finally {
    cleanup();
  }
});

test('the state survives a restart; a corrupt state file refuses to start', async () => {
  const { witness, log, open, statePath, cleanup } = setup();
  try {
    await advance(witness, log, 10);
    const again = open();
    assert.equal(again.state(ORIGIN)?.size, 10);
    assertConflict(await again.addCheckpoint(body(0, [], log.note(5))), 10);
    assert.equal((await again.addCheckpoint(body(10, [], log.note(5)))).status, 400);
    const next = log.grow(12);
    assert.equal((await again.addCheckpoint(body(10, log.tree.consistencyProof(10, 12), next))).status, 200);
    assert.equal(open().state(ORIGIN)?.size, 12);
    writeFileSync(statePath, '{"v":1,"logs":{"x":{"size":1}}}');
    assert.throws(() => open(), WitnessStateError);
    writeFileSync(statePath, 'not json');
    assert.throws(() => open(), WitnessStateError);
  } finally {
    cleanup();
  }
});

test('racing add-checkpoints from the same old size: exactly one is cosigned', async () => {
  const { witness, log, cleanup } = setup();
  try {
    await advance(witness, log, 8);
    const n12 = log.grow(12);
    const p12 = log.tree.consistencyProof(8, 12);
    const n20 = log.grow(20);
    const p20 = log.tree.consistencyProof(8, 20);
    const [r12, r20] = await Promise.all([witness.addCheckpoint(body(8, p12, n12)), witness.addCheckpoint(body(8, p20, n20))]);
    assert.deepEqual([r12.status, r20.status].sort(), [200, 409]);
    assert.equal(witness.state(ORIGIN)?.size, r12.status === 200 ? 12 : 20);
    // Many racers for the first checkpoint of another origin and a second log: one each.
    const other = makeLog('example.com/second');
    const two = setup({
      logs: [
        { origin: ORIGIN, vkey: log.vkey },
        { origin: 'example.com/second', vkey: other.vkey },
      ],
      log,
    });
    try {
      const a = log.note(12);
      const b = other.grow(3);
      const results = await Promise.all([...Array(5)].flatMap(() => [two.witness.addCheckpoint(body(0, [], a)), two.witness.addCheckpoint(body(0, [], b))]));
      assert.equal(results.filter((r) => r.status === 200).length, 2);
      const saved = JSON.parse(readFileSync(two.statePath, 'utf8')) as { logs: Record<string, { size: number }> };
      assert.deepEqual(Object.fromEntries(Object.entries(saved.logs).map(([o, e]) => [o, e.size])), { [ORIGIN]: 12, 'example.com/second': 3 });
    } finally {
      two.cleanup();
    }
  } finally {
    cleanup();
  }
});

async function listen(witness: Witness, options: { bodyLimit?: number } = {}) {
  const app = Fastify({ logger: false });
  await app.register(witnessRoutes, { witness, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  assert.ok(addr && typeof addr === 'object');
  return { app, url: `http://127.0.0.1:${addr.port}` };
}

test('HTTP: POST /add-checkpoint over a real listening server', async () => {
  const { witness, log, cleanup } = setup();
  const { app, url } = await listen(witness);
  try {
    const note = log.grow(7);
    const post = (b: NonNullable<RequestInit['body']>, headers: Record<string, string> = {}) =>
      fetch(`${url}/add-checkpoint`, { method: 'POST', body: b, headers });
    const ok = await post(body(0, [], note), { 'content-type': 'text/plain' });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('content-type') ?? '', /^text\/plain/);
    const line = await ok.text();
    openCheckpoint(note + line, log.vkey, { witnesses: [witnessKey.vkey], minCosignatures: 1 });

    const stale = await post(new TextEncoder().encode(body(0, [], log.grow(9))));
    assert.equal(stale.status, 409);
    assert.equal(stale.headers.get('content-type')?.split(';')[0], TLOG_SIZE_CONTENT_TYPE);
    assert.equal(await stale.text(), '7\n');

    const other = await post(body(7, log.tree.consistencyProof(7, 9), log.note(9)), { 'content-type': 'application/octet-stream' });
    assert.equal(other.status, 200);

    const garbage = await post('old x\n\nnonsense\n', { 'content-type': 'text/plain' });
    assert.equal(garbage.status, 400);
    assert.match(await garbage.text(), /malformed add-checkpoint request/);
    const empty = await fetch(`${url}/add-checkpoint`, { method: 'POST' });
    assert.equal(empty.status, 400);
    const huge = await post('x'.repeat(100_000), { 'content-type': 'text/plain' });
    assert.equal(huge.status, 413);
    assert.equal((await fetch(`${url}/add-checkpoint`)).status, 404);
    assert.equal(witness.state(ORIGIN)?.size, 9);
  } finally {
    await app.close();
    cleanup();
  }
});

test('createWitnessCosigner: cosigns through a real witness, recovers from 409, skips failing witnesses', async () => {
  const { witness, log, cleanup } = setup();
  const { app, url } = await listen(witness);
  const second = setup({ log });
  const secondServer = await listen(second.witness);
  const errors: string[] = [];
  try {
    const proofs: [number, number][] = [];
    const proofOf = (from: number, to: number) => {
      proofs.push([from, to]);
      return log.tree.consistencyProof(from, to);
    };
    const cosigner = createWitnessCosigner([{ url, vkey: witnessKey.vkey }], { onError: (_u, why) => errors.push(why) });

    const n4 = log.grow(4);
    const l4 = await cosigner(n4, 4, proofOf);
    assert.equal(l4.length, 1);
    openCheckpoint(n4 + l4.join(''), log.vkey, { witnesses: [witnessKey.vkey], minCosignatures: 1 });
    assert.deepEqual(proofs, []);

    const n9 = log.grow(9);
    const l9 = await cosigner(n9, 9, proofOf);
    assert.equal(l9.length, 1);
    assert.deepEqual(proofs, [[4, 9]]);
    openCheckpoint(n9 + l9.join(''), log.vkey, { witnesses: [witnessKey.vkey], minCosignatures: 1 });

    // A fresh cosigner (a restarted log) starts at 0, is told 9, and retries with a proof from 9.
    const restarted = createWitnessCosigner([{ url, vkey: witnessKey.vkey }]);
    const n12 = log.grow(12);
    const l12 = await restarted(n12, 12, proofOf);
    assert.equal(l12.length, 1);
    assert.deepEqual(proofs.at(-1), [9, 12]);

    // The first cosigner still believes 9; the witness saw 12 meanwhile: 409, then a proof from 12.
    const n15 = log.grow(15);
    const l15 = await cosigner(n15, 15, proofOf);
    assert.equal(l15.length, 1, errors.join('; '));
    assert.deepEqual(proofs.slice(-1), [[12, 15]]);
    openCheckpoint(n15 + l15.join(''), log.vkey, { witnesses: [witnessKey.vkey], minCosignatures: 1 });
    assert.equal(witness.state(ORIGIN)?.size, 15);

    // An older checkpoint than the witness has seen gets no cosignature (and no crash).
    assert.deepEqual(await restarted(log.note(14), 14, proofOf), []);

    // Several witnesses: a good one, one whose key does not match what it signs with, one not listening.
    const wrongKey = generateWitnessKey('witness.example/w1');
    const many = createWitnessCosigner(
      [
        { url, vkey: witnessKey.vkey },
        { url: secondServer.url, vkey: wrongKey.vkey },
        { url: 'http://127.0.0.1:9/', vkey: generateWitnessKey('dead.example').vkey },
      ],
      { timeoutMs: 2000, onError: (_u, why) => errors.push(why) },
    );
    errors.length = 0;
    const n20 = log.grow(20);
    const l20 = await many(n20, 20, proofOf);
    assert.equal(l20.length, 1);
    openCheckpoint(n20 + l20.join(''), log.vkey, { witnesses: [witnessKey.vkey], minCosignatures: 1 });
    assert.equal(errors.length, 2, errors.join('; '));
    assert.ok(
      errors.some((e) => /does not verify/.test(e)),
      errors.join('; '),
    );

    // A witness that answers with someone else's signature lines is skipped too.
    const liar = createWitnessCosigner([{ url: 'http://witness.invalid', vkey: witnessKey.vkey }], {
      fetch: async () => new Response(`\u2014 witness.example/w1 ${Buffer.alloc(76, 7).toString('base64')}\n`, { status: 200 }),
    });
    assert.deepEqual(await liar(n20, 20, proofOf), []);
    console.log(`cosigner: ${proofs.length} consistency proofs served; 409 recovered twice; 2 failing witnesses skipped`);
  } finally {
    await app.close();
    await secondServer.app.close();
    cleanup();
    second.cleanup();
  }
});
