// The RFC 9162 (RFC 6962) Merkle tree of the access log: leaf and node hashing, an append-only
// in-memory tree that answers roots and proofs for any earlier size, and proof verification.

import { createHash } from 'node:crypto';
import { CordonError } from '../shared/errors.js';

export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** The leaf hash SHA-256(0x00 || data). */
export function hashLeaf(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** The interior node hash SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** A proof, root or hash that does not check out. Carries both roots when that is what differs. */
export class MerkleProofError extends CordonError {
  declare readonly code: 'log.bad_proof';
  /** The root (or hash) the caller expected, when the failure is a mismatch. */
  readonly expected: Buffer | undefined;
  /** The root (or hash) the proof leads to, when the failure is a mismatch. */
  readonly computed: Buffer | undefined;
  constructor(message: string, evidence: { expected?: Uint8Array; computed?: Uint8Array } = {}) {
    super('log.bad_proof', message);
    this.name = 'MerkleProofError';
    this.expected = evidence.expected === undefined ? undefined : Buffer.from(evidence.expected);
    this.computed = evidence.computed === undefined ? undefined : Buffer.from(evidence.computed);
  }
}

// ---------------------------------------------------------------------------------------------
// Small integer helpers. Sizes go up to 2^53 - 1, beyond 32-bit bitwise operators, so these use
// arithmetic only.

function isIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function requireIndex(name: string, n: number): void {
  if (!isIndex(n)) throw new RangeError(`${name} must be a non-negative safe integer, got ${String(n)}`);
}

/** The largest power of two strictly less than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The exponent of the largest power of two <= n (n >= 1). */
function highestBit(n: number): number {
  let h = 0;
  let p = 1;
  while (p * 2 <= n) {
    p *= 2;
    h++;
  }
  return h;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** Right fold of complete-subtree hashes, leftmost first: H(s0, H(s1, ... H(sk-1, sk))). */
function foldRight(subtrees: readonly Uint8Array[]): Buffer {
  const last = subtrees[subtrees.length - 1];
  if (last === undefined) return Buffer.from(EMPTY_ROOT);
  let acc: Buffer = Buffer.from(last);
  for (let i = subtrees.length - 2; i >= 0; i--) acc = hashChildren(subtrees[i]!, acc);
  return acc;
}

// ---------------------------------------------------------------------------------------------

const INITIAL_CAPACITY = 64; // hashes per level before the first growth

/**
 * An append-only Merkle tree held in memory. For every level l it keeps the hash of each complete
 * subtree [i*2^l, (i+1)*2^l) in one flat buffer (32 bytes per hash, grown by doubling), so the root
 * of any size up to the current one and proofs between any such sizes cost O(log n) hash lookups.
 * Memory is about 64 bytes per leaf (2,000,000 leaves: about 128 MB).
 */
export class MerkleTree {
  /** levels[l] holds floor(size / 2^l) hashes; the capacity may be larger. */
  readonly #levels: Buffer[] = [];
  #size = 0;

  static fromLeafHashes(hashes: readonly Uint8Array[] | Uint8Array): MerkleTree {
    const t = new MerkleTree();
    t.appendLeafHashes(hashes);
    return t;
  }

  static fromLeaves(leaves: readonly Uint8Array[]): MerkleTree {
    const t = new MerkleTree();
    t.appendLeaves(leaves);
    return t;
  }

  /** The number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** Appends leaf data; each leaf is hashed with hashLeaf. */
  appendLeaves(leaves: readonly Uint8Array[]): void {
    for (const leaf of leaves) this.#appendOne(hashLeaf(leaf));
  }

  /**
   * Appends already-computed leaf hashes: an array of 32-byte hashes, or one buffer of
   * concatenated 32-byte hashes. Checks every length before appending anything, so a bad
   * argument leaves the tree unchanged.
   */
  appendLeafHashes(hashes: readonly Uint8Array[] | Uint8Array): void {
    if (hashes instanceof Uint8Array) {
      if (hashes.length % HASH_SIZE !== 0) throw new RangeError(`concatenated leaf hashes must be a multiple of ${HASH_SIZE} bytes, got ${hashes.length}`);
      for (let off = 0; off < hashes.length; off += HASH_SIZE) this.#appendOne(hashes.subarray(off, off + HASH_SIZE));
      return;
    }
    hashes.forEach((h, i) => {
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new RangeError(`leaf hash ${i} must be ${HASH_SIZE} bytes`);
    });
    for (const h of hashes) this.#appendOne(h);
  }

  /** The hash of leaf `index` (< size). */
  leafHash(index: number): Buffer {
    return this.hashAt(0, index);
  }

  /**
   * The hash of the complete subtree at `level` covering leaves [index*2^level, (index+1)*2^level).
   * Throws a RangeError if that subtree is not complete in the current tree.
   */
  hashAt(level: number, index: number): Buffer {
    this.#requireComplete(level, index, 1);
    return Buffer.from(this.#view(level, index));
  }

  /**
   * `count` consecutive complete-subtree hashes at `level`, starting at `start`, concatenated
   * (a copy). Throws a RangeError if any of them is not complete.
   */
  hashRange(level: number, start: number, count: number): Buffer {
    this.#requireComplete(level, start, count);
    const buf = this.#levels[level];
    if (buf === undefined || count === 0) return Buffer.alloc(0);
    return Buffer.from(buf.subarray(start * HASH_SIZE, (start + count) * HASH_SIZE));
  }

  /** The root hash MTH(D[0:size]) for any size <= this.size; EMPTY_ROOT for size 0. */
  root(size: number = this.#size): Buffer {
    this.#requireSize('size', size);
    return this.#rangeHash(0, size);
  }

  /**
   * The RFC 9162 §2.1.3.1 inclusion proof PATH(index, D[0:size]), lowest level first.
   * Requires index < size <= this.size.
   */
  inclusionProof(index: number, size: number): Buffer[] {
    this.#requireSize('size', size);
    requireIndex('index', index);
    if (index >= size) throw new RangeError(`index ${index} is not below size ${size}`);
    const out: Buffer[] = [];
    this.#path(index, 0, size, out);
    return out;
  }

  /**
   * The RFC 9162 §2.1.4.1 consistency proof PROOF(size1, D[0:size2]), lowest level first.
   * Requires size1 <= size2 <= this.size. For size1 == size2 the proof is empty; for size1 == 0 it
   * is empty too (there is nothing to prove about the empty tree, and verifyConsistency refuses it).
   */
  consistencyProof(size1: number, size2: number): Buffer[] {
    this.#requireSize('size2', size2);
    requireIndex('size1', size1);
    if (size1 > size2) throw new RangeError(`size1 ${size1} is greater than size2 ${size2}`);
    const out: Buffer[] = [];
    if (size1 > 0) this.#subproof(size1, 0, size2, true, out);
    return out;
  }

  // -------------------------------------------------------------------------------------------

  #appendOne(leafHash: Uint8Array): void {
    let index = this.#size;
    let level = 0;
    this.#write(0, index, leafHash);
    // Every odd index completes a pair, whose parent one level up is then complete too.
    while (isOdd(index)) {
      // The two children sit side by side in the level buffer: hash them in one update.
      const pair = this.#levels[level]!.subarray((index - 1) * HASH_SIZE, (index + 1) * HASH_SIZE);
      const parent = createHash('sha256').update(NODE_PREFIX).update(pair).digest();
      level++;
      index = half(index);
      this.#write(level, index, parent);
    }
    this.#size++;
  }

  #write(level: number, index: number, hash: Uint8Array): void {
    let buf = this.#levels[level];
    const end = (index + 1) * HASH_SIZE;
    if (buf === undefined || buf.length < end) {
      let capacity = buf === undefined ? INITIAL_CAPACITY * HASH_SIZE : buf.length * 2;
      while (capacity < end) capacity *= 2;
      const grown = Buffer.alloc(capacity);
      if (buf !== undefined) buf.copy(grown, 0, 0, index * HASH_SIZE);
      buf = grown;
      this.#levels[level] = buf;
    }
    buf.set(hash, index * HASH_SIZE);
  }

  /** A view (not a copy) of a stored hash; callers have checked completeness. */
  #view(level: number, index: number): Buffer {
    const buf = this.#levels[level]!;
    return buf.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }

  #requireSize(name: string, size: number): void {
    requireIndex(name, size);
    if (size > this.#size) throw new RangeError(`${name} ${size} is beyond the tree size ${this.#size}`);
  }

  #requireComplete(level: number, start: number, count: number): void {
    if (!Number.isInteger(level) || level < 0 || level > 53) throw new RangeError(`level must be an integer in 0..53, got ${String(level)}`);
    requireIndex('index', start);
    requireIndex('count', count);
    const width = 2 ** level;
    if ((start + count) * width > this.#size) {
      throw new RangeError(`hashes ${start}..${start + count - 1} at level ${level} are not complete in a tree of size ${this.#size}`);
    }
  }

  /**
   * MTH(D[start:end]) for a range the proof recursions produce: `start` is a multiple of the
   * smallest power of two >= end - start, so the range splits into complete subtrees that are
   * all stored, one per set bit of its length.
   */
  #rangeHash(start: number, end: number): Buffer {
    const subtrees: Buffer[] = [];
    let offset = start;
    let remaining = end - start;
    while (remaining > 0) {
      const h = highestBit(remaining);
      const width = 2 ** h;
      subtrees.push(this.#view(h, offset / width));
      offset += width;
      remaining -= width;
    }
    return foldRight(subtrees);
  }

  /** PATH(m, D[start:start+n]) appended to out. */
  #path(m: number, start: number, n: number, out: Buffer[]): void {
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      this.#path(m, start, k, out);
      out.push(this.#rangeHash(start + k, start + n));
    } else {
      this.#path(m - k, start + k, n - k, out);
      out.push(this.#rangeHash(start, start + k));
    }
  }

  /** SUBPROOF(m, D[start:start+n], b) appended to out. */
  #subproof(m: number, start: number, n: number, b: boolean, out: Buffer[]): void {
    if (m === n) {
      if (!b) out.push(this.#rangeHash(start, start + n));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.#subproof(m, start, k, b, out);
      out.push(this.#rangeHash(start + k, start + n));
    } else {
      this.#subproof(m - k, start + k, n - k, false, out);
      out.push(this.#rangeHash(start, start + k));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2), with the checks of transparency-dev/merkle's
// proof.VerifyInclusion / VerifyConsistency: every hash exactly 32 bytes, no proof from size 0.

function requireProofIndex(name: string, n: number): void {
  if (!isIndex(n)) throw new MerkleProofError(`${name} must be a non-negative safe integer, got ${String(n)}`);
}

function requireHash(name: string, h: Uint8Array): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new MerkleProofError(`${name} must be ${HASH_SIZE} bytes, got ${h instanceof Uint8Array ? h.length : typeof h}`);
  }
}

function requireProofHashes(proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof)) throw new MerkleProofError('proof must be an array of hashes');
  for (const [i, p] of proof.entries()) requireHash(`proof[${i}]`, p);
}

