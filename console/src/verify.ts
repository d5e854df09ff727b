// Checking an access record's inclusion in the browser, with WebCrypto only: the leaf hash of its
// entry (RFC 9162: SHA-256 over 0x00 || entry), the root recomputed from the inclusion proof, that
// root against the checkpoint, and the checkpoint's Ed25519 signature (C2SP signed note) against
// the log's verifier key.

const b64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (u: Uint8Array): string => [...u].map((b) => b.toString(16).padStart(2, '0')).join('');

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

const ZERO = Uint8Array.of(0);
const ONE = Uint8Array.of(1);

/** RFC 9162 §2.1.3.2: the root from a leaf hash, its index, the tree size and the audit path. */
export async function rootFromProof(leaf: Uint8Array, index: number, size: number, proof: Uint8Array[]): Promise<Uint8Array> {
  if (index >= size) throw new Error(`index ${index} is not below the tree size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Error('the proof is longer than the tree allows');
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(ONE, p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(ONE, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error('the proof is shorter than the tree needs');
  return r;
}

export interface Verified {
  readonly leafHash: string;
  readonly size: number;
  readonly root: string;
  readonly rootMatches: boolean;
  readonly signatureValid: boolean;
  readonly signer: string;
}

/** Parses a signed note's body and its signature by `vkey` (name+hex8+base64(0x01 || 32-byte key)). */
async function checkSignature(note: string, vkey: string): Promise<boolean> {
  // name+hex8+base64: the base64 may itself hold '+'.
  const first = vkey.indexOf('+');
  const name = vkey.slice(0, first);
  const key = b64(vkey.slice(vkey.indexOf('+', first + 1) + 1));
  if (key[0] !== 1 || key.length !== 33) return false;
  const split = note.indexOf('\n\n');
  const text = note.slice(0, split + 1);
  const line = note
    .slice(split + 2)
    .split('\n')
    .find((l) => l.startsWith(`— ${name} `));
  if (!line) return false;
  const sig = b64(line.slice(`— ${name} `.length));
  const publicKey = await crypto.subtle.importKey('raw', key.slice(1), { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, publicKey, sig.slice(4), new TextEncoder().encode(text));
}

export async function verifyInclusion(record: { index: number; entry: string; proof: string[] | null; checkpoint: string }, vkey: string): Promise<Verified> {
  const lines = record.checkpoint.split('\n');
  const size = Number(lines[1]);
  const root = lines[2] ?? '';
  const leaf = await sha256(ZERO, b64(record.entry));
  if (!record.proof) throw new Error('the record is newer than the latest checkpoint; try again in a second');
  const computed = await rootFromProof(leaf, record.index, size, record.proof.map(b64));
  return {
    leafHash: hex(leaf),
    size,
    root,
    rootMatches: btoa(String.fromCharCode(...computed)) === root,
    signatureValid: await checkSignature(record.checkpoint, vkey),
    signer: vkey.slice(0, vkey.indexOf('+')),
  };
}
