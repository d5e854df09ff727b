// C2SP tlog-tiles: path encoding against the spec examples, and tiles, bundles and roots against
// the published Tessera test log and Sunlight mirror tiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMPTY_ROOT, MerkleProofError, MerkleTree, hashLeaf } from './merkle.js';
import { mulberry32 } from '../shared/random.js';
import {
  TilePathError,
  TileFormatError,
  decodeEntryBundle,
  encodeEntryBundle,
  encodeTileIndex,
  entriesPath,
  leafHashesFromTiles,
  parseTilePath,
  rootFromTiles,
  rootTilesForSize,
  tileContent,
  tilePath,
  tileShape,
  tilesForSize,
  type FetchTile,
  type ParsedTilePath,
} from './tiles.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/transparency/tlog-tiles', import.meta.url));
const TESSERA = join(FIXTURES, 'tessera-testdata-log');
const MIRROR = join(FIXTURES, 'sunlight-skylight-mirror');

interface TilePaths {
  c2sp_index_encoding: { index: number; path: string; source?: string; derived?: boolean }[];
  c2sp_tree_shapes: { tree_size: number; computed: { level: number; full_tiles: number; partial_width: number }[]; example_paths?: string[] }[];
  golang_sumdb_tile_paths_NOT_C2SP: { vectors: { path: string }[] };
}
const TILE_PATHS = JSON.parse(readFileSync(join(FIXTURES, 'tile-paths.json'), 'utf8')) as TilePaths;

/** The root line (third line) of a checkpoint note; signatures are checked elsewhere. */
function checkpointRoot(file: string): { size: number; root: Buffer } {
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.match(lines[1] ?? '', /^[0-9]+$/);
  assert.match(lines[2] ?? '', /^[A-Za-z0-9+/]{43}=$/);
  return { size: Number(lines[1]), root: Buffer.from(lines[2]!, 'base64') };
}

function fileFetcher(dir: string, fetched?: string[]): FetchTile {
  return async (level, index, width) => {
    const p = tilePath(level, index, width);
    fetched?.push(p);
    return readFile(join(dir, p));
  };
}

function treeFetcher(tree: MerkleTree, fetched?: string[]): FetchTile {
  return async (level, index, width) => {
    fetched?.push(tilePath(level, index, width));
    return tileContent(tree, level, index, width);
  };
}

function formatParsed(p: ParsedTilePath): string {
  return p.kind === 'hash' ? tilePath(p.level, p.index, p.width) : entriesPath(p.index, p.width);
}

// ---------------------------------------------------------------------------------------------
// Paths

test('tile index encoding: every C2SP example', () => {
  const examples = TILE_PATHS.c2sp_index_encoding;
  assert.equal(examples.length, 6);
  assert.ok(examples.some((e) => e.source === 'c2sp' && e.index === 1234067 && e.path === 'x001/x234/067'));
  for (const e of examples) {
    assert.equal(encodeTileIndex(e.index), e.path, `index ${e.index}`);
    assert.deepEqual(parseTilePath(`tile/0/${e.path}`), { kind: 'hash', level: 0, index: e.index, width: 256 });
    assert.deepEqual(parseTilePath(`tile/entries/${e.path}.p/7`), { kind: 'entries', index: e.index, width: 7 });
  }
});

