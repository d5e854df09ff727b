// A worker thread of the file scanner: scans the files it is sent, one at a time, and posts each
// result back (with progress in bytes while it reads).

import { parentPort, workerData } from 'node:worker_threads';
import { scanFile } from './file-scan.js';
import { createFingerprints } from './fingerprint-set.js';
import type { WorkerData, WorkerReply, WorkerRequest } from './pool.js';

const data = workerData as WorkerData;
const fingerprints = data.fingerprints ? createFingerprints(Buffer.from(data.fingerprints.key), data.fingerprints.entries) : undefined;
let pending = 0;
const flush = (): void => {
  if (pending > 0) parentPort!.postMessage({ type: 'bytes', bytes: pending } satisfies WorkerReply);
  pending = 0;
};
const ticker = setInterval(flush, 200);
ticker.unref();

parentPort!.on('message', (msg: WorkerRequest) => {
  void scanFile(msg.file, {
    ...data.options,
    ...(fingerprints ? { fingerprints } : {}),
    onBytes: (n) => {
      pending += n;
    },
  }).then((result) => {
    flush();
    parentPort!.postMessage({ type: 'result', id: msg.id, result } satisfies WorkerReply);
  });
});
