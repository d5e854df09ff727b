import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import type { Directory, Principal } from '../policy/index.js';
import { AuthError, createDemoIssuer, createTokenVerifier, principalFromToken, type VerifiedToken } from './identity.js';

const ISS = 'https://idp.example';
const AUD = 'cordon';
const NOW = new Date('2030-01-01T12:00:00Z');
const nowSec = Math.floor(NOW.getTime() / 1000);

interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function keyPair(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { publicKey, privateKey, jwk };
}

const rsa = await keyPair('RS256', 'rsa-1');
const ec = await keyPair('ES256', 'ec-1');
const ed = await keyPair('EdDSA', 'ed-1');
const jwks: JSONWebKeySet = { keys: [rsa.jwk, ec.jwk, ed.jwk] };
const verifier = createTokenVerifier({ issuer: ISS, audience: AUD, jwks });

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

interface MintOptions {
  alg?: string;
  kid?: string;
  key?: CryptoKey | Uint8Array;
  claims?: JWTPayload;
  iss?: string;
  aud?: string;
  sub?: string | null;
  exp?: number | null;
  nbf?: number;
}

async function mint(o: MintOptions = {}): Promise<string> {
  const alg = o.alg ?? 'RS256';
  const key = o.key ?? { RS256: rsa, ES256: ec, EdDSA: ed }[alg as 'RS256']!.privateKey;
  const kid = o.kid ?? { RS256: 'rsa-1', ES256: 'ec-1', EdDSA: 'ed-1' }[alg as 'RS256'];
  const jwt = new SignJWT(o.claims ?? {})
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}), typ: 'JWT' })
    .setIssuer(o.iss ?? ISS)
    .setAudience(o.aud ?? AUD)
    .setIssuedAt(nowSec - 60);
  if (o.sub !== null) jwt.setSubject(o.sub ?? 'alice');
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? nowSec + 3600);
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  return jwt.sign(key);
}