test('tree shapes: every C2SP example, and the paths they name', () => {
  const shapes = TILE_PATHS.c2sp_tree_shapes;
  assert.equal(shapes.length, 4);
  for (const s of shapes) {
    assert.deepEqual(
      tileShape(s.tree_size),
      s.computed.map((c) => ({ level: c.level, fullTiles: c.full_tiles, partialWidth: c.partial_width })),
      `size ${s.tree_size}`,
    );
    if (s.example_paths) {
      const hashTiles = tilesForSize(s.tree_size).map((t) => tilePath(t.level, t.index, t.width));
      const level0 = tilesForSize(s.tree_size).filter((t) => t.level === 0);
      const bundles = level0.map((t) => entriesPath(t.index, t.width));
      assert.deepEqual([...hashTiles, ...bundles].filter((p) => s.example_paths!.includes(p)).sort(), [...s.example_paths].sort());
    }
  }
  assert.deepEqual(
    tilesForSize(300).map((t) => tilePath(t.level, t.index, t.width)),
    ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1'],
  );
  assert.deepEqual(tilesForSize(0), []);
  assert.equal(tilesForSize(70000).length, 273 + 1 + 1 + 1 + 1);
  assert.deepEqual(rootTilesForSize(70000), [
    { level: 0, index: 273, width: 112 },
    { level: 1, index: 1, width: 17 },
    { level: 2, index: 0, width: 1 },
  ]);
  assert.deepEqual(rootTilesForSize(256), [{ level: 1, index: 0, width: 1 }]);
  assert.deepEqual(rootTilesForSize(65536 * 3), [{ level: 2, index: 0, width: 3 }]);
});

test('tilePath and entriesPath', () => {
  assert.equal(tilePath(0, 0), 'tile/0/000');
  assert.equal(tilePath(0, 1, 44), 'tile/0/001.p/44');
  assert.equal(tilePath(1, 1234067, 256), 'tile/1/x001/x234/067');
  assert.equal(tilePath(63, 0, 1), 'tile/63/000.p/1');
  assert.equal(entriesPath(0, 15), 'tile/entries/000.p/15');
  assert.equal(entriesPath(1000), 'tile/entries/x001/000');
  assert.equal(encodeTileIndex(Number.MAX_SAFE_INTEGER), 'x009/x007/x199/x254/x740/991');
  assert.throws(() => tilePath(64, 0), RangeError);
  assert.throws(() => tilePath(0, 0, 0), RangeError);
  assert.throws(() => tilePath(0, 0, 257), RangeError);
  assert.throws(() => tilePath(0, -1), RangeError);
  assert.throws(() => encodeTileIndex(2 ** 53), RangeError);
  assert.throws(() => encodeTileIndex(1.5), RangeError);
});

test('parse(format(x)) == x for random coordinates', () => {
  const rand = mulberry32(6962);
  const indexes = [0, 1, 255, 256, 999, 1000, 999_999, 1_000_000, 1234067, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 200; i++) indexes.push(Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 15))));
  let n = 0;
  for (const index of indexes) {
    for (const width of [1, 2, 128, 255, 256, 1 + Math.floor(rand() * 255)]) {
      const level = Math.floor(rand() * 64);
      const hp = tilePath(level, index, width);
      assert.deepEqual(parseTilePath(hp), { kind: 'hash', level, index, width }, hp);
      const ep = entriesPath(index, width);
      assert.deepEqual(parseTilePath(ep), { kind: 'entries', index, width }, ep);
      n++;
    }
  }
  assert.equal(n, indexes.length * 6);
});

