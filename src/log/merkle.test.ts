// The Merkle tree against the transparency-dev/merkle probes, the RFC 6962 reference tree, the
// Tessera test log's proofs, and a naive MTH on random trees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../shared/random.js';
import { EMPTY_ROOT, MerkleProofError, MerkleTree, hashChildren, hashLeaf, rootFromInclusionProof, verifyConsistency, verifyInclusion } from './merkle.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/transparency', import.meta.url));
const PROOFS = join(FIXTURES, 'rfc6962-proofs');

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : []))
    .sort();
}

interface InclusionProbe {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyProbe {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ReferenceTree {
  hasher_vectors: { desc: string; want: string; leaf_input_hex?: string; left_hex?: string; right_hex?: string }[];
  leaf_inputs_hex: string[];
  node_hashes_by_level: string[][];
  root_hashes_by_tree_size: string[];
}
const REFERENCE = JSON.parse(readFileSync(join(PROOFS, 'reference-tree.json'), 'utf8')) as ReferenceTree;
const REFERENCE_LEAVES = REFERENCE.leaf_inputs_hex.map(hex);

/** Runs `fn` and says whether it threw; anything but a MerkleProofError fails the test. */
function throwsProofError(fn: () => void, where: string): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    assert.ok(e instanceof MerkleProofError, `${where}: threw ${String(e)}, not a MerkleProofError`);
    assert.equal(e.code, 'log.bad_proof');
    return true;
  }
}

test('every transparency-dev/merkle inclusion probe gives the expected result', () => {
  const files = jsonFiles(join(PROOFS, 'inclusion'));
  assert.ok(files.length > 0, 'no inclusion probes found');
  let asExpected = 0;
  for (const f of files) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as InclusionProbe;
    const where = `${relative(PROOFS, f)} (${v.desc})`;
    const threw = throwsProofError(() => verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash), (v.proof ?? []).map(b64), b64(v.root)), where);
    assert.equal(threw, v.wantErr, `${where}: expected ${v.wantErr ? 'an error' : 'success'}`);
    asExpected++;
  }
  console.log(`rfc6962 inclusion: ${files.length} vectors, ${asExpected} as expected`);
  assert.equal(asExpected, files.length);
  assert.equal(files.length, 98);
});

test('every transparency-dev/merkle consistency probe gives the expected result', () => {
  const files = jsonFiles(join(PROOFS, 'consistency'));
  assert.ok(files.length > 0, 'no consistency probes found');
  let asExpected = 0;
  for (const f of files) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as ConsistencyProbe;
    const where = `${relative(PROOFS, f)} (${v.desc})`;
    const threw = throwsProofError(() => verifyConsistency(v.size1, v.size2, b64(v.root1), b64(v.root2), (v.proof ?? []).map(b64)), where);
    assert.equal(threw, v.wantErr, `${where}: expected ${v.wantErr ? 'an error' : 'success'}`);
    asExpected++;
  }
  console.log(`rfc6962 consistency: ${files.length} vectors, ${asExpected} as expected`);
  assert.equal(asExpected, files.length);
  assert.equal(files.length, 98);
});

test('our proofs equal the happy-path probes built from the reference tree', () => {
  const tree = MerkleTree.fromLeaves(REFERENCE_LEAVES);
  let inclusion = 0;
  for (const f of jsonFiles(join(PROOFS, 'inclusion')).filter((x) => /\/[0-4]\/happy-path\.json$/.test(x))) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as InclusionProbe;
    assert.deepEqual(tree.root(v.treeSize), b64(v.root), f);
    assert.deepEqual(tree.leafHash(v.leafIdx), b64(v.leafHash), f);
    assert.deepEqual(tree.inclusionProof(v.leafIdx, v.treeSize), (v.proof ?? []).map(b64), f);
    inclusion++;
  }
  let consistency = 0;
  for (const f of jsonFiles(join(PROOFS, 'consistency')).filter((x) => /\/[0-4]\/happy-path\.json$/.test(x))) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as ConsistencyProbe;
    assert.deepEqual(tree.root(v.size1), b64(v.root1), f);
    assert.deepEqual(tree.root(v.size2), b64(v.root2), f);
    assert.deepEqual(tree.consistencyProof(v.size1, v.size2), (v.proof ?? []).map(b64), f);
    consistency++;
  }
  assert.deepEqual([inclusion, consistency], [5, 5]);
});

