// The Merkle tree at scale: 2,000,000 leaves, past 2^20, appended in batches as the log appends
// them (its level buffers grow many times on the way). About 4 million SHA-256 hashes: in the slow suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MerkleTree, verifyConsistency, verifyInclusion } from './merkle.js';

test('a tree of 2,000,000 leaves: size, root and proofs at the far end', () => {
  const N = 2_000_000;
  const batch = Buffer.alloc(32 * 10_000);
  const tree = new MerkleTree();
  for (let at = 0; at < N; at += 10_000) {
    for (let j = 0; j < 10_000; j++) batch.writeUInt32BE(at + j, j * 32);
    tree.appendLeafHashes(batch);
  }
  assert.equal(tree.size, N);
  const leaf = Buffer.alloc(32);
  leaf.writeUInt32BE(1_999_999, 0);
  assert.deepEqual(tree.leafHash(1_999_999), leaf);
  const root = tree.root();
  verifyInclusion(1_999_999, N, leaf, tree.inclusionProof(1_999_999, N), root);
  verifyConsistency(1_048_577, N, tree.root(1_048_577), root, tree.consistencyProof(1_048_577, N));
  // The root of the first 2^20 leaves is a stored node; the root of all is the fold of the rest.
  assert.deepEqual(tree.root(2 ** 20), tree.hashAt(20, 0));
});