test('malformed and non-canonical tile paths are refused with TilePathError', () => {
  const cases: { path: string; note: string; says: RegExp }[] = [
    { path: '', note: 'empty', says: /start with "tile\/"/ },
    { path: 'tile/', note: 'only tile/', says: /empty element/ },
    { path: 'tile', note: 'no level', says: /tile\/<L>\/<N>/ },
    { path: 'tile/0', note: 'no index', says: /tile\/<L>\/<N>/ },
    { path: '/tile/0/000', note: 'leading slash', says: /start with "tile\/"/ },
    { path: 'tiles/0/000', note: 'wrong root', says: /start with "tile\/"/ },
    { path: 'tile/0/000/', note: 'trailing slash', says: /empty element/ },
    { path: 'tile//000', note: 'empty level', says: /empty element/ },
    { path: 'tile/00/000', note: 'level with a leading zero', says: /level "00"/ },
    { path: 'tile/01/000', note: 'level with a leading zero', says: /level "01"/ },
    { path: 'tile/64/000', note: 'level above 63', says: /level 64 is above 63/ },
    { path: 'tile/100/000', note: 'three-digit level', says: /level "100"/ },
    { path: 'tile/-1/000', note: 'negative level', says: /unexpected character "-"/ },
    { path: 'tile/data/000', note: 'Go sumdb data tiles are not C2SP', says: /level "data"/ },
    { path: 'tile/Entries/000', note: 'upper case', says: /unexpected character "E"/ },
    { path: 'tile/0/00', note: 'two digits', says: /"00" must be three digits/ },
    { path: 'tile/0/0000', note: 'four digits', says: /"0000" must be three digits/ },
    { path: 'tile/0/x000', note: 'x on the last element', says: /"x000" must be three digits/ },
    { path: 'tile/0/001/000', note: 'missing x', says: /"001" must be "x" and three digits/ },
    { path: 'tile/0/x001/x000', note: 'x on the last element', says: /"x000" must be three digits/ },
    { path: 'tile/0/x000/001', note: 'leading x000 (non-canonical 1)', says: /leading x000/ },
    { path: 'tile/0/x000/x000/000', note: 'leading x000 (non-canonical 0)', says: /leading x000/ },
    { path: 'tile/0/x01/000', note: 'short x element', says: /"x01" must be "x" and three digits/ },
    { path: 'tile/0/x1234/000', note: 'long x element', says: /"x1234"/ },
    { path: 'tile/0/x009/x007/x199/x254/x740/992', note: '2^53', says: /above 2\^53 - 1/ },
    { path: 'tile/0/x999/x999/x999/x999/x999/999', note: 'far above 2^53', says: /above 2\^53 - 1/ },
    { path: 'tile/0/x001/x001/x001/x001/x001/x001/001', note: 'seven elements', says: /at most 6/ },
    { path: 'tile/0/000.p', note: '.p without width', says: /followed by exactly one/ },
    { path: 'tile/0/000.p/', note: 'empty width', says: /empty element/ },
    { path: 'tile/0/000.p/0', note: 'width 0', says: /partial width "0"/ },
    { path: 'tile/0/000.p/256', note: 'width 256 is a full tile', says: /partial width 256 must be below 256/ },
    { path: 'tile/0/000.p/999', note: 'width above 256', says: /partial width 999/ },
    { path: 'tile/0/000.p/1000', note: 'four-digit width', says: /partial width "1000"/ },
    { path: 'tile/0/000.p/015', note: 'width with a leading zero', says: /partial width "015"/ },
    { path: 'tile/0/000.p/15/1', note: 'extra element after the width', says: /followed by exactly one/ },
    { path: 'tile/0/x001.p/000', note: 'width 000', says: /partial width "000"/ },
    { path: 'tile/0/x001.p/001/5', note: '.p on a non-final element', says: /followed by exactly one/ },
    { path: 'tile/0/x001.p/5', note: '.p after an x element', says: /"x001" must be three digits/ },
    { path: 'tile/0/000.q/5', note: 'other suffix', says: /"000.q" has a "." that is not a ".p\/<W>" suffix/ },
    { path: 'tile/0/000.p.p/5', note: 'doubled suffix', says: /"000.p" has a "."/ },
    { path: 'tile/0/ 000', note: 'space', says: /unexpected character " "/ },
    { path: 'tile/0/000\n', note: 'newline', says: /unexpected character "\\n"/ },
    { path: 'tile/0/٠٠٠', note: 'non-ASCII digits', says: /unexpected character/ },
    { path: 'tile/0/../000', note: 'dot segment', says: /index element "\.\." has a "."/ },
    { path: 'tile/entries/000.p/-1', note: 'negative width', says: /unexpected character "-"/ },
    { path: 'tile/entries', note: 'entries without index', says: /tile\/<L>\/<N>/ },
    { path: `tile/0/${'x001/'.repeat(20)}000`, note: 'over-long', says: /longer than 80/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseTilePath(c.path),
      (e: unknown) => {
        assert.ok(e instanceof TilePathError, `${c.note}: ${String(e)}`);
        assert.equal(e.code, 'log.bad_tile_path');
        assert.match(e.message, c.says, c.note);
        return true;
      },
      `${c.note}: ${JSON.stringify(c.path)} was accepted`,
    );
  }
  // Go checksum-database paths put the tile height in the path; none is a C2SP path.
  const go = TILE_PATHS.golang_sumdb_tile_paths_NOT_C2SP.vectors;
  assert.equal(go.length, 8);
  for (const v of go) assert.throws(() => parseTilePath(v.path), TilePathError, v.path);
  assert.throws(() => parseTilePath(42 as unknown as string), TilePathError);
});

