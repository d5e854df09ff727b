// The outsider's check of a log served as C2SP tlog-tiles: fetch the checkpoint, verify its
// signature (and cosignatures), fetch every entry bundle and hash tile, recompute the tree, and
// check that it is the tree the checkpoint signs and that it extends the last tree this verifier
// accepted (kept in a state file). Any mismatch comes back as evidence, never as a bare "failed".

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { MerkleTree, hashLeaf } from './merkle.js';
import { decodeEntryBundle, entriesPath, tileContent, tilePath, TILE_WIDTH } from './tiles.js';
import { openCheckpoint } from './checkpoint.js';
import { CordonError } from '../shared/errors.js';

export interface VerifyOptions {
  /** Base URL; `<url>/log/checkpoint` and `<url>/log/tile/…` are fetched. */
  readonly url: string;
  readonly vkey: string;
  readonly statePath?: string;
  readonly witnesses?: readonly string[];
  readonly minCosignatures?: number;
  readonly fetch?: (url: string) => Promise<Response>;
  /** Called after each entry bundle with entries verified so far and the tree size. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface VerifyState {
  readonly origin: string;
  readonly size: number;
  /** base64 */
  readonly root: string;
  readonly checkpoint: string;
}

export interface VerifyProblem {
  readonly kind: 'signature' | 'fetch' | 'entries' | 'tile' | 'root' | 'rollback' | 'fork' | 'state';
  readonly message: string;
  readonly evidence: Readonly<Record<string, string | number>>;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly origin?: string;
  readonly size?: number;
  readonly root?: string;
  readonly cosignatures?: readonly { readonly name: string; readonly time: number }[];
  readonly previous?: { readonly size: number; readonly root: string };
  readonly problems: readonly VerifyProblem[];
  /** The verified leaf hashes (for callers that go on to check records). */
  readonly tree?: MerkleTree;
  /** The verified entries, in order (base64 would waste memory; kept as Buffers). */
  readonly entries?: readonly Buffer[];
}

/** Carries the first problem out of verifyLog's steps; it returns the problem as a value. */
class Failed extends CordonError {
  constructor(readonly problem: VerifyProblem) {
    super('log.verify_failed', problem.message);
    this.name = 'Failed';
  }
}

export function readVerifyState(path: string): VerifyState | undefined {
  if (!existsSync(path)) return undefined;
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<VerifyState>;
  if (typeof raw.origin !== 'string' || !Number.isSafeInteger(raw.size) || typeof raw.root !== 'string' || typeof raw.checkpoint !== 'string') {
    throw new Error(`${path} is not a cordon log-verify state file (origin, size, root, checkpoint)`);
  }
  return raw as VerifyState;
}