test('hasher vectors of the reference implementation', () => {
  assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const [empty, ...rest] = REFERENCE.hasher_vectors;
  assert.equal(empty?.desc, 'empty tree root');
  assert.equal(new MerkleTree().root().toString('hex'), empty!.want);
  assert.equal(rest.length, 3);
  for (const v of rest) {
    const got = v.leaf_input_hex !== undefined ? hashLeaf(hex(v.leaf_input_hex)) : hashChildren(hex(v.left_hex!), hex(v.right_hex!));
    assert.equal(got.toString('hex'), v.want, v.desc);
  }
});

test('reference tree: the root of every size 0..8 and every node hash', () => {
  const full = MerkleTree.fromLeaves(REFERENCE_LEAVES);
  assert.equal(REFERENCE.root_hashes_by_tree_size.length, 9);
  REFERENCE.root_hashes_by_tree_size.forEach((want, n) => {
    assert.equal(full.root(n).toString('hex'), want, `root(${n}) of the 8-leaf tree`);
    assert.equal(MerkleTree.fromLeaves(REFERENCE_LEAVES.slice(0, n)).root().toString('hex'), want, `root of a tree of ${n} leaves`);
  });
  let nodes = 0;
  REFERENCE.node_hashes_by_level.forEach((hashes, level) => {
    hashes.forEach((want, index) => {
      assert.equal(full.hashAt(level, index).toString('hex'), want, `node ${level}/${index}`);
      nodes++;
    });
  });
  assert.equal(nodes, 15);
  assert.throws(() => full.hashAt(3, 1), RangeError);
  assert.throws(() => MerkleTree.fromLeaves(REFERENCE_LEAVES.slice(0, 7)).hashAt(1, 3), RangeError, 'leaves 6..7 are not complete at size 7');
  assert.throws(() => full.root(9), RangeError);
});

interface DerivedProofs {
  leaf_inputs_utf8: string[];
  roots: { size: number; root_b64: string }[];
  inclusion_proofs: { leaf_index: number; tree_size: number; leaf_hash_b64: string; proof_b64: string[] }[];
  consistency_proofs: { size1: number; size2: number; proof_b64: string[] }[];
}

test('tessera test log: every root and all 120 inclusion and 120 consistency proofs, byte for byte', () => {
  const d = JSON.parse(readFileSync(join(FIXTURES, 'tlog-tiles/tessera-testdata-log.derived-proofs.json'), 'utf8')) as DerivedProofs;
  const tree = MerkleTree.fromLeaves(d.leaf_inputs_utf8.map((s) => Buffer.from(s, 'utf8')));
  assert.equal(tree.size, 15);
  assert.equal(d.roots.length, 16);
  for (const r of d.roots) assert.deepEqual(tree.root(r.size), b64(r.root_b64), `root(${r.size})`);
  const rootOf = (n: number): Buffer => b64(d.roots[n]!.root_b64);

  assert.equal(d.inclusion_proofs.length, 120);
  for (const p of d.inclusion_proofs) {
    const proof = p.proof_b64.map(b64);
    assert.deepEqual(tree.leafHash(p.leaf_index), b64(p.leaf_hash_b64));
    assert.deepEqual(tree.inclusionProof(p.leaf_index, p.tree_size), proof, `inclusion ${p.leaf_index} in ${p.tree_size}`);
    verifyInclusion(p.leaf_index, p.tree_size, b64(p.leaf_hash_b64), proof, rootOf(p.tree_size));
  }
  assert.equal(d.consistency_proofs.length, 120);
  for (const p of d.consistency_proofs) {
    const proof = p.proof_b64.map(b64);
    assert.deepEqual(tree.consistencyProof(p.size1, p.size2), proof, `consistency ${p.size1} -> ${p.size2}`);
    verifyConsistency(p.size1, p.size2, rootOf(p.size1), rootOf(p.size2), proof);
  }
});