test('fuzz: garbage never crashes the parser, and whatever it accepts is canonical', () => {
  const rand = mulberry32(1234);
  const alphabet = 'tile/entries/0123456789x.p/xx//..pp0009';
  const seeds = ['tile/0/000', 'tile/entries/x001/x234/067.p/255', 'tile/63/x009/x007/x199/x254/x740/991', 'tile/1/000.p/1'];
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    let s: string;
    if (i % 2 === 0) {
      s = Array.from({ length: Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      if (rand() < 0.5) s = `tile/${s}`;
    } else {
      const chars = [...seeds[i % seeds.length]!];
      for (let m = 0, edits = 1 + Math.floor(rand() * 3); m < edits; m++) {
        const at = Math.floor(rand() * (chars.length + 1));
        const op = Math.floor(rand() * 3);
        const ch = alphabet[Math.floor(rand() * alphabet.length)]!;
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, ch);
        else chars[at] = ch;
      }
      s = chars.join('');
    }
    try {
      const p = parseTilePath(s);
      assert.equal(formatParsed(p), s, `accepted a non-canonical path ${JSON.stringify(s)}`);
      accepted++;
    } catch (e) {
      assert.ok(e instanceof TilePathError, `${JSON.stringify(s)}: ${String(e)}`);
      refused++;
    }
  }
  assert.ok(accepted > 100 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
});

// ---------------------------------------------------------------------------------------------
// Entry bundles

test('entry bundles: round trip, limits, and truncation', () => {
  const entries = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(65535, 7), Buffer.from('last')];
  const bundle = encodeEntryBundle(entries);
  assert.equal(bundle.length, 2 * 4 + 0 + 1 + 65535 + 4);
  assert.deepEqual(bundle.subarray(0, 5), Buffer.from([0, 0, 0, 1, 0x61]));
  assert.deepEqual(decodeEntryBundle(bundle), entries);
  assert.deepEqual(decodeEntryBundle(bundle, 4), entries);
  assert.deepEqual(decodeEntryBundle(Buffer.alloc(0)), []);
  assert.throws(() => encodeEntryBundle([Buffer.alloc(65536)]), RangeError);
  assert.throws(() => decodeEntryBundle(bundle, 3), /holds more than 3 entries; expected 3/);
  assert.throws(() => decodeEntryBundle(bundle, 5), /holds 4 entries; expected 5/);
  // Every cut that is not an entry boundary is a truncation.
  const small = encodeEntryBundle([Buffer.from('one'), Buffer.from(''), Buffer.from('three')]);
  const boundaries = new Set([0, 5, 7, 14]);
  for (let cut = 0; cut <= small.length; cut++) {
    if (boundaries.has(cut)) assert.ok(Array.isArray(decodeEntryBundle(small.subarray(0, cut))));
    else assert.throws(() => decodeEntryBundle(small.subarray(0, cut)), TileFormatError, `cut at ${cut}`);
  }
});

// ---------------------------------------------------------------------------------------------
// The Tessera test log (15 entries, a checkpoint for every size)

interface DerivedProofs {
  leaf_inputs_utf8: string[];
}
const TESSERA_ENTRIES = (JSON.parse(readFileSync(join(FIXTURES, 'tessera-testdata-log.derived-proofs.json'), 'utf8')) as DerivedProofs).leaf_inputs_utf8.map(
  (s) => Buffer.from(s, 'utf8'),
);