async function rejects(header: string | undefined, code: string, status = 401, v = verifier): Promise<AuthError> {
  let caught: unknown;
  try {
    await v.verify(header, NOW);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AuthError, `expected AuthError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status);
  const token = header?.replace(/^\S+\s+/, '') ?? '';
  if (token.length > 8) {
    for (const part of token.split('.').filter((p) => p.length > 8)) assert.ok(!caught.message.includes(part), `message echoes the token: ${caught.message}`);
  }
  return caught;
}

test('valid RS256, ES256 and EdDSA tokens are accepted', async () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const t = await verifier.verify(`Bearer ${await mint({ alg, sub: `user-${alg}` })}`, NOW);
    assert.equal(t.subject, `user-${alg}`);
    assert.equal(t.claims.iss, ISS);
    assert.equal(t.location, undefined);
  }
});

test('the Bearer scheme is case-insensitive', async () => {
  const t = await verifier.verify(`bearer ${await mint()}`, NOW);
  assert.equal(t.subject, 'alice');
});

test('cordon_location is read from the token', async () => {
  const t = await verifier.verify(`Bearer ${await mint({ claims: { cordon_location: { country: 'DE', site: 'berlin' } } })}`, NOW);
  assert.deepEqual(t.location, { country: 'DE', site: 'berlin' });
  await rejects(`Bearer ${await mint({ claims: { cordon_location: 'DE' } })}`, 'auth.invalid_token');
  await rejects(`Bearer ${await mint({ claims: { cordon_location: { country: 49 } } })}`, 'auth.invalid_token');
});

test('a missing header or a non-Bearer scheme is auth.missing_token', async () => {
  await rejects(undefined, 'auth.missing_token');
  await rejects('', 'auth.missing_token');
  await rejects(`Basic ${Buffer.from('alice:secret').toString('base64')}`, 'auth.missing_token');
  await rejects('Bearer', 'auth.missing_token');
  await rejects(`Token ${await mint()}`, 'auth.missing_token');
});

test('malformed tokens are auth.invalid_token', async () => {
  await rejects('Bearer not-a-jwt', 'auth.invalid_token');
  await rejects('Bearer a.b', 'auth.invalid_token');
  await rejects('Bearer a.b.c.d', 'auth.invalid_token');
  await rejects('Bearer !!!.###.$$$', 'auth.invalid_token');
  await rejects(`Bearer ${b64url('just a string')}.${b64url({ sub: 'alice' })}.sig`, 'auth.invalid_token');
  await rejects(`Bearer eyJub3QganNvbg.${b64url({ sub: 'alice' })}.sig`, 'auth.invalid_token');
  const [h, , s] = (await mint()).split('.');
  await rejects(`Bearer ${h}.bm90IGpzb24.${s}`, 'auth.bad_signature'); // payload tampered: signature fails first
  await rejects(`Bearer ${'a'.repeat(20000)}.b.c`, 'auth.invalid_token');
});

test('alg none is auth.unsupported_alg', async () => {
  const payload = { iss: ISS, aud: AUD, sub: 'alice', exp: nowSec + 3600 };
  await rejects(`Bearer ${b64url({ alg: 'none' })}.${b64url(payload)}.`, 'auth.unsupported_alg');
  await rejects(`Bearer ${b64url({ alg: 'none', typ: 'JWT', kid: 'rsa-1' })}.${b64url(payload)}.`, 'auth.unsupported_alg');
  await rejects(`Bearer ${b64url({ alg: 'None' })}.${b64url(payload)}.`, 'auth.unsupported_alg');
  await rejects(`Bearer ${b64url({ typ: 'JWT' })}.${b64url(payload)}.`, 'auth.unsupported_alg');
});

test('HS256 tokens are rejected, including HMAC keyed with the public key', async () => {
  // The classic key-confusion attack: the verifier's public key, as PEM or JWK bytes, used as the HMAC secret.
  const rsaPem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
  const edPem = new TextEncoder().encode(await exportSPKI(ed.publicKey));
  const rsaJwkBytes = new TextEncoder().encode(JSON.stringify(rsa.jwk));
  const edRaw = Buffer.from(ed.jwk.x!, 'base64url');
  for (const [secret, kid] of [
    [rsaPem, 'rsa-1'],
    [edPem, 'ed-1'],
    [rsaJwkBytes, 'rsa-1'],
    [new Uint8Array(edRaw), 'ed-1'],
  ] as const) {
    await rejects(`Bearer ${await mint({ alg: 'HS256', key: secret, kid })}`, 'auth.unsupported_alg');
  }
  await rejects(`Bearer ${await mint({ alg: 'HS512', key: rsaPem, kid: 'rsa-1' })}`, 'auth.unsupported_alg');
});

test('a verifier cannot be configured with none or HMAC', () => {
  for (const algorithms of [['HS256'], ['RS256', 'none'], ['none'], []]) {
    assert.throws(() => createTokenVerifier({ issuer: ISS, audience: AUD, jwks, algorithms }), TypeError);
  }
});

test('an unaccepted asymmetric algorithm is auth.unsupported_alg', async () => {
  const onlyEd = createTokenVerifier({ issuer: ISS, audience: AUD, jwks, algorithms: ['EdDSA'] });
  await rejects(`Bearer ${await mint({ alg: 'RS256' })}`, 'auth.unsupported_alg', 401, onlyEd);
  const ps = await generateKeyPair('PS256');
  await rejects(`Bearer ${await mint({ alg: 'PS256', key: ps.privateKey, kid: 'rsa-1' })}`, 'auth.unsupported_alg');
});

test('an unknown kid is auth.unknown_key', async () => {
  await rejects(`Bearer ${await mint({ kid: 'nope' })}`, 'auth.unknown_key');
  const other = await keyPair('ES256', 'other');
  await rejects(`Bearer ${await mint({ alg: 'ES256', key: other.privateKey, kid: 'other' })}`, 'auth.unknown_key');
});

test('a signature by another key with the same kid is auth.bad_signature', async () => {
  const forger = await keyPair('RS256', 'rsa-1');
  await rejects(`Bearer ${await mint({ key: forger.privateKey, kid: 'rsa-1' })}`, 'auth.bad_signature');
  const forgerEd = await keyPair('EdDSA', 'ed-1');
  await rejects(`Bearer ${await mint({ alg: 'EdDSA', key: forgerEd.privateKey })}`, 'auth.bad_signature');
  // Without a kid, every key of the right type is tried; none verifies.
  await rejects(`Bearer ${await mint({ key: forger.privateKey, kid: '' })}`, 'auth.bad_signature');
  // A signature flipped in its last bytes.
  const good = await mint({ alg: 'EdDSA' });
  const [h, p, s] = good.split('.') as [string, string, string];
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length - 1]! ^= 1;
  await rejects(`Bearer ${h}.${p}.${sig.toString('base64url')}`, 'auth.bad_signature');
});

test('wrong issuer and wrong audience', async () => {
  const e1 = await rejects(`Bearer ${await mint({ iss: 'https://evil.example' })}`, 'auth.wrong_issuer');
  assert.match(e1.message, /iss/);
  assert.doesNotMatch(e1.message, /evil/);
  const e2 = await rejects(`Bearer ${await mint({ aud: 'someone-else' })}`, 'auth.wrong_audience');
  assert.match(e2.message, /aud/);
});

test('expired and not-yet-valid tokens', async () => {
  await rejects(`Bearer ${await mint({ exp: nowSec - 3600 })}`, 'auth.expired');
  await rejects(`Bearer ${await mint({ nbf: nowSec + 3600 })}`, 'auth.not_yet_valid');
  // Within the clock tolerance (30 s by default), both are accepted.
  assert.equal((await verifier.verify(`Bearer ${await mint({ exp: nowSec - 10 })}`, NOW)).subject, 'alice');
  assert.equal((await verifier.verify(`Bearer ${await mint({ nbf: nowSec + 10 })}`, NOW)).subject, 'alice');
  const strict = createTokenVerifier({ issuer: ISS, audience: AUD, jwks, clockToleranceSec: 0 });
  await rejects(`Bearer ${await mint({ exp: nowSec - 10 })}`, 'auth.expired', 401, strict);
});

test('a token without sub or exp is auth.missing_claim', async () => {
  const e = await rejects(`Bearer ${await mint({ sub: null })}`, 'auth.missing_claim');
  assert.match(e.message, /sub/);
  await rejects(`Bearer ${await mint({ exp: null })}`, 'auth.missing_claim');
  await rejects(`Bearer ${await mint({ sub: '' })}`, 'auth.missing_claim');
});

async function listen(server: Server): Promise<URL> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
}

test('a remote key set is fetched; an unreachable one is auth.keys_unavailable (503)', async () => {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  const url = await listen(server);
  try {
    const remote = createTokenVerifier({ issuer: ISS, audience: AUD, jwks: url });
    assert.deepEqual(remote.stats(), { keySetFetches: 0, keySetFetchFailures: 0 });
    assert.equal((await remote.verify(`Bearer ${await mint({ alg: 'ES256' })}`, NOW)).subject, 'alice');
    assert.equal((await remote.verify(`Bearer ${await mint({ alg: 'EdDSA' })}`, NOW)).subject, 'alice');
    assert.deepEqual(remote.stats(), { keySetFetches: 1, keySetFetchFailures: 0 }, 'the key set is fetched once and cached');
    await rejects(`Bearer ${await mint({ kid: 'nope' })}`, 'auth.unknown_key', 401, remote);
  } finally {
    await new Promise((r) => server.close(r));
  }
  const down = createTokenVerifier({ issuer: ISS, audience: AUD, jwks: url });
  await rejects(`Bearer ${await mint()}`, 'auth.keys_unavailable', 503, down);
  assert.deepEqual(down.stats(), { keySetFetches: 1, keySetFetchFailures: 1 });
  assert.deepEqual(
    createTokenVerifier({ issuer: ISS, audience: AUD, jwks }).stats(),
    { keySetFetches: 0, keySetFetchFailures: 0 },
    'a local key set is never fetched',
  );
});

function principal(id: string, extra: Partial<Principal> = {}): Principal {
  return {
    id,
    kind: 'person',
    name: id,
    team: 'support',
    employer: 'cordon',
    workCountry: 'DE',
    site: 'berlin',
    clearance: 1,
    approverGroups: [],
    manager: undefined,
    ...extra,
  };
}

const directory: Directory = {
  teams: new Map(),
  principals: new Map([
    ['alice', principal('alice')],
    ['svc-export', principal('svc-export', { kind: 'service', clearance: 2 })],
  ]),
};

test('principalFromToken returns the directory principal; claims never raise privileges', async () => {
  const token: VerifiedToken = { subject: 'alice', claims: { sub: 'alice', clearance: 9, team: 'admins', approver_groups: ['all'], kind: 'service' } };
  const p = principalFromToken(token, directory);
  assert.equal(p, directory.principals.get('alice'));
  assert.equal(p.clearance, 1);
  assert.equal(p.team, 'support');
  assert.deepEqual(p.approverGroups, []);
});

test('an unknown subject is auth.unknown_principal (403)', () => {
  for (const subject of ['mallory', '__proto__', 'constructor', 'ALICE']) {
    assert.throws(
      () => principalFromToken({ subject, claims: { sub: subject } }, directory),
      (e: unknown) => {
        assert.ok(e instanceof AuthError);
        assert.equal(e.code, 'auth.unknown_principal');
        assert.equal(e.status, 403);
        return true;
      },
    );
  }
});

test('the demo issuer signs EdDSA tokens its own key set verifies', async () => {
  const demo = await createDemoIssuer();
  assert.equal(demo.issuer, 'cordon-demo');
  assert.equal(demo.audience, 'cordon');
  assert.equal(demo.jwks.keys.length, 1);
  const [jwk] = demo.jwks.keys;
  assert.equal(jwk!.alg, 'EdDSA');
  assert.equal(jwk!.use, 'sig');
  assert.equal(jwk!.crv, 'Ed25519');
  assert.ok(jwk!.kid);
  assert.equal(jwk!.d, undefined, 'the key set holds no private part');

  const v = createTokenVerifier({ issuer: demo.issuer, audience: demo.audience, jwks: demo.jwks });
  const t = await v.verify(`Bearer ${await demo.sign('alice', { location: { country: 'DE', site: 'berlin' } })}`);
  assert.equal(t.subject, 'alice');
  assert.deepEqual(t.location, { country: 'DE', site: 'berlin' });
  assert.equal((t.claims.exp ?? 0) - (t.claims.iat ?? 0), 8 * 3600);

  const short = await demo.sign('alice', { ttlSec: 60, now: NOW });
  assert.equal((await v.verify(`Bearer ${short}`, new Date(NOW.getTime() + 30_000))).subject, 'alice');
  await assert.rejects(v.verify(`Bearer ${short}`, new Date(NOW.getTime() + 120_000)), (e: unknown) => e instanceof AuthError && e.code === 'auth.expired');
  // Another demo issuer's tokens do not verify against this one's key set.
  const other = await createDemoIssuer();
  await assert.rejects(v.verify(`Bearer ${await other.sign('alice')}`), (e: unknown) => e instanceof AuthError && e.code === 'auth.unknown_key');
});

test('principalClaim: the named claim is the subject; without it the token is auth.missing_claim naming it', async () => {
  const byEmail = createTokenVerifier({ issuer: ISS, audience: AUD, jwks, principalClaim: 'email' });
  const t = await byEmail.verify(`Bearer ${await mint({ sub: 'opaque-123', claims: { email: 'alice@example.com', email_verified: true } })}`, NOW);
  assert.equal(t.subject, 'alice@example.com');
  // No email_verified at all: the provider is trusted to vouch for what it puts in its tokens.
  assert.equal((await byEmail.verify(`Bearer ${await mint({ claims: { email: 'alice@example.com' } })}`, NOW)).subject, 'alice@example.com');
  const missing = await rejects(`Bearer ${await mint({ sub: 'alice' })}`, 'auth.missing_claim', 401, byEmail);
  assert.equal(missing.message, 'the token has no email claim, which names the principal (cordon.yaml identity.principal_claim)');
  await rejects(`Bearer ${await mint({ claims: { email: ['alice@example.com'] } })}`, 'auth.missing_claim', 401, byEmail);
  // A token without sub is fine when sub does not name the principal (client-credentials tokens of some providers).
  const byClient = createTokenVerifier({ issuer: ISS, audience: AUD, jwks, principalClaim: 'client_id' });
  assert.equal((await byClient.verify(`Bearer ${await mint({ sub: null, claims: { client_id: 'recsys' } })}`, NOW)).subject, 'recsys');
});

test('an email the token does not say is verified names nobody: auth.unverified_email (403); absent, the provider is trusted', async () => {
  const byEmail = createTokenVerifier({ issuer: ISS, audience: AUD, jwks, principalClaim: 'email' });
  // Anything but true is not the provider vouching for the address: fail closed.
  for (const verified of [false, 'false', 0, 1, null, 'no', 'False', 'TRUE', '', [], {}]) {
    await rejects(`Bearer ${await mint({ claims: { email: 'alice@example.com', email_verified: verified } })}`, 'auth.unverified_email', 403, byEmail);
  }
  for (const verified of [true, 'true']) {
    assert.equal(
      (await byEmail.verify(`Bearer ${await mint({ claims: { email: 'alice@example.com', email_verified: verified } })}`, NOW)).subject,
      'alice@example.com',
    );
  }
  // Only for email: another claim is not judged by email_verified.
  const byName = createTokenVerifier({ issuer: ISS, audience: AUD, jwks, principalClaim: 'preferred_username' });
  const t = await byName.verify(`Bearer ${await mint({ claims: { preferred_username: 'alice', email_verified: false } })}`, NOW);
  assert.equal(t.subject, 'alice');
});

test('several audiences: a token for any one is accepted; one for none names them all', async () => {
  const v = createTokenVerifier({ issuer: ISS, audience: ['https://cordon.example.com', 'cordon-api'], jwks });
  assert.equal((await v.verify(`Bearer ${await mint({ aud: 'cordon-api' })}`, NOW)).subject, 'alice');
  assert.equal((await v.verify(`Bearer ${await mint({ aud: 'https://cordon.example.com' })}`, NOW)).subject, 'alice');
  const e = await rejects(`Bearer ${await mint({ aud: 'cordon' })}`, 'auth.wrong_audience', 401, v);
  assert.equal(e.message, `the token's audience (aud) does not include any of "https://cordon.example.com", "cordon-api"`);
  assert.throws(() => createTokenVerifier({ issuer: ISS, audience: [], jwks }), TypeError);
  assert.throws(() => createTokenVerifier({ issuer: ISS, audience: [''], jwks }), TypeError);
});

test('with identity.principals, only the values it maps name principals: an id as the claim value names nobody', () => {
  const map = new Map([['alice@example.com', 'alice']]);
  const token = (subject: string): VerifiedToken => ({ subject, claims: {} });
  assert.equal(principalFromToken(token('alice@example.com'), directory, map), directory.principals.get('alice'));
  for (const subject of ['alice', 'svc-export', 'bob@example.com', 'ALICE@example.com', '__proto__']) {
    assert.throws(
      () => principalFromToken(token(subject), directory, map),
      (e: unknown) =>
        e instanceof AuthError &&
        e.code === 'auth.unknown_principal' &&
        e.status === 403 &&
        e.message === "the token's principal claim has a value that cordon.yaml identity.principals does not map to a principal",
    );
  }
});
