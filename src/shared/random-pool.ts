// Random values cut from a pool: one randomBytes() call fills `count` values of `bytes` each, and
// each is handed out once. For values made per request or per field (salts, IVs), where a call to
// the CSPRNG per value cost more than the work the value is for. The same CSPRNG output as calling
// randomBytes(bytes) each time; no slice is handed out twice.

import { randomBytes } from 'node:crypto';

/** A function returning a fresh `bytes`-long random Buffer on each call (views into a shared pool). */
export function randomSlices(bytes: number, count: number): () => Buffer {
  let pool = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + bytes > pool.length) {
      pool = randomBytes(bytes * count);
      at = 0;
    }
    const out = pool.subarray(at, at + bytes);
    at += bytes;
    return out;
  };
}