// ---------------------------------------------------------------------------------------------

/** Deterministic integers in [0, n) (mulberry32), so a failure can be replayed. */
function prng(seed: number): (n: number) => number {
  const next = mulberry32(seed);
  return (n) => Math.floor(next() * n);
}

/** MTH straight from RFC 9162 §2.1.1, over leaf hashes. */
function naiveMth(hashes: readonly Buffer[]): Buffer {
  if (hashes.length === 0) return createHash('sha256').digest();
  if (hashes.length === 1) return hashes[0]!;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(naiveMth(hashes.slice(0, k)))
    .update(naiveMth(hashes.slice(k)))
    .digest();
}

function flipBit(b: Buffer, bit: number): Buffer {
  const c = Buffer.from(b);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

test('random trees: roots equal a naive MTH, and our proofs verify (and fail once tampered)', () => {
  const rand = prng(9162);
  let checked = 0;
  for (let round = 0; round < 12; round++) {
    const size = 1 + rand(round < 4 ? 40 : 2000);
    const leaves = Array.from({ length: size }, (_, i) => Buffer.from(`leaf ${round}/${i}/${rand(1e9)}`));
    const hashes = leaves.map(hashLeaf);
    // Built in uneven batches, alternating the array and the concatenated forms.
    const tree = new MerkleTree();
    for (let at = 0; at < size; ) {
      const n = Math.min(size - at, 1 + rand(300));
      if (rand(2) === 0) tree.appendLeafHashes(hashes.slice(at, at + n));
      else tree.appendLeafHashes(Buffer.concat(hashes.slice(at, at + n)));
      at += n;
    }
    assert.equal(tree.size, size);
    assert.deepEqual(tree.root(), MerkleTree.fromLeaves(leaves).root());
    for (let t = 0; t < 25; t++) {
      const n = 1 + rand(size);
      const m = 1 + rand(n);
      const i = rand(n);
      const rootN = tree.root(n);
      const rootM = tree.root(m);
      assert.deepEqual(rootN, naiveMth(hashes.slice(0, n)), `root(${n})`);
      assert.deepEqual(rootM, naiveMth(hashes.slice(0, m)), `root(${m})`);

      const inc = tree.inclusionProof(i, n);
      verifyInclusion(i, n, hashes[i]!, inc, rootN);
      assert.deepEqual(rootFromInclusionProof(i, n, hashes[i]!, inc), rootN);
      if (inc.length > 0) {
        const j = rand(inc.length);
        const bad = inc.map((p, k) => (k === j ? flipBit(p, rand(256)) : p));
        assert.throws(() => verifyInclusion(i, n, hashes[i]!, bad, rootN), MerkleProofError);
        assert.throws(() => verifyInclusion(i, n, hashes[i]!, inc.slice(1), rootN), MerkleProofError);
      }
      assert.throws(() => verifyInclusion(i, n, flipBit(hashes[i]!, rand(256)), inc, rootN), MerkleProofError);

      const cons = tree.consistencyProof(m, n);
      verifyConsistency(m, n, rootM, rootN, cons);
      if (m < n) {
        const j = rand(cons.length);
        const bad = cons.map((p, k) => (k === j ? flipBit(p, rand(256)) : p));
        assert.throws(() => verifyConsistency(m, n, rootM, rootN, bad), MerkleProofError);
        assert.throws(() => verifyConsistency(m, n, flipBit(rootM, rand(256)), rootN, cons), MerkleProofError);
      } else {
        assert.deepEqual(cons, []);
      }
      checked++;
    }
  }
  assert.equal(checked, 300);
});

test('every proof of a 70-leaf tree verifies (all pairs)', () => {
  const hashes = Array.from({ length: 70 }, (_, i) => hashLeaf(Buffer.from([i])));
  const tree = MerkleTree.fromLeafHashes(hashes);
  let n = 0;
  for (let size = 1; size <= 70; size++) {
    const root = tree.root(size);
    for (let i = 0; i < size; i++) {
      verifyInclusion(i, size, hashes[i]!, tree.inclusionProof(i, size), root);
      if (i > 0) verifyConsistency(i, size, tree.root(i), root, tree.consistencyProof(i, size));
      n++;
    }
  }
  assert.equal(n, (70 * 71) / 2);
});

test('the verifiers refuse malformed input with MerkleProofError', () => {
  const tree = MerkleTree.fromLeaves(REFERENCE_LEAVES);
  const root = tree.root();
  const leaf = tree.leafHash(2);
  const proof = tree.inclusionProof(2, 8);
  const cases: { note: string; fn: () => void }[] = [
    { note: 'negative index', fn: () => verifyInclusion(-1, 8, leaf, proof, root) },
    { note: 'fractional size', fn: () => verifyInclusion(2, 8.5, leaf, proof, root) },
    { note: 'unsafe size', fn: () => verifyInclusion(2, 2 ** 53, leaf, proof, root) },
    { note: 'index equals size', fn: () => verifyInclusion(8, 8, leaf, proof, root) },
    { note: '31-byte root', fn: () => verifyInclusion(2, 8, leaf, proof, root.subarray(1)) },
    { note: '33-byte proof hash', fn: () => verifyInclusion(2, 8, leaf, [Buffer.concat([proof[0]!, Buffer.from([0])]), ...proof.slice(1)], root) },
    { note: 'extra proof hash', fn: () => verifyInclusion(2, 8, leaf, [...proof, leaf], root) },
    { note: 'consistency from 0', fn: () => verifyConsistency(0, 8, EMPTY_ROOT, root, []) },
    { note: 'consistency backwards', fn: () => verifyConsistency(8, 4, root, tree.root(4), tree.consistencyProof(4, 8)) },
    { note: 'consistency with a short root', fn: () => verifyConsistency(4, 8, tree.root(4).subarray(0, 31), root, tree.consistencyProof(4, 8)) },
  ];
  for (const c of cases) assert.ok(throwsProofError(c.fn, c.note), `${c.note}: accepted`);

  const err = (() => {
    try {
      verifyInclusion(2, 8, leaf, proof, tree.root(7));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof MerkleProofError);
  assert.deepEqual(err.expected, tree.root(7), 'the error carries the expected root');
  assert.deepEqual(err.computed, root, 'and the root the proof leads to');
});

test('tree arguments are checked', () => {
  const tree = MerkleTree.fromLeaves(REFERENCE_LEAVES);
  assert.throws(() => tree.inclusionProof(8, 8), RangeError);
  assert.throws(() => tree.inclusionProof(0, 9), RangeError);
  assert.throws(() => tree.consistencyProof(5, 4), RangeError);
  assert.throws(() => tree.consistencyProof(1, 9), RangeError);
  assert.deepEqual(tree.consistencyProof(0, 8), []);
  assert.deepEqual(tree.consistencyProof(8, 8), []);
  assert.throws(() => tree.appendLeafHashes([Buffer.alloc(32), Buffer.alloc(31)]), RangeError);
  assert.throws(() => tree.appendLeafHashes(Buffer.alloc(33)), RangeError);
  assert.equal(tree.size, 8, 'a refused append changes nothing');
  assert.deepEqual(tree.hashRange(0, 2, 3), Buffer.concat([2, 3, 4].map((i) => tree.leafHash(i))));
  assert.deepEqual(tree.hashRange(3, 0, 1), tree.root());
  assert.throws(() => tree.hashRange(1, 3, 2), RangeError);
});
