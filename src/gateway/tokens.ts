// Tokens: a tokenized value is a deterministic authenticated encryption of it under keys of the
// caller's audience and the value's category, so the gateway can turn a token it issued back into
// the value (a record key sent as a token, PRODUCT.md §7a W6) without a table of every token.
//
// The construction is SIV (Rogaway and Shrimpton, "Deterministic Authenticated-Encryption", 2006),
// with HMAC-SHA-256 as its PRF and AES-256-CTR as its IV-based encryption, under two independent
// keys derived per (audience, category):
//   p  = value (JSON, UTF-8) padded to a multiple of 16 bytes (ISO/IEC 7816-4: 0x80, then zeros)
//   iv = HMAC-SHA-256(k_mac, len(category) || category || p), first 16 bytes
//   c  = AES-256-CTR(k_enc, iv, p)
//   token = 'tok_' + base64url(iv || c)
// Why it is sound: SIV is a deterministic AE scheme when its PRF is a PRF and its encryption is
// IND$-secure for random IVs (their Theorem 2). HMAC-SHA-256 truncated to 128 bits is a PRF; CTR
// under an IV that is itself a PRF output is IND$. So a token reveals only whether two values (of
// one category, for one audience) are equal — which is what a pseudonym must reveal, and nothing
// more: not the value, and its length only to the next multiple of 16 bytes. Opening decrypts and
// recomputes the IV, compared in constant time: a token nobody issued (forged, tampered, or issued
// to another audience or category) opens only if its 128-bit IV is guessed, 2^-128 per try. Keys of
// different audiences are independent HKDF outputs of the key service, so one audience's tokens
// are unlinkable to another's, and holding one audience's tokens opens nothing of another's.

import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyService } from '../store/index.js';
import { OtherRegionError } from '../shared/errors.js';

export const TOKEN_PREFIX = 'tok_';
const BLOCK = 16;
/** The synthetic IV: 128 bits of the HMAC (forgeries succeed with probability 2^-128 per try). */
const IV_BYTES = 16;
/** Longer tokens are not opened (a value that long is no record key; bounds the work per request). */
export const MAX_TOKEN_CHARS = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

interface TokenKeys {
  readonly mac: Buffer;
  readonly enc: Buffer;
}

function tokenKeys(keys: KeyService, audience: string, category: string): TokenKeys {
  // JSON names are unambiguous whatever the audience and category hold.
  const name = JSON.stringify([audience, category]);
  return { mac: keys.key('tokenize', `siv-mac:${name}`), enc: keys.key('tokenize', `siv-enc:${name}`) };
}

function syntheticIv(k: TokenKeys, category: string, padded: Buffer): Buffer {
  const c = Buffer.from(category, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(c.length);
  return createHmac('sha256', k.mac).update(len).update(c).update(padded).digest().subarray(0, IV_BYTES);
}

function pad(data: Buffer): Buffer {
  const out = Buffer.alloc((Math.floor(data.length / BLOCK) + 1) * BLOCK);
  data.copy(out);
  out[data.length] = 0x80;
  return out;
}

function unpad(padded: Buffer): Buffer | undefined {
  let i = padded.length - 1;
  while (i >= 0 && padded[i] === 0) i--;
  return i >= 0 && padded[i] === 0x80 ? padded.subarray(0, i) : undefined;
}

function ctr(key: Buffer, iv: Buffer, data: Buffer, decrypt: boolean): Buffer {
  const c = decrypt ? createDecipheriv('aes-256-ctr', key, iv) : createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/**
 * The token of `value` (any JSON value but undefined) of `category` for `audience`: equal values give
 * equal tokens for one audience and category, and unrelated ones otherwise.
 */
/**
 * A regional gateway's tokens (cordon up --region) name the region whose keys made them, in clear:
 * `tok_<region>.<base64url>`. A token of another region is then that region's to open (a redirect),
 * not an unknown key: which region holds a record is told by its public parts anyway.
 */
export interface TokenRegion {
  readonly own: string;
  /** Every region of the deployment: a token naming one of the others is that region's. */
  readonly known: ReadonlySet<string>;
}

export function tokenize(keys: KeyService, audience: string, category: string, value: unknown, region?: string): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError('tokenize: the value must be JSON (not undefined, a function or a symbol)');
  const k = tokenKeys(keys, audience, category);
  const padded = pad(Buffer.from(json, 'utf8'));
  const iv = syntheticIv(k, category, padded);
  return TOKEN_PREFIX + (region === undefined ? '' : `${region}.`) + Buffer.concat([iv, ctr(k.enc, iv, padded, false)]).toString('base64url');
}

/**
 * The value `token` stands for, if `tokenize` gave it for this `audience` and `category`; undefined
 * for anything else (another audience's or category's token, a tampered or made-up one, not a
 * token at all). MUST be the only way a token is turned back into a value: it is what keeps one
 * audience from using another's tokens.
 */
export function openToken(keys: KeyService, audience: string, category: string, token: string, region?: TokenRegion): unknown {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > MAX_TOKEN_CHARS) return undefined;
  let body = token.slice(TOKEN_PREFIX.length);
  const dot = body.indexOf('.');
  if (region !== undefined) {
    // Only this region's tokens open here; another known region's is redirected there (OtherRegionError).
    const named = dot < 0 ? undefined : body.slice(0, dot);
    if (named !== region.own) {
      if (named !== undefined && region.known.has(named)) throw new OtherRegionError(named);
      return undefined;
    }
    body = body.slice(dot + 1);
  } else if (dot >= 0) return undefined;
  if (!BASE64URL.test(body)) return undefined;
  const raw = Buffer.from(body, 'base64url');
  // Node's decoder forgives stray bits: only the canonical spelling of a token is that token.
  if (raw.length < IV_BYTES + BLOCK || (raw.length - IV_BYTES) % BLOCK !== 0 || raw.toString('base64url') !== body) return undefined;
  const k = tokenKeys(keys, audience, category);
  const iv = raw.subarray(0, IV_BYTES);
  const padded = ctr(k.enc, iv, raw.subarray(IV_BYTES), true);
  if (!timingSafeEqual(iv, syntheticIv(k, category, padded))) return undefined;
  const json = unpad(padded);
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
