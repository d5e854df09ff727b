// Signing the console in: at the OpenID provider with authorization code + PKCE (S256) as a public
// client, or with a pasted bearer token. Either way the principal shown is the one the server takes
// the token for (/v1/console/whoami), never a name decoded here: a token the server refuses shows
// nobody. The token lives in this tab's sessionStorage only, so a reload keeps the session and
// closing the tab ends it.

import { api, type Session } from './api';

export interface OidcSettings {
  readonly enabled: boolean;
  readonly issuer?: string;
  readonly clientId?: string;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly scope?: string;
  readonly resource?: string;
}

const TOKEN_KEY = 'cordon.token';
const PENDING_KEY = 'cordon.oidc.pending';
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const random = (n: number): string => b64url(crypto.getRandomValues(new Uint8Array(n)));
/** Where the provider sends the browser back: the console itself, without query or hash. */
const redirectUri = (): string => `${window.location.origin}${window.location.pathname}`;

/** Why `token` cannot be a bearer token, or undefined when it has the form of one (a compact JWT). */
export function malformedToken(token: string): string | undefined {
  const t = token.trim();
  if (t === '') return 'Paste a bearer token first.';
  if (!COMPACT_JWS.test(t)) return 'That is not a JWT: a bearer token is three base64url parts separated by dots.';
  return undefined;
}

/** A session for `token` as the server sees it; throws the server's refusal (401, 403) as is. */
export async function sessionFor(token: string): Promise<Session> {
  const who = await api<{ principal: string }>({ principal: '', token }, 'GET', '/v1/console/whoami');
  sessionStorage.setItem(TOKEN_KEY, token);
  return { principal: who.principal, token };
}

export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Sends the browser to the provider; the verifier and state wait in sessionStorage for the way back. */
export async function startSignIn(s: OidcSettings): Promise<void> {
  const verifier = random(32);
  const state = random(16);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: s.clientId!,
    redirect_uri: redirectUri(),
    scope: s.scope ?? 'openid',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  if (s.resource) q.set('resource', s.resource);
  window.location.assign(`${s.authorizationEndpoint}?${q}`);
}

/**
 * On the way back from the provider (?code=…&state=… or ?error=…): redeems the code at the token
 * endpoint with the PKCE verifier. Undefined when the URL is no answer from the provider.
 */
export async function finishSignIn(s: OidcSettings): Promise<Session | undefined> {
  const params = new URLSearchParams(window.location.search);
  if (!params.has('code') && !params.has('error')) return undefined;
  // The code is single-use and the URL must not keep it (history, a shared link).
  window.history.replaceState(null, '', `${redirectUri()}${window.location.hash}`);
  const pending = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (params.has('error'))
    throw new Error(
      `The provider refused the sign-in: ${params.get('error')}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}`,
    );
  const { verifier, state } = pending ? (JSON.parse(pending) as { verifier: string; state: string }) : { verifier: '', state: undefined };
  if (!s.enabled || state === undefined || params.get('state') !== state)
    throw new Error('The sign-in answer does not belong to a sign-in this tab started; sign in again.');
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: params.get('code')!,
    redirect_uri: redirectUri(),
    client_id: s.clientId!,
    code_verifier: verifier,
  });
  if (s.resource) body.set('resource', s.resource);
  const res = await fetch(s.tokenEndpoint!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  const data = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!res.ok || typeof data.access_token !== 'string')
    throw new Error(`The provider did not give a token: ${data.error ?? res.status}${data.error_description ? ` (${data.error_description})` : ''}`);
  return sessionFor(data.access_token);
}
