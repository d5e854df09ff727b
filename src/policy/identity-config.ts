// cordon.yaml `identity`: which claim of a verified token names the principal (real providers give
// opaque `sub`s; `email`, `preferred_username`, `client_id` or `azp` are what an operator can list),
// an optional map from that claim's values to directory principals, and the audiences a token must
// carry. The directory, not the token, still says what a principal is.

import type { Directory, IdentityConfig } from './model.js';
import { type IssueList, type YamlFile, isSeq, readMap, readString, readStringList, type Node } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';

export const DEFAULT_PRINCIPAL_CLAIM = 'sub';
/** Claims that say when, by whom or for whom a token was made; none of them can name a principal. */
const NOT_A_NAME = new Set(['iss', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', 'email_verified', 'cordon_location']);
/** A JSON member name as claims are written: no spaces or control characters, at most 100 characters. */
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$/;

export const DEFAULT_IDENTITY: IdentityConfig = { principalClaim: DEFAULT_PRINCIPAL_CLAIM, audience: [] };

export function readIdentityConfig(f: YamlFile, node: Node | null | undefined, issues: IssueList, directory?: Directory): IdentityConfig {
  if (node === undefined) return DEFAULT_IDENTITY;
  const spec = readMap(f, node, issues, 'identity', { optional: ['principal_claim', 'principals', 'audience', 'description'] });
  if (!spec) return DEFAULT_IDENTITY;

  let principalClaim = DEFAULT_PRINCIPAL_CLAIM;
  const claimEntry = spec.get('principal_claim');
  if (claimEntry) {
    const claim = readString(f, claimEntry.value, issues, 'identity.principal_claim');
    if (claim !== undefined && !CLAIM_NAME.test(claim))
      issues.error(
        f.pos(claimEntry.value),
        'policy.invalid_value',
        `identity.principal_claim: ${JSON.stringify(claim)} is not a claim name (such as sub, email, preferred_username, client_id or azp)`,
      );
    else if (claim !== undefined && NOT_A_NAME.has(claim))
      issues.error(
        f.pos(claimEntry.value),
        'policy.invalid_value',
        `identity.principal_claim: ${claim} says when, by whom or for whom a token was made and cannot name a principal; use sub, email, preferred_username, client_id or azp`,
      );
    else if (claim !== undefined) principalClaim = claim;
  }

  let principals: Map<string, string> | undefined;
  const mapEntry = spec.get('principals');
  if (mapEntry) {
    const entries = readMap(f, mapEntry.value, issues, 'identity.principals');
    principals = new Map();
    for (const e of entries?.values() ?? []) {
      const id = readString(f, e.value, issues, `identity.principals.${JSON.stringify(e.key)}`);
      if (id === undefined) continue;
      if (directory && !directory.principals.has(id)) {
        issues.error(
          f.pos(e.value),
          'policy.unknown_principal',
          `identity.principals.${JSON.stringify(e.key)}: ${JSON.stringify(id)} is not a principal of the directory${didYouMean(id, directory.principals.keys())}`,
        );
        continue;
      }
      principals.set(e.key, id);
    }
    if (entries && entries.size === 0)
      issues.error(
        f.pos(mapEntry.value),
        'policy.invalid_value',
        'identity.principals is empty, so no token would name a principal: list claim values, or remove it',
      );
  }

  const audience: string[] = [];
  const audEntry = spec.get('audience');
  if (audEntry) {
    // One audience or a list of them: a token is accepted when its aud holds any one.
    const items = isSeq(audEntry.value)
      ? (readStringList(f, audEntry.value, issues, 'identity.audience') ?? []).map((i) => i.value)
      : [readString(f, audEntry.value, issues, 'identity.audience')].filter((a): a is string => a !== undefined);
    if (isSeq(audEntry.value) && items.length === 0) issues.error(f.pos(audEntry.value), 'policy.invalid_value', 'identity.audience is an empty list');
    audience.push(...items);
  }
  return { principalClaim, ...(principals ? { principals } : {}), audience };
}
