// Scanning many files across cores: the calling thread and a pool of worker threads (one thread per
// core in all by default), each scanning one file at a time from a shared queue; results come back
// in the order the files were given. The calling thread takes a share rather than idling while it
// waits: one thread fewer to start (a worker loads and warms up the detectors anew).

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { scanFile, type FileScanOptions, type FileScanResult } from './file-scan.js';
import type { DetectOptions } from './detect.js';
import type { Fingerprints, FingerprintEntry } from './fingerprints.js';

export interface WorkerData {
  readonly options: DetectOptions & { readonly chunkBytes?: number; readonly maxFindingsPerFile?: number };
  readonly fingerprints?: { readonly key: Uint8Array; readonly entries: readonly FingerprintEntry[] };
}
export interface WorkerRequest {
  readonly id: number;
  readonly file: string;
}
export type WorkerReply =
  | { readonly type: 'bytes'; readonly bytes: number }
  | { readonly type: 'result'; readonly id: number; readonly result: FileScanResult };

export interface PoolOptions extends FileScanOptions {
  /** Threads, this one included (default: os.availableParallelism(), at most one per file; 0 or 1 scans in this thread only). */
  readonly threads?: number;
}

/** Scans `files`, spreading them over worker threads; one result per file, in order. */
export async function scanFiles(files: readonly string[], options: PoolOptions = {}): Promise<FileScanResult[]> {
  const threads = Math.min(options.threads ?? availableParallelism(), files.length);
  if (threads <= 1) {
    const out: FileScanResult[] = [];
    for (const f of files) out.push(await scanFile(f, options));
    return out;
  }
  const { fingerprints, onBytes, threads: _t, ...rest } = options;
  const data: WorkerData = { options: rest, ...(fingerprints ? { fingerprints: packFingerprints(fingerprints) } : {}) };
  const results: FileScanResult[] = new Array(files.length);
  let next = 0;
  const workers: Worker[] = [];
  // This thread's share: the next file in the queue whenever it is free.
  const local = async (): Promise<void> => {
    while (next < files.length) {
      const id = next++;
      results[id] = await scanFile(files[id]!, options);
    }
  };
  try {
    await Promise.all([
      local(),
      ...Array.from(
        { length: threads - 1 },
        () =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
            workers.push(w);
            const send = (): void => {
              if (next >= files.length) {
                resolve();
                return;
              }
              const id = next++;
              w.postMessage({ id, file: files[id]! } satisfies WorkerRequest);
            };
            w.on('message', (m: WorkerReply) => {
              if (m.type === 'bytes') onBytes?.(m.bytes);
              else {
                results[m.id] = m.result;
                send();
              }
            });
            w.on('error', reject);
            send();
          }),
      ),
    ]);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

function packFingerprints(f: Fingerprints): { key: Uint8Array; entries: readonly FingerprintEntry[] } {
  return { key: new Uint8Array(f.key), entries: f.entries };
}