test('tessera log: the root of every size from its tiles, its bundles and our tree', async () => {
  assert.equal(TESSERA_ENTRIES.length, 15);
  const tree = MerkleTree.fromLeaves(TESSERA_ENTRIES);
  const cp0 = checkpointRoot(join(TESSERA, 'checkpoint.0'));
  assert.deepEqual(cp0, { size: 0, root: EMPTY_ROOT });
  assert.deepEqual(await rootFromTiles(0, fileFetcher(TESSERA)), EMPTY_ROOT);
  assert.deepEqual(checkpointRoot(join(TESSERA, 'checkpoint')), checkpointRoot(join(TESSERA, 'checkpoint.15')));
  let checked = 0;
  for (let n = 1; n <= 15; n++) {
    const { size, root } = checkpointRoot(join(TESSERA, `checkpoint.${n}`));
    assert.equal(size, n);
    // From the hash tile.
    const fetched: string[] = [];
    assert.deepEqual(await rootFromTiles(n, fileFetcher(TESSERA, fetched)), root, `root from tile/0/000.p/${n}`);
    assert.deepEqual(fetched, [`tile/0/000.p/${n}`]);
    const tile = readFileSync(join(TESSERA, `tile/0/000.p/${n}`));
    assert.equal(tile.length, 32 * n);
    // From the entry bundle.
    const bundle = readFileSync(join(TESSERA, `tile/entries/000.p/${n}`));
    const entries = decodeEntryBundle(bundle, n);
    assert.deepEqual(entries, TESSERA_ENTRIES.slice(0, n));
    assert.deepEqual(MerkleTree.fromLeaves(entries).root(), root, `root from tile/entries/000.p/${n}`);
    assert.deepEqual(Buffer.concat(entries.map(hashLeaf)), tile, 'the bundle hashes to the tile');
    // Ours, byte for byte.
    assert.deepEqual(tree.root(n), root);
    assert.deepEqual(tileContent(tree, 0, 0, n), tile, `our tile/0/000.p/${n}`);
    assert.deepEqual(encodeEntryBundle(TESSERA_ENTRIES.slice(0, n)), bundle, `our tile/entries/000.p/${n}`);
    assert.deepEqual(await leafHashesFromTiles(n, root, 0, n, fileFetcher(TESSERA)), entries.map(hashLeaf));
    checked++;
  }
  assert.equal(checked, 15);
  assert.throws(() => tileContent(tree, 0, 0, 16), RangeError, 'tile/0/000.p/16 is beyond the tree');
  assert.throws(() => tileContent(tree, 0, 0, 256), RangeError);
  assert.throws(() => tileContent(tree, 1, 0, 1), RangeError);
});

// ---------------------------------------------------------------------------------------------
// The Sunlight mirror tiles (300 entries "record i")

test('sunlight mirror: our tiles equal the published ones, and the tiles give the checkpoint root', async () => {
  const tree = MerkleTree.fromLeaves(Array.from({ length: 300 }, (_, i) => Buffer.from(`record ${i}`)));
  const { size, root } = checkpointRoot(join(MIRROR, 'checkpoint'));
  assert.equal(size, 300);
  assert.equal(root.toString('base64'), 'gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=');
  assert.deepEqual(tree.root(), root);
  for (const t of tilesForSize(300)) {
    const p = tilePath(t.level, t.index, t.width);
    assert.deepEqual(tileContent(tree, t.level, t.index, t.width), readFileSync(join(MIRROR, p)), p);
  }
  const fetched: string[] = [];
  assert.deepEqual(await rootFromTiles(300, fileFetcher(MIRROR, fetched)), root);
  assert.deepEqual(fetched.sort(), ['tile/0/001.p/44', 'tile/1/000.p/1']);
  // Reading all leaf hashes verifies the full tile 0/000 against its hash in tile/1/000.p/1.
  const leaves = await leafHashesFromTiles(300, root, 0, 300, fileFetcher(MIRROR));
  assert.equal(leaves.length, 300);
  for (const [i, h] of leaves.entries()) assert.deepEqual(h, tree.leafHash(i), `leaf ${i}`);
  assert.deepEqual(
    await leafHashesFromTiles(300, root, 250, 260, fileFetcher(MIRROR)),
    Array.from({ length: 10 }, (_, i) => tree.leafHash(250 + i)),
  );
});

