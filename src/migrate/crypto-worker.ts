// A worker thread of the migration's crypto pool: runs encryptRows / compareRows on the slices of
// batches it is sent, one at a time, and answers with the result or the error's message.

import { parentPort } from 'node:worker_threads';
import { compareRows, encryptRows, type CompareTask, type EncryptTask } from './row-crypto.js';

export type CryptoRequest =
  | { readonly id: number; readonly kind: 'encrypt'; readonly task: EncryptTask }
  | { readonly id: number; readonly kind: 'compare'; readonly task: CompareTask };
export type CryptoReply = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

parentPort?.on('message', (m: CryptoRequest) => {
  try {
    const result = m.kind === 'encrypt' ? encryptRows(m.task) : compareRows(m.task);
    parentPort!.postMessage({ id: m.id, result } satisfies CryptoReply);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: (err as Error).message } satisfies CryptoReply);
  }
});