function writeVerifyState(path: string, state: VerifyState): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export async function verifyLog(options: VerifyOptions): Promise<VerifyResult> {
  const get = options.fetch ?? ((u: string) => fetch(u));
  const base = options.url.replace(/\/+$/, '');
  const problems: VerifyProblem[] = [];

  const fetchBytes = async (path: string): Promise<Buffer> => {
    let res: Response;
    try {
      res = await get(`${base}/log/${path}`);
    } catch (err) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, …) is its cause's.
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error).message;
      throw new Failed({ kind: 'fetch', message: `could not fetch ${path}: ${why}`, evidence: { path } });
    }
    if (!res.ok) throw new Failed({ kind: 'fetch', message: `${path}: HTTP ${res.status}`, evidence: { path, status: res.status } });
    return Buffer.from(await res.arrayBuffer());
  };

  let previous: VerifyState | undefined;
  try {
    previous = options.statePath ? readVerifyState(options.statePath) : undefined;
  } catch (err) {
    return { ok: false, problems: [{ kind: 'state', message: (err as Error).message, evidence: { path: options.statePath ?? '' } }] };
  }

  try {
    const note = (await fetchBytes('checkpoint')).toString('utf8');
    let opened: ReturnType<typeof openCheckpoint>;
    try {
      opened = openCheckpoint(note, options.vkey, {
        witnesses: options.witnesses ? [...options.witnesses] : undefined,
        minCosignatures: options.minCosignatures,
      });
    } catch (err) {
      throw new Failed({ kind: 'signature', message: `the checkpoint does not verify: ${(err as Error).message}`, evidence: { checkpoint: note } });
    }
    const { checkpoint: cp } = opened;
    const size = cp.size;

    // Entries: every bundle, each entry hashed into a leaf.
    const tree = new MerkleTree();
    const entries: Buffer[] = [];
    const bundles = Math.ceil(size / TILE_WIDTH);
    for (let n = 0; n < bundles; n++) {
      const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
      const path = entriesPath(n, width);
      const bundle = await fetchBytes(path);
      let decoded: Buffer[];
      try {
        decoded = decodeEntryBundle(bundle);
      } catch (err) {
        throw new Failed({ kind: 'entries', message: `entry bundle ${path} is malformed: ${(err as Error).message}`, evidence: { tile: path } });
      }
      if (decoded.length !== width) {
        throw new Failed({
          kind: 'entries',
          message: `entry bundle ${path} holds ${decoded.length} entries, expected ${width}`,
          evidence: { tile: path, found: decoded.length, expected: width },
        });
      }
      tree.appendLeafHashes(decoded.map((e) => hashLeaf(e)));
      entries.push(...decoded);
      options.onProgress?.(tree.size, size);
    }

    // The root the entries give must be the signed one.
    const root = tree.root(size);
    if (!root.equals(cp.root)) {
      throw new Failed({
        kind: 'root',
        message: `the entries give root ${root.toString('base64')} at size ${size}, but the checkpoint signs ${cp.root.toString('base64')}`,
        evidence: { size, computed_root: root.toString('base64'), signed_root: cp.root.toString('base64') },
      });
    }

    // Hash tiles, at every level, must be the ones the entries give (clients rely on them for proofs).
    for (let level = 0, width = size; width > 0; level++, width = Math.floor(width / TILE_WIDTH)) {
      const tiles = Math.ceil(width / TILE_WIDTH);
      for (let n = 0; n < tiles; n++) {
        const w = Math.min(TILE_WIDTH, width - n * TILE_WIDTH);
        const path = tilePath(level, n, w);
        const got = await fetchBytes(path);
        const want = tileContent(tree, level, n, w);
        if (!got.equals(want)) {
          let at = 0;
          while (at < want.length && got[at] === want[at]) at++;
          throw new Failed({
            kind: 'tile',
            message: `hash tile ${path} differs from the hashes of the entries (first difference at hash ${Math.floor(at / 32)})`,
            evidence: { tile: path, hash: Math.floor(at / 32), size },
          });
        }
      }
    }

    // The tree must extend the last one this verifier accepted.
    if (previous) {
      if (previous.origin !== cp.origin) {
        throw new Failed({
          kind: 'state',
          message: `the state file is for log ${previous.origin}, not ${cp.origin}`,
          evidence: { state_origin: previous.origin, origin: cp.origin },
        });
      }
      if (size < previous.size) {
        throw new Failed({
          kind: 'rollback',
          message: `the log shrank from ${previous.size} to ${size} entries`,
          evidence: { previous_size: previous.size, size, previous_root: previous.root, root: root.toString('base64') },
        });
      }
      const then = tree.root(previous.size).toString('base64');
      if (then !== previous.root) {
        throw new Failed({
          kind: 'fork',
          message: `the log is not consistent with the checkpoint seen before: at size ${previous.size} its entries give ${then}, but the earlier checkpoint signed ${previous.root}`,
          evidence: { previous_size: previous.size, previous_root: previous.root, root_at_previous_size: then, size, root: root.toString('base64') },
        });
      }
    }
    if (options.statePath) writeVerifyState(options.statePath, { origin: cp.origin, size, root: root.toString('base64'), checkpoint: note });
    return {
      ok: true,
      origin: cp.origin,
      size,
      root: root.toString('base64'),
      cosignatures: opened.cosignatures,
      previous: previous && { size: previous.size, root: previous.root },
      problems,
      tree,
      entries,
    };
  } catch (err) {
    if (err instanceof Failed) return { ok: false, previous: previous && { size: previous.size, root: previous.root }, problems: [err.problem] };
    throw err;
  }
}
