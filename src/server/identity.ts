// Who is asking: verifies the bearer token of a request (a JWT signed by a trusted issuer) and maps
// the claim that names its principal (`sub` unless cordon.yaml identity.principal_claim says
// otherwise) to a principal of the directory. Only asymmetric signatures are accepted; `none` and
// HMAC never are, so a public key can never be used as an HMAC secret. The directory, not the token,
// says what a principal is: claims never raise privileges.
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Directory, Principal } from '../policy/index.js';
import { CordonError, type ErrorCode } from '../shared/errors.js';

export type { JSONWebKeySet, JWTPayload } from 'jose';

/** A failure to authenticate (401) or to map the subject to a principal (403). */
export class AuthError extends CordonError {
  constructor(code: ErrorCode & `auth.${string}`, message: string) {
    super(code, message);
    this.name = 'AuthError';
  }
}

export interface TokenLocation {
  readonly country?: string;
  readonly site?: string;
}

export interface VerifiedToken {
  /** The value of the claim that names the principal (`sub` by default; see principalClaim). */
  readonly subject: string;
  readonly claims: JWTPayload;
  /** From the optional `cordon_location` claim; a hint that must agree with the network location. */
  readonly location?: TokenLocation;
}

export interface TokenVerifierOptions {
  readonly issuer: string;
  /** A token is accepted when its aud holds any one of these. MUST NOT be empty. */
  readonly audience: string | readonly string[];
  readonly jwks: JSONWebKeySet | URL;
  /**
   * The claim whose value names the principal (default `sub`); it MUST be a non-empty string in
   * every accepted token. For `email`, a token whose `email_verified` is present and not true is refused.
   */
  readonly principalClaim?: string;
  /** Allowed clock skew for exp/nbf, in seconds (default 30). */
  readonly clockToleranceSec?: number;
  /** Accepted signature algorithms (default RS256, ES256, EdDSA); only asymmetric ones may be named. */
  readonly algorithms?: readonly string[];
}

export interface TokenVerifier {
  verify(authorizationHeader: string | undefined, now?: Date): Promise<VerifiedToken>;
  /** Fetches of a remote key set, and those that failed (unreachable, not 200, not a key set); 0 for a local one. */
  stats(): { readonly keySetFetches: number; readonly keySetFetchFailures: number };
}

export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA'];
const ASYMMETRIC = /^(RS(256|384|512)|PS(256|384|512)|ES(256|384|512|256K)|EdDSA|Ed25519|Ed448)$/;
/** Longer headers are refused before any parsing. */
const MAX_TOKEN_LENGTH = 16 * 1024;
const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Marks a failure of the key set itself (fetch, timeout), as opposed to a bad token. */
class KeysUnavailable extends CordonError {
  constructor() {
    super('auth.keys_unavailable', "the issuer's key set could not be fetched");
    this.name = 'KeysUnavailable';
  }
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0) throw new TypeError('createTokenVerifier: algorithms is empty');
  for (const alg of algorithms) {
    if (!ASYMMETRIC.test(alg)) throw new TypeError(`createTokenVerifier: algorithm ${alg} is not an accepted asymmetric signature algorithm`);
  }
  if (!options.issuer) throw new TypeError('createTokenVerifier: issuer is required');
  const audience = typeof options.audience === 'string' ? [options.audience] : [...options.audience];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === ''))
    throw new TypeError('createTokenVerifier: audience must be one or more non-empty strings');
  const claim = options.principalClaim ?? 'sub';
  const clockTolerance = options.clockToleranceSec ?? 30;

  let getKey: JWTVerifyGetKey;
  let keySetFetches = 0;
  let keySetFetchFailures = 0;
  if (options.jwks instanceof URL) {
    // Counted where jose fetches, so the counts are fetches made, not verifications that needed keys.
    const remote = createRemoteJWKSet(options.jwks, {
      [customFetch]: async (url, init) => {
        keySetFetches++;
        try {
          const r = await fetch(url, init);
          if (r.status !== 200) keySetFetchFailures++;
          return r;
        } catch (e) {
          keySetFetchFailures++;
          throw e;
        }
      },
    });
    getKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw e;
        // A body that is not a key set: fetched with 200, but a failed fetch all the same.
        if (code === 'ERR_JWKS_INVALID') keySetFetchFailures++;
        throw new KeysUnavailable();
      }
    };
  } else {
    getKey = createLocalJWKSet(options.jwks);
  }

  return {
    stats: () => ({ keySetFetches, keySetFetchFailures }),
    async verify(authorizationHeader, now) {
      if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
        throw new AuthError('auth.missing_token', 'the request has no Authorization header');
      }
      if (authorizationHeader.length > MAX_TOKEN_LENGTH) throw new AuthError('auth.invalid_token', 'the Authorization header is too long');
      const m = BEARER.exec(authorizationHeader);
      if (!m) throw new AuthError('auth.missing_token', 'the Authorization header does not carry a Bearer token');
      const token = m[1]!;
      if (!COMPACT_JWS.test(token)) throw new AuthError('auth.invalid_token', 'the bearer token is not a compact JWT (three base64url parts)');

      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        throw new AuthError('auth.invalid_token', 'the bearer token header is not valid base64url JSON');
      }
      if (typeof alg !== 'string' || !algorithms.includes(alg)) {
        throw new AuthError('auth.unsupported_alg', `the token's signature algorithm is not accepted (accepted: ${algorithms.join(', ')})`);
      }

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: options.issuer,
          audience,
          algorithms,
          clockTolerance,
          requiredClaims: ['exp'],
          ...(now ? { currentDate: now } : {}),
        }));
      } catch (e) {
        throw toAuthError(e, options.issuer, audience);
      }

      const subject = payload[claim];
      if (typeof subject !== 'string' || subject === '') {
        throw new AuthError(
          'auth.missing_claim',
          claim === 'sub'
            ? 'the token has no subject (sub)'
            : `the token has no ${claim} claim, which names the principal (cordon.yaml identity.principal_claim)`,
        );
      }
      // An address the provider has not verified is one anybody could have typed in: it names nobody.
      // A provider that does not say (no email_verified) is trusted to issue only addresses it vouches
      // for, as most do in access tokens. One that says anything but true (false, "false", 0, null,
      // "no", "False") has not vouched for it: fail closed.
      const verified = payload['email_verified'];
      if (claim === 'email' && verified !== undefined && verified !== true && verified !== 'true') {
        throw new AuthError(
          'auth.unverified_email',
          'the token does not say its email is verified (email_verified is present and not true), so it names no principal',
        );
      }
      const location = tokenLocation(payload['cordon_location']);
      return location === undefined ? { subject, claims: payload } : { subject, claims: payload, location };
    },
  };
}

