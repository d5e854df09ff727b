// OpenID Connect Discovery 1.0 for `cordon up --issuer URL`: the provider's configuration document
// names its key set (jwks_uri) and, for the console's sign-in, its authorization and token
// endpoints. The document is believed only when its `issuer` is exactly the issuer asked for
// (Discovery §4.3), so a document served elsewhere cannot point cordon at another key set.

import { isLoopbackHost } from './location.js';
import { RuntimeError } from './runtime.js';

export const DEFAULT_DISCOVERY_TIMEOUT_MS = 5_000;
/** A configuration document is a few KiB; a larger answer is not one. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

export interface ProviderMetadata {
  readonly issuer: string;
  readonly jwksUri: URL;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly codeChallengeMethods?: readonly string[];
}

export interface DiscoveryOptions {
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** Where OpenID Connect Discovery §4 says the configuration of `issuer` is. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Refuses (exit 2) a URL that is not absolute http(s), carries credentials, a query or a fragment,
 * or is plain http to a host that is not loopback: keys fetched over plain http can be swapped by
 * anyone on the path. `what` names the flag or field.
 */
export function checkProviderUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RuntimeError(`${what} must be an absolute https URL, got ${JSON.stringify(value.slice(0, 200))}`, 2);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new RuntimeError(`${what} must be an https URL, got ${JSON.stringify(value.slice(0, 200))}`, 2);
  if (url.username || url.password) throw new RuntimeError(`${what} must not carry credentials`, 2);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname.replace(/^\[|\]$/g, '')))
    throw new RuntimeError(
      `${what} ${value} is plain http to a host that is not loopback; use https (http is accepted only for 127.0.0.1, ::1 and localhost)`,
      2,
    );
  return url;
}

/**
 * Fetches and checks `issuer`'s configuration. Bad input (a URL that is not https, a document that
 * is not JSON, names another issuer or no usable jwks_uri) is RuntimeError exit 2; a provider that
 * cannot be reached or answers 5xx is exit 3. Every message names the URL and what was wrong.
 */
export async function discoverProvider(issuer: string, options: DiscoveryOptions = {}): Promise<ProviderMetadata> {
  checkProviderUrl(issuer, '--issuer');
  const where = discoveryUrl(issuer);
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(where, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_DISCOVERY_TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string; errors?: { code?: string }[] } };
    const why = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.cause?.errors?.[0]?.code ?? 'failed');
    throw new RuntimeError(`OpenID discovery ${where}: the provider could not be reached (${why}); cordon does not start without its keys`, 3);
  }
  if (res.status >= 500) throw new RuntimeError(`OpenID discovery ${where}: the provider answered ${res.status}; cordon does not start without its keys`, 3);
  if (res.status !== 200) throw new RuntimeError(`OpenID discovery ${where}: answered ${res.status}, not 200 (is --issuer the provider's issuer?)`, 2);
  const text = await res.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new RuntimeError(`OpenID discovery ${where}: the document is over ${MAX_DOCUMENT_BYTES} bytes`, 2);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new RuntimeError(`OpenID discovery ${where}: the answer is not JSON`, 2);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new RuntimeError(`OpenID discovery ${where}: the answer is not a JSON object`, 2);
  const d = doc as Record<string, unknown>;
  if (d['issuer'] !== issuer)
    throw new RuntimeError(
      `OpenID discovery ${where}: the document's issuer ${JSON.stringify(String(d['issuer']).slice(0, 200))} is not ${JSON.stringify(issuer)} exactly (OpenID Connect Discovery §4.3); give --issuer as the provider names itself`,
      2,
    );
  if (typeof d['jwks_uri'] !== 'string') throw new RuntimeError(`OpenID discovery ${where}: the document has no jwks_uri`, 2);
  const jwksUri = checkProviderUrl(d['jwks_uri'], `OpenID discovery ${where}: jwks_uri`);
  const endpoint = (name: string): string | undefined => {
    const v = d[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new RuntimeError(`OpenID discovery ${where}: ${name} is not a string`, 2);
    return checkProviderUrl(v, `OpenID discovery ${where}: ${name}`).href;
  };
  const methods = d['code_challenge_methods_supported'];
  return {
    issuer,
    jwksUri,
    authorizationEndpoint: endpoint('authorization_endpoint'),
    tokenEndpoint: endpoint('token_endpoint'),
    ...(Array.isArray(methods) ? { codeChallengeMethods: methods.filter((m): m is string => typeof m === 'string') } : {}),
  };
}
