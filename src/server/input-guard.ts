// Input no value may hold, refused before any route runs (W7): a NUL byte (U+0000) in the path, the
// query or the JSON body, or a lone UTF-16 surrogate in the body (JSON's \ud800 escapes can make
// one; it is no character). PostgreSQL cannot store either in text or jsonb, so letting them through
// turns into a store error after the decision is logged; refusing them first logs and stores
// nothing. So is a body nested deeper than MAX_DEPTH, which this check would otherwise not reach.

import type { FastifyRequest } from 'fastify';

const MAX_DEPTH = 64;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why the request cannot be taken (naming where, never the value), or undefined. */
export function badInputIn(req: FastifyRequest): string | undefined {
  const nul = nulByteIn(req);
  if (nul) return `${nul} holds a NUL byte (U+0000), which no value may hold`;
  return unstorableInJson(req.body, '', 0);
}

function unstorableInJson(v: unknown, pointer: string, depth: number): string | undefined {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? `body member ${pointer || '/'} holds a lone UTF-16 surrogate, which is no character` : undefined;
  if (typeof v !== 'object' || v === null) return undefined;
  if (depth >= MAX_DEPTH) return `the body is nested deeper than ${MAX_DEPTH} levels at ${pointer.slice(0, 200)}`;
  const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
  for (const [k, x] of entries) {
    if (LONE_SURROGATE.test(k)) return `a body member name under ${pointer || '/'} holds a lone UTF-16 surrogate`;
    const hit = unstorableInJson(x, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

/** Where the request holds a NUL byte (named without the value), or undefined. */
export function nulByteIn(req: FastifyRequest): string | undefined {
  const params = req.params as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(params ?? {})) if (typeof v === 'string' && v.includes('\u0000')) return `path parameter ${k}`;
  // The raw URL too: a %00 in a part no route parameter takes (the route name, a query key).
  const url = req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path.includes('\u0000') || /%00/i.test(path)) return 'the path';
  const query = req.query as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(query ?? {})) {
    if (k.includes('\u0000')) return 'a query parameter name';
    const values = Array.isArray(v) ? v : [v];
    if (values.some((x) => typeof x === 'string' && x.includes('\u0000'))) return `query parameter ${JSON.stringify(k)}`;
  }
  if (q >= 0 && /%00/i.test(url.slice(q))) return 'the query string';
  return nulInJson(req.body, '', 0);
}

function nulInJson(v: unknown, pointer: string, depth: number): string | undefined {
  if (typeof v === 'string') return v.includes('\u0000') ? `body member ${pointer || '/'}` : undefined;
  if (typeof v !== 'object' || v === null || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = nulInJson(v[i], `${pointer}/${i}`, depth + 1);
      if (hit) return hit;
    }
    return undefined;
  }
  for (const [k, x] of Object.entries(v)) {
    if (k.includes('\u0000')) return `a body member name under ${pointer || '/'}`;
    const hit = nulInJson(x, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}