/**
 * The root that an inclusion proof for `leafHash` at `index` in a tree of `size` leads to.
 * Throws MerkleProofError if the inputs are malformed or the proof has the wrong length for
 * (index, size); it does not (cannot) say whether the root is the right one.
 */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Buffer {
  requireProofIndex('index', index);
  requireProofIndex('size', size);
  if (index >= size) throw new MerkleProofError(`index ${index} is not below tree size ${size}`);
  requireHash('leaf hash', leafHash);
  requireProofHashes(proof);
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) throw new MerkleProofError(`inclusion proof for index ${index} in size ${size} has too many hashes (${proof.length})`);
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleProofError(`inclusion proof for index ${index} in size ${size} has too few hashes (${proof.length})`);
  return r;
}

/** Checks that `leafHash` is leaf `index` of the tree of `size` with `root`. Throws MerkleProofError if not. */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  requireHash('root', root);
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!equalBytes(computed, root)) {
    throw new MerkleProofError(`inclusion proof for index ${index} in size ${size} leads to root ${hexOf(computed)}, not the expected ${hexOf(root)}`, {
      expected: root,
      computed,
    });
  }
}

/**
 * Checks that the tree of `size2` with `root2` extends the tree of `size1` with `root1`.
 * Throws MerkleProofError if not. size1 == 0 is refused ("from the empty tree" proves nothing):
 * callers that accept an empty old tree MUST handle that case before calling. With
 * size1 == size2 the proof must be empty and the roots byte-equal.
 */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  requireProofIndex('size1', size1);
  requireProofIndex('size2', size2);
  if (!Array.isArray(proof)) throw new MerkleProofError('proof must be an array of hashes');
  if (size2 < size1) throw new MerkleProofError(`size2 ${size2} is smaller than size1 ${size1}`);
  if (size1 === 0) throw new MerkleProofError('a consistency proof from the empty tree (size1 = 0) is meaningless');
  if (size1 === size2) {
    if (proof.length !== 0) throw new MerkleProofError(`sizes are equal (${size1}) but the proof is not empty (${proof.length} hashes)`);
    if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) throw new MerkleProofError('roots must be byte strings');
    if (!equalBytes(root1, root2)) {
      throw new MerkleProofError(`sizes are equal (${size1}) but the roots differ: ${hexOf(root1)} and ${hexOf(root2)}`, { expected: root1, computed: root2 });
    }
    return;
  }
  requireHash('root1', root1);
  requireHash('root2', root2);
  requireProofHashes(proof);
  if (proof.length === 0) throw new MerkleProofError(`consistency proof from size ${size1} to ${size2} is empty`);

  // When size1 is a power of two, the old root is itself a node of the new tree and the proof
  // omits it; put it back in front.
  const path: Uint8Array[] = 2 ** highestBit(size1) === size1 ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) throw new MerkleProofError(`consistency proof from size ${size1} to ${size2} has too many hashes (${proof.length})`);
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleProofError(`consistency proof from size ${size1} to ${size2} has too few hashes (${proof.length})`);
  if (!equalBytes(fr, root1)) {
    throw new MerkleProofError(`consistency proof leads to old root ${hexOf(fr)} at size ${size1}, not the expected ${hexOf(root1)}`, {
      expected: root1,
      computed: fr,
    });
  }
  if (!equalBytes(sr, root2)) {
    throw new MerkleProofError(`consistency proof leads to new root ${hexOf(sr)} at size ${size2}, not the expected ${hexOf(root2)}`, {
      expected: root2,
      computed: sr,
    });
  }
}
