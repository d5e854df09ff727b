// C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile and entry-bundle paths, the tiles a tree of
// a given size is made of, tile contents from a MerkleTree, and the client side (roots and
// verified leaf hashes computed from fetched tiles only).

import { EMPTY_ROOT, HASH_SIZE, MerkleProofError, MerkleTree, hashChildren } from './merkle.js';
import { CordonError } from '../shared/errors.js';

/** Hashes in a full tile. Tiles span 8 tree levels (256 = 2^8). */
export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;
/** The spec allows tile levels 0..63. */
export const MAX_TILE_LEVEL = 63;
/** Entries in a bundle carry a uint16 length. */
export const MAX_ENTRY_BYTES = 0xffff;
/** Longer than any canonical path (the longest is about 50 characters); checked before parsing. */
export const MAX_TILE_PATH_LENGTH = 80;

/** A hash tile: `width` hashes at tree level 8*level, from hash index*256 on. Width 256 = full. */
export interface TileCoord {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

export type ParsedTilePath =
  | { readonly kind: 'hash'; readonly level: number; readonly index: number; readonly width: number }
  | { readonly kind: 'entries'; readonly index: number; readonly width: number };

/** One tile level of a tree: how many full tiles it has and the width of its partial tile (0 = none). */
export interface TileLevelShape {
  readonly level: number;
  readonly fullTiles: number;
  readonly partialWidth: number;
}

/** A tile path that is malformed or not in canonical form. */
export class TilePathError extends CordonError {
  declare readonly code: 'log.bad_tile_path';
  constructor(message: string) {
    super('log.bad_tile_path', message);
    this.name = 'TilePathError';
  }
}

/** A tile or entry bundle whose bytes have the wrong form (length, truncation). */
export class TileFormatError extends CordonError {
  declare readonly code: 'log.bad_tile';
  constructor(message: string) {
    super('log.bad_tile', message);
    this.name = 'TileFormatError';
  }
}

// ---------------------------------------------------------------------------------------------
// Paths

function requireIndex(name: string, n: number): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${String(n)}`);
}

function requireLevel(level: number): void {
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new RangeError(`tile level must be an integer in 0..${MAX_TILE_LEVEL}, got ${String(level)}`);
  }
}

function requireWidth(width: number): void {
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new RangeError(`tile width must be an integer in 1..${TILE_WIDTH}, got ${String(width)}`);
  }
}

/** The tile index as zero-padded 3-digit path elements, all but the last prefixed with x: 1234067 -> x001/x234/067. */
export function encodeTileIndex(n: number): string {
  requireIndex('tile index', n);
  let digits = String(n);
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3));
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function widthSuffix(width: number): string {
  requireWidth(width);
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** `tile/<L>/<N>[.p/<W>]`; the `.p/<W>` suffix only for partial tiles (width < 256). */
export function tilePath(level: number, index: number, width: number = TILE_WIDTH): string {
  requireLevel(level);
  return `tile/${level}/${encodeTileIndex(index)}${widthSuffix(width)}`;
}

/** `tile/entries/<N>[.p/<W>]`; the `.p/<W>` suffix only for partial bundles (width < 256). */
export function entriesPath(index: number, width: number = TILE_WIDTH): string {
  return `tile/entries/${encodeTileIndex(index)}${widthSuffix(width)}`;
}

function quote(path: string): string {
  return JSON.stringify(path.length > MAX_TILE_PATH_LENGTH ? `${path.slice(0, MAX_TILE_PATH_LENGTH)}…` : path);
}

/**
 * Parses a tile or entry-bundle path (without the log prefix). Strict: accepts only the canonical
 * form that tilePath / entriesPath produce, so parse(p) succeeding implies format(parse(p)) === p.
 * Throws TilePathError naming what is wrong.
 */
export function parseTilePath(path: string): ParsedTilePath {
  if (typeof path !== 'string') throw new TilePathError(`tile path must be a string, got ${typeof path}`);
  const fail = (why: string): never => {
    throw new TilePathError(`bad tile path ${quote(path)}: ${why}`);
  };
  if (path.length > MAX_TILE_PATH_LENGTH) fail(`longer than ${MAX_TILE_PATH_LENGTH} characters`);
  const bad = /[^0-9a-z./]/.exec(path);
  if (bad) fail(`unexpected character ${JSON.stringify(bad[0])} at ${bad.index}`);

  const parts = path.split('/');
  if (parts[0] !== 'tile') fail('it must start with "tile/"');
  if (parts.includes('')) fail('it has an empty element (a doubled or trailing "/")');
  if (parts.length < 3) fail('it must be tile/<L>/<N> or tile/entries/<N>');
  const levelPart = parts[1]!;
  let level: number | undefined;
  if (levelPart !== 'entries') {
    if (!/^(0|[1-9][0-9]?)$/.test(levelPart))
      fail(`level ${JSON.stringify(levelPart)} must be "entries" or a decimal integer 0..${MAX_TILE_LEVEL} without leading zeros`);
    level = Number(levelPart);
    if (level > MAX_TILE_LEVEL) fail(`level ${level} is above ${MAX_TILE_LEVEL}`);
  }

  const groups = parts.slice(2);
  let width = TILE_WIDTH;
  const partialAt = groups.findIndex((g) => g.endsWith('.p'));
  if (partialAt !== -1) {
    if (partialAt !== groups.length - 2) fail('".p" must end the last index element and be followed by exactly one "/<W>"');
    const w = groups.pop()!;
    if (!/^[1-9][0-9]{0,2}$/.test(w)) fail(`partial width ${JSON.stringify(w)} must be a decimal integer 1..255 without leading zeros`);
    width = Number(w);
    if (width >= TILE_WIDTH) fail(`partial width ${width} must be below ${TILE_WIDTH}`);
    groups[groups.length - 1] = groups[groups.length - 1]!.slice(0, -2);
  }
  // 2^53 has 16 digits: 6 groups at most.
  if (groups.length > 6) fail(`index has ${groups.length} elements; at most 6 fit a safe integer`);
  let index = 0;
  groups.forEach((g, i) => {
    const last = i === groups.length - 1;
    if (g.includes('.')) fail(`index element ${JSON.stringify(g)} has a "." that is not a ".p/<W>" suffix of the last element`);
    if (last ? !/^[0-9]{3}$/.test(g) : !/^x[0-9]{3}$/.test(g)) {
      fail(`index element ${JSON.stringify(g)} must be ${last ? 'three digits (the last element)' : '"x" and three digits (all but the last element)'}`);
    }
    index = index * 1000 + Number(last ? g : g.slice(1));
  });
  if (groups.length > 1 && groups[0] === 'x000') fail('index has a leading x000 element (not canonical)');
  if (!Number.isSafeInteger(index)) fail('index is above 2^53 - 1');
  return level === undefined ? { kind: 'entries', index, width } : { kind: 'hash', level, index, width };
}

// ---------------------------------------------------------------------------------------------
// Tree shape

/** floor(size / 256^level), exact for safe integers. */
function hashesAtTileLevel(size: number, level: number): number {
  let n = size;
  for (let i = 0; i < level; i++) n = Math.floor(n / TILE_WIDTH);
  return n;
}

/**
 * The tiles a tree of `size` is made of, per level from 0 up (spec: "a tree of size 70,000 will be
 * represented by 273 full level 0 tiles, one partial level 0 tile of width 112, ...").
 * Level l has floor(size / 256^(l+1)) full tiles and a partial tile of width floor(size / 256^l) mod 256.
 */
export function tileShape(size: number): TileLevelShape[] {
  requireIndex('size', size);
  const out: TileLevelShape[] = [];
  for (let level = 0; ; level++) {
    const hashes = hashesAtTileLevel(size, level);
    if (hashes === 0) break;
    out.push({ level, fullTiles: Math.floor(hashes / TILE_WIDTH), partialWidth: hashes % TILE_WIDTH });
  }
  return out;
}

/**
 * Every tile (full and partial) that the log serves for a tree of `size`, level by level, full tiles
 * in index order then the partial one. O(size / 256) entries: a listing, not for huge trees.
 * To compute the root, only rootTilesForSize(size) is needed.
 */
export function tilesForSize(size: number): TileCoord[] {
  const out: TileCoord[] = [];
  for (const { level, fullTiles, partialWidth } of tileShape(size)) {
    for (let index = 0; index < fullTiles; index++) out.push({ level, index, width: TILE_WIDTH });
    if (partialWidth > 0) out.push({ level, index: fullTiles, width: partialWidth });
  }
  return out;
}

/**
 * The tiles a client needs for the root of a tree of `size`: the partial (right-edge) tile of each
 * level, lowest level first. Together they hold exactly the complete subtrees the root is made of.
 * Empty for size 0. A tile of width 256 never appears: a full right edge is covered one level up.
 */
export function rootTilesForSize(size: number): TileCoord[] {
  return tileShape(size)
    .filter((s) => s.partialWidth > 0)
    .map((s) => ({ level: s.level, index: s.fullTiles, width: s.partialWidth }));
}

/**
 * The bytes of hash tile (level, index, width) for `tree`: the `width` hashes at tree level
 * 8*level from hash index*256 on, concatenated. Throws a RangeError if the tree does not yet
 * hold all of them complete.
 */
export function tileContent(tree: MerkleTree, level: number, index: number, width: number): Buffer {
  requireLevel(level);
  requireIndex('tile index', index);
  requireWidth(width);
  const start = index * TILE_WIDTH;
  if (!Number.isSafeInteger(start)) throw new RangeError(`tile index ${index} is out of range`);
  if (level * TILE_HEIGHT > 53) throw new RangeError(`tile ${tilePath(level, index, width)} is beyond any tree of safe-integer size`);
  return tree.hashRange(level * TILE_HEIGHT, start, width);
}

// ---------------------------------------------------------------------------------------------
// Entry bundles

/** Encodes entries as a bundle: each `uint16 big-endian length || bytes`. Throws on entries over 65535 bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  let total = 0;
  entries.forEach((e, i) => {
    if (!(e instanceof Uint8Array)) throw new TypeError(`entry ${i} is not a byte array`);
    if (e.length > MAX_ENTRY_BYTES) throw new RangeError(`entry ${i} has ${e.length} bytes; a bundle entry holds at most ${MAX_ENTRY_BYTES}`);
    total += 2 + e.length;
  });
  const out = Buffer.alloc(total);
  let off = 0;
  for (const e of entries) {
    off = out.writeUInt16BE(e.length, off);
    out.set(e, off);
    off += e.length;
  }
  return out;
}

/**
 * Decodes an entry bundle. Strict: throws TileFormatError on a truncated length or entry, and,
 * when `expectedCount` is given, unless the bundle holds exactly that many entries.
 * The entries are copies, not views of `buf`.
 */
export function decodeEntryBundle(buf: Uint8Array, expectedCount?: number): Buffer[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + 2 > b.length) throw new TileFormatError(`entry bundle is truncated: entry ${out.length} at byte ${off} has no complete length`);
    const len = b.readUInt16BE(off);
    off += 2;
    if (off + len > b.length) throw new TileFormatError(`entry bundle is truncated: entry ${out.length} needs ${len} bytes, ${b.length - off} remain`);
    out.push(Buffer.from(b.subarray(off, off + len)));
    off += len;
    if (expectedCount !== undefined && out.length > expectedCount) break;
  }
  if (expectedCount !== undefined && out.length !== expectedCount) {
    const held = out.length > expectedCount ? `more than ${expectedCount}` : String(out.length);
    throw new TileFormatError(`entry bundle holds ${held} entries; expected ${expectedCount}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Client side

/**
 * Fetches hash tile (level, index, width). MUST resolve to the tile's bytes; a fetcher MAY serve a
 * partial tile from the full tile of the same index, truncated to width*32 bytes (the spec lets
 * logs delete partial tiles once the full one exists).
 */
export type FetchTile = (level: number, index: number, width: number) => Promise<Uint8Array>;

async function fetchChecked(fetchTile: FetchTile, t: TileCoord): Promise<Buffer> {
  const bytes = await fetchTile(t.level, t.index, t.width);
  const want = t.width * HASH_SIZE;
  if (!(bytes instanceof Uint8Array) || bytes.length !== want) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new TileFormatError(`tile ${tilePath(t.level, t.index, t.width)} has ${got}; it must have ${want} (${t.width} hashes)`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The complete-subtree hashes of the root decomposition found in a right-edge tile, leftmost first. */
function subtreesOfTile(tile: Buffer, width: number): Buffer[] {
  const t = MerkleTree.fromLeafHashes(tile);
  const out: Buffer[] = [];
  let offset = 0;
  for (let k = TILE_HEIGHT - 1; k >= 0; k--) {
    const span = 2 ** k;
    if (Math.floor(width / span) % 2 === 1) {
      out.push(t.hashAt(k, offset / span));
      offset += span;
    }
  }
  return out;
}

async function rootAndEdgeTiles(size: number, fetchTile: FetchTile): Promise<{ root: Buffer; edge: Map<string, Buffer> }> {
  requireIndex('size', size);
  const coords = rootTilesForSize(size);
  const tiles = await Promise.all(coords.map((t) => fetchChecked(fetchTile, t)));
  // Higher tile levels hold the leftmost (largest) subtrees.
  const subtrees: Buffer[] = [];
  for (let i = coords.length - 1; i >= 0; i--) subtrees.push(...subtreesOfTile(tiles[i]!, coords[i]!.width));
  let root = subtrees.length === 0 ? Buffer.from(EMPTY_ROOT) : subtrees[subtrees.length - 1]!;
  for (let i = subtrees.length - 2; i >= 0; i--) root = hashChildren(subtrees[i]!, root);
  const edge = new Map<string, Buffer>();
  for (const [i, t] of coords.entries()) edge.set(tilePath(t.level, t.index, t.width), tiles[i]!);
  return { root, edge };
}

/**
 * The root hash of the tree of `size`, computed from its right-edge tiles only (rootTilesForSize).
 * Throws TileFormatError naming the tile if a fetched tile has the wrong length. The result is
 * only as good as the tiles: compare it with a verified checkpoint root.
 */
export async function rootFromTiles(size: number, fetchTile: FetchTile): Promise<Buffer> {
  return (await rootAndEdgeTiles(size, fetchTile)).root;
}

/**
 * Leaf hashes [start, end) of the tree of `size` whose root is `root` (from a verified checkpoint),
 * read from tiles and verified: the right-edge tiles must give `root`, and each full tile must hash
 * to its entry in the tile above, up to a verified one. Throws MerkleProofError naming the tile on
 * any mismatch, TileFormatError on a tile of the wrong length.
 */
export async function leafHashesFromTiles(size: number, root: Uint8Array, start: number, end: number, fetchTile: FetchTile): Promise<Buffer[]> {
  requireIndex('start', start);
  requireIndex('end', end);
  if (start > end || end > size) throw new RangeError(`leaf range ${start}..${end} is not within the tree size ${size}`);
  const { root: computed, edge } = await rootAndEdgeTiles(size, fetchTile);
  if (Buffer.compare(computed, root) !== 0) {
    throw new MerkleProofError(
      `the right-edge tiles of size ${size} give root ${computed.toString('hex')}, not the expected ${Buffer.from(root).toString('hex')}`,
      { expected: root, computed },
    );
  }
  const verified = new Map<string, Promise<Buffer>>();
  for (const [path, tile] of edge) verified.set(path, Promise.resolve(tile));

  const tileAt = (level: number, index: number): Promise<Buffer> => {
    const full = Math.floor(hashesAtTileLevel(size, level) / TILE_WIDTH);
    const width = index < full ? TILE_WIDTH : hashesAtTileLevel(size, level) % TILE_WIDTH;
    const path = tilePath(level, index, width);
    let p = verified.get(path);
    if (p === undefined) {
      // Only full tiles get here: every partial tile of this size is an edge tile, already verified.
      p = (async () => {
        const [tile, parent] = await Promise.all([fetchChecked(fetchTile, { level, index, width }), tileAt(level + 1, Math.floor(index / TILE_WIDTH))]);
        const slot = index % TILE_WIDTH;
        const want = parent.subarray(slot * HASH_SIZE, (slot + 1) * HASH_SIZE);
        const got = MerkleTree.fromLeafHashes(tile).root();
        if (!got.equals(want)) {
          throw new MerkleProofError(`tile ${path} hashes to ${got.toString('hex')}, but the tile above holds ${want.toString('hex')}`, {
            expected: want,
            computed: got,
          });
        }
        return tile;
      })();
      verified.set(path, p);
    }
    return p;
  };

  const out: Buffer[] = [];
  if (start === end) return out;
  const first = Math.floor(start / TILE_WIDTH);
  const last = Math.floor((end - 1) / TILE_WIDTH);
  const indexes: number[] = [];
  for (let n = first; n <= last; n++) indexes.push(n);
  const tiles = await Promise.all(indexes.map((n) => tileAt(0, n)));
  tiles.forEach((tile, i) => {
    const base = indexes[i]! * TILE_WIDTH;
    const from = Math.max(start, base);
    const to = Math.min(end, base + TILE_WIDTH);
    for (let j = from; j < to; j++) out.push(Buffer.from(tile.subarray((j - base) * HASH_SIZE, (j - base + 1) * HASH_SIZE)));
  });
  return out;
}
