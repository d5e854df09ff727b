// Spreads the CPU-bound part of migration batches (AES-GCM per protected field, keyed row hashes)
// over worker threads, one per core by default, while the calling thread keeps PostgreSQL busy with
// the batches before and after. A batch is cut into one slice per thread; the calling thread takes
// a slice too. Small batches, and `threads: 1`, run in the calling thread only.
//
// Data keys travel to the workers as bytes inside this process (no copy leaves it), and the workers
// are ended when the command ends.

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { FieldValue } from '../store/index.js';
import { compareRows, encryptRows, DEK_BYTES, type CompareResult, type CompareTask, type EncryptTask } from './row-crypto.js';
import type { CryptoReply, CryptoRequest } from './crypto-worker.js';

/** Below this many rows a batch is not worth cutting. */
const MIN_ROWS_PER_SLICE = 256;

export interface CryptoPool {
  encrypt(task: EncryptTask): Promise<FieldValue[]>;
  compare(task: CompareTask): Promise<CompareResult>;
  close(): Promise<void>;
}

/** `threads` in all, this one included (default: os.availableParallelism()). */
export function createCryptoPool(threads = availableParallelism()): CryptoPool {
  const size = Math.max(0, Math.floor(threads) - 1);
  const workers: Worker[] = [];
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  let closed = false;

  const worker = (i: number): Worker => {
    let w = workers[i];
    if (!w) {
      w = new Worker(new URL('./crypto-worker.js', import.meta.url));
      w.on('message', (m: CryptoReply) => {
        const p = waiting.get(m.id);
        if (!p) return;
        waiting.delete(m.id);
        if ('error' in m) p.reject(new Error(`migration worker: ${m.error}`));
        else p.resolve(m.result);
      });
      w.on('error', (err) => {
        failure = err;
        for (const p of waiting.values()) p.reject(err);
        waiting.clear();
      });
      workers[i] = w;
    }
    return w;
  };

  const send = (i: number, request: Omit<CryptoRequest, 'id'>): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker(i).postMessage({ ...request, id } as CryptoRequest);
    });
  };

  /** Rows [from, to) of a task: every per-row array cut to the slice. */
  function slice<T extends { readonly keys: readonly string[]; readonly fields: readonly string[] }>(
    task: T,
    from: number,
    to: number,
    flat: readonly (keyof T)[],
    perRow: readonly (keyof T)[],
    deks: readonly (keyof T)[],
  ): T {
    const F = task.fields.length;
    const out: Record<string, unknown> = { ...task, keys: task.keys.slice(from, to) };
    for (const k of flat) out[k as string] = (task[k] as unknown as FieldValue[] | Uint8Array).slice(from * F, to * F);
    for (const k of perRow) out[k as string] = (task[k] as unknown as Uint8Array).slice(from, to);
    for (const k of deks) out[k as string] = (task[k] as unknown as Uint8Array).slice(from * DEK_BYTES, to * DEK_BYTES);
    return out as T;
  }

  /** Cuts the rows into slices, runs the first here and the others on workers, and joins the results in order. */
  async function spread<T extends { readonly keys: readonly string[]; readonly fields: readonly string[] }, R>(
    task: T,
    kind: CryptoRequest['kind'],
    local: (t: T) => R,
    cut: (t: T, from: number, to: number) => T,
    join: (parts: R[]) => R,
  ): Promise<R> {
    if (closed) throw new Error('migration crypto pool is closed');
    const n = task.keys.length;
    const slices = Math.min(size + 1, Math.floor(n / MIN_ROWS_PER_SLICE));
    if (slices <= 1) return local(task);
    const bounds = Array.from({ length: slices + 1 }, (_, i) => Math.round((i * n) / slices));
    const remote = Array.from(
      { length: slices - 1 },
      (_, i) => send(i, { kind, task: cut(task, bounds[i + 1]!, bounds[i + 2]!) } as unknown as Omit<CryptoRequest, 'id'>) as Promise<R>,
    );
    for (const p of remote) p.catch(() => undefined);
    const mine = local(cut(task, 0, bounds[1]!));
    return join([mine, ...(await Promise.all(remote))]);
  }

  return {
    encrypt: (task) =>
      spread(
        task,
        'encrypt',
        encryptRows,
        (t, a, b) => slice(t, a, b, ['values', 'isProtected'], [], ['deks']),
        (parts) => parts.flat(),
      ),
    compare: (task) =>
      spread(
        task,
        'compare',
        compareRows,
        (t, a, b) => slice(t, a, b, ['legacy', 'enclave', 'global', 'isProtected'], ['hasEnclave', 'hasDek'], ['deks']),
        (parts) => ({ legacy: parts.flatMap((p) => p.legacy), enclave: parts.flatMap((p) => p.enclave), problem: parts.flatMap((p) => p.problem) }),
      ),
    async close() {
      closed = true;
      await Promise.all(workers.filter(Boolean).map((w) => w.terminate()));
    },
  };
}