function tokenLocation(value: unknown): TokenLocation | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthError('auth.invalid_token', 'the cordon_location claim is not an object');
  }
  const { country, site } = value as Record<string, unknown>;
  if ((country !== undefined && typeof country !== 'string') || (site !== undefined && typeof site !== 'string')) {
    throw new AuthError('auth.invalid_token', 'the cordon_location claim has a country or site that is not a string');
  }
  return { ...(country !== undefined ? { country } : {}), ...(site !== undefined ? { site } : {}) };
}

/** Maps jose's errors to the registry; never includes the token or jose's message. */
function toAuthError(e: unknown, issuer: string, audience: readonly string[]): AuthError {
  if (e instanceof AuthError) return e;
  if (e instanceof KeysUnavailable) return new AuthError('auth.keys_unavailable', "the issuer's key set could not be fetched");
  if (e instanceof joseErrors.JWTExpired) return new AuthError('auth.expired', 'the token has expired (exp)');
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.reason === 'missing') return new AuthError('auth.missing_claim', `the token lacks the required claim ${e.claim}`);
    switch (e.claim) {
      case 'iss':
        return new AuthError('auth.wrong_issuer', `the token's issuer (iss) is not ${JSON.stringify(issuer)}`);
      case 'aud':
        return new AuthError(
          'auth.wrong_audience',
          `the token's audience (aud) does not include ${audience.length === 1 ? JSON.stringify(audience[0]) : `any of ${audience.map((a) => JSON.stringify(a)).join(', ')}`}`,
        );
      case 'nbf':
        return new AuthError('auth.not_yet_valid', 'the token is not valid yet (nbf is in the future)');
      default:
        return new AuthError('auth.invalid_token', `the token's ${e.claim} claim is invalid`);
    }
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed || e instanceof joseErrors.JOSENotSupported) {
    return new AuthError('auth.unsupported_alg', "the token's signature algorithm or key type is not accepted");
  }
  if (e instanceof joseErrors.JWKSNoMatchingKey) return new AuthError('auth.unknown_key', "the token's key id (kid) names no key of the issuer");
  if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return new AuthError('auth.bad_signature', "the token's signature does not verify");
  }
  if (e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid) {
    return new AuthError('auth.keys_unavailable', "the issuer's key set could not be fetched");
  }
  return new AuthError('auth.invalid_token', 'the bearer token is malformed');
}

/**
 * The directory principal the token's naming claim names: through `principals` (cordon.yaml
 * identity.principals) when given, and then only the values it lists; else the value is the
 * principal's id. Nothing else of the claims is used: team, clearance, site and the rest come from
 * the directory, so a token cannot raise privileges. There is no default principal.
 */
export function principalFromToken(token: VerifiedToken, directory: Directory, principals?: ReadonlyMap<string, string>): Principal {
  const id = principals ? principals.get(token.subject) : token.subject;
  const principal = id === undefined ? undefined : directory.principals.get(id);
  if (principal === undefined) {
    throw new AuthError(
      'auth.unknown_principal',
      principals
        ? "the token's principal claim has a value that cordon.yaml identity.principals does not map to a principal"
        : 'the token subject is not a principal of the directory',
    );
  }
  return principal;
}

export interface DemoSignOptions {
  /** Lifetime in seconds (default 8 hours). */
  readonly ttlSec?: number;
  readonly location?: { readonly country: string; readonly site: string };
  /** Issue time (default now); for tests. */
  readonly now?: Date;
}

export interface DemoIssuer {
  readonly jwks: JSONWebKeySet;
  readonly issuer: string;
  readonly audience: string;
  sign(sub: string, opts?: DemoSignOptions): Promise<string>;
}

const DEMO_TTL_SEC = 8 * 60 * 60;

/**
 * An in-memory Ed25519 issuer for the demo and tests: a fresh key on every call, never persisted.
 * `issuer` (default `cordon-demo`) lets a test stand for a provider `cordon up --issuer URL` accepts.
 */
export async function createDemoIssuer(options: { readonly issuer?: string } = {}): Promise<DemoIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk = { ...jwk, kid, alg: 'EdDSA', use: 'sig' };
  const issuer = options.issuer ?? 'cordon-demo';
  const audience = 'cordon';
  return {
    jwks: { keys: [publicJwk] },
    issuer,
    audience,
    async sign(sub, opts = {}) {
      const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
      const ttl = opts.ttlSec ?? DEMO_TTL_SEC;
      const claims: JWTPayload = opts.location ? { cordon_location: { country: opts.location.country, site: opts.location.site } } : {};
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(sub)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl)
        .sign(privateKey);
    },
  };
}