// ---------------------------------------------------------------------------------------------
// A synthetic tree across tile levels 0..2

test('synthetic tree of 70,000 leaves: rootFromTiles equals tree.root() at tile boundaries', async () => {
  const N = 70_000;
  const hashes = Buffer.alloc(32 * N);
  for (let i = 0; i < N; i++) hashes.writeUInt32BE(i, i * 32);
  const tree = MerkleTree.fromLeafHashes(hashes);
  const sizes = [1, 2, 3, 255, 256, 257, 511, 512, 513, 256 * 255, 65535, 65536, 65537, 65536 + 256, 65536 + 257, 69999, 70000];
  for (const size of sizes) {
    const fetched: string[] = [];
    assert.deepEqual(await rootFromTiles(size, treeFetcher(tree, fetched)), tree.root(size), `size ${size}`);
    assert.deepEqual(
      fetched,
      rootTilesForSize(size).map((t) => tilePath(t.level, t.index, t.width)),
      `tiles fetched for size ${size}`,
    );
  }
  assert.deepEqual(tileShape(N), [
    { level: 0, fullTiles: 273, partialWidth: 112 },
    { level: 1, fullTiles: 1, partialWidth: 17 },
    { level: 2, fullTiles: 0, partialWidth: 1 },
  ]);
  // A full tile's entry one level up is the hash of the tile (spec: MTH of the 256 hashes below).
  assert.deepEqual(tileContent(tree, 1, 0, 256).subarray(32 * 5, 32 * 6), MerkleTree.fromLeafHashes(tileContent(tree, 0, 5, 256)).root());
  assert.deepEqual(tileContent(tree, 2, 0, 1), tree.root(65536));

  // Verified leaf hashes that need full tiles at two levels.
  const root = tree.root();
  const got = await leafHashesFromTiles(N, root, 65530, 65600, treeFetcher(tree));
  assert.deepEqual(Buffer.concat(got), hashes.subarray(65530 * 32, 65600 * 32));
});

test('the tile client refuses short tiles, tampered tiles and a wrong root', async () => {
  const tree = MerkleTree.fromLeafHashes(Array.from({ length: 1000 }, (_, i) => hashLeaf(Buffer.from(String(i)))));
  const root = tree.root();
  const honest = treeFetcher(tree);
  const short: FetchTile = async (l, i, w) => (await honest(l, i, w)).subarray(0, w * 32 - 1);
  await assert.rejects(rootFromTiles(1000, short), (e: unknown) => {
    assert.ok(e instanceof TileFormatError);
    assert.equal(e.code, 'log.bad_tile');
    assert.match(e.message, /tile tile\/0\/003\.p\/232 has 7423 bytes; it must have 7424/);
    return true;
  });
  const tampered =
    (path: string): FetchTile =>
    async (l, i, w) => {
      const b = Buffer.from(await honest(l, i, w));
      if (tilePath(l, i, w) === path) b[40]! ^= 1;
      return b;
    };
  await assert.rejects(leafHashesFromTiles(1000, root, 0, 10, tampered('tile/0/000')), (e: unknown) => {
    assert.ok(e instanceof MerkleProofError);
    assert.match(e.message, /tile tile\/0\/000 hashes to [0-9a-f]{64}, but the tile above holds/);
    return true;
  });
  await assert.rejects(leafHashesFromTiles(1000, root, 0, 10, tampered('tile/1/000.p/3')), MerkleProofError);
  await assert.rejects(leafHashesFromTiles(1000, tree.root(999), 0, 10, honest), /right-edge tiles of size 1000 give root/);
  assert.notDeepEqual(await rootFromTiles(1000, tampered('tile/0/003.p/232')), root);
  await assert.rejects(leafHashesFromTiles(1000, root, 990, 1001, honest), RangeError);
});
