// The broker's acts: request, approve, deny, revoke (or withdraw), break-glass and its review. Each
// runs in the journal's queue, checks its input and who acts from where, then commits its events.

import { createHash, randomBytes } from 'node:crypto';
import type { Policy } from '../policy/index.js';
import type { KeyService } from '../store/index.js';
import { canonicalJson, signNote, type NoteSigner } from '../log/index.js';
import { CordonError } from '../shared/errors.js';
import { groupNamed, groupOfGrant, inEnclave, inTeams, isMember, reportingLine } from './authority.js';
import { asObject, checkKeys, duration, groupOf, openSubjects, reasonCode, scopeOf, text, ticket, type SubjectOpener } from './input.js';
import type { Journal } from './journal.js';
import { iso, scopeRecord } from './log-records.js';
import type { AccessRequest, Actor, Grant, Place, Statement } from './model.js';
import { grantOf, requestOf } from './queries.js';
import type { BrokerState } from './reducer.js';

function newId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('base64url')}`;
}

export interface CommandsOptions {
  readonly policy: Policy;
  /** Keys subjects' hashes in request digests. */
  readonly keys: KeyService;
  readonly state: BrokerState;
  readonly journal: Journal;
  readonly now: () => number;
  /** Signs approval and review statements. */
  readonly signer: NoteSigner;
  /** Expires what is due; each act but a review runs it first. */
  readonly expireDue: () => Promise<void>;
  /** Alerts of a break-glass grant, not awaited. */
  readonly sendAlert: (g: Grant) => Promise<void>;
}

export function createCommands(options: CommandsOptions) {
  const { policy, keys, state, journal, now, signer, expireDue, sendAlert } = options;
  const config = policy.deployment.access;
  const { requests, grants } = state;
  const { commit, act } = journal;

  const placeOf = (actor: Actor): Place => ({ country: actor.country, site: actor.site });

  const statement = (kind: string, subject: Record<string, string>, actor: Actor, decision: Statement['decision'], comment: string, at: number): Statement => {
    const lines = [
      `cordon access ${kind} v1`,
      policy.deployment.accessLog.origin,
      ...Object.entries(subject).map(([k, v]) => `${k} ${v}`),
      `by ${actor.principal.id}`,
      `decision ${decision}`,
      `at ${iso(at)}`,
      `from ${actor.country} ${actor.site}`,
      `comment-sha256 ${createHash('sha256').update(comment).digest('base64')}`,
    ];
    return { by: actor.principal.id, decision, at, from: placeOf(actor), comment, note: signNote(`${lines.join('\n')}\n`, [signer]) };
  };

  /** The checks every approver's act passes: group, place, not their own, not their manager chain. */
  const checkDecider = (actor: Actor, r: AccessRequest, verb: string) => {
    const group = groupNamed(policy, r.group);
    if (actor.principal.id === r.principal) throw new CordonError('access.self_approval', `${actor.principal.id} cannot ${verb} their own request ${r.id}`);
    if (!isMember(policy, actor.principal, group))
      throw new CordonError(
        'access.not_approver',
        `${actor.principal.id} is not in approver group ${group.name}${group.teams.length ? ` (members of ${group.teams.join(', ')} listed with approver_groups: [${group.name}])` : ''}`,
      );
    if (!inEnclave(policy, actor, group.enclave)) {
      throw new CordonError(
        'access.outside_enclave',
        `${actor.principal.id} is at ${actor.knownPlace ? actor.country : 'an unknown place'}; approvals for enclave ${group.enclave} count only from ${policy.deployment.enclaves.get(group.enclave)!.allowedCountries.join(', ')}`,
      );
    }
    if (group.excludeReportingLine && reportingLine(policy, r.principal).includes(actor.principal.id)) {
      throw new CordonError('access.reporting_line', `${actor.principal.id} is in ${r.principal}'s reporting line, and group ${group.name} excludes it`);
    }
  };
  const checkPending = (r: AccessRequest) => {
    if (r.state === 'pending' && r.expiresAt <= now()) throw new CordonError('access.expired', `request ${r.id} expired at ${iso(r.expiresAt)}`);
    if (r.state === 'expired') throw new CordonError('access.expired', `request ${r.id} expired at ${iso(r.expiresAt)}`);
    if (r.state !== 'pending') throw new CordonError('access.already_decided', `request ${r.id} is already ${r.state}`);
  };
  /** What approve and deny share: the body, the checks, and the decider's signed statement (a denial must say why). */
  const decision = (actor: Actor, id: string, body: unknown, verb: 'approve' | 'deny') => {
    const what = verb === 'approve' ? 'the approval' : 'the denial';
    const o = asObject(body ?? {}, what);
    checkKeys(o, ['comment'], what);
    const comment = text(o, 'comment', { required: verb === 'deny' });
    const r = requestOf(state, id);
    checkPending(r);
    checkDecider(actor, r, verb);
    if (verb === 'approve' && r.approvals.some((a) => a.by === actor.principal.id))
      throw new CordonError('access.duplicate_approval', `${actor.principal.id} already approved request ${r.id}; an approval counts once`);
    const t = now();
    return { r, t, st: statement('approval', { request: r.id, digest: r.digest, principal: r.principal }, actor, verb, comment, t) };
  };

  return {
    request: (actor: Actor, body: unknown, subjects?: SubjectOpener): Promise<AccessRequest> =>
      act('request', actor, null, async () => {
        await expireDue();
        const o = asObject(body, 'the access request');
        checkKeys(
          o,
          ['datasets', 'categories', 'subjects', 'subject_filter', 'reason', 'ticket', 'duration', 'approver_group', 'comment'],
          'the access request',
        );
        const group = groupOf(config, o);
        const scope = await openSubjects(o, scopeOf(policy, group, o), subjects);
        const reason = reasonCode(config, o);
        const tk = ticket(o, true);
        const durationMs = duration(o, 'duration');
        const cap = config.reasons.get(reason)!;
        if (durationMs > cap)
          throw new CordonError('access.duration_over_cap', `duration ${durationMs / 1000}s is over the cap for ${reason} (${cap / 1000}s)`);
        const comment = text(o, 'comment', { required: false });
        const t = now();
        const id = newId('req');
        const immutable = {
          id,
          principal: actor.principal.id,
          scope,
          reason,
          ticket: tk,
          comment,
          durationMs,
          group: group.name,
          requestedAt: t,
          from: placeOf(actor),
        };
        // Subjects enter the digest as keyed hashes, as in the log's record: the digest is shown to
        // whoever may see the request, and over clear keys it would confirm a guessed key (W6).
        const digest = createHash('sha256')
          .update(canonicalJson({ ...immutable, scope: scopeRecord(keys, scope) }))
          .digest('base64');
        const r: AccessRequest = {
          ...immutable,
          expiresAt: t + config.requestTtlMs,
          digest,
          state: 'pending',
          approvals: [],
          denial: undefined,
          grant: undefined,
          closedAt: undefined,
        };
        await commit({ type: 'request', request: r }, t);
        return requests.get(id)!;
      }),

    approve: (actor: Actor, id: string, body: unknown): Promise<AccessRequest> =>
      act('approve', actor, id, async () => {
        await expireDue();
        const { r, t, st } = decision(actor, id, body, 'approve');
        await commit({ type: 'approval', request: r.id, statement: st }, t);
        const group = groupNamed(policy, r.group);
        if (r.approvals.length + 1 >= group.required) {
          const g: Grant = {
            id: newId('grant'),
            request: r.id,
            principal: r.principal,
            scope: r.scope,
            reason: r.reason,
            ticket: r.ticket,
            justification: '',
            notBefore: t,
            expiresAt: t + r.durationMs,
            breakGlass: false,
            reviewBy: undefined,
            review: undefined,
            state: 'active',
            revokedAt: undefined,
            revokedBy: undefined,
            lastUsedAt: undefined,
          };
          await commit({ type: 'grant', grant: g }, t);
        }
        return requests.get(id)!;
      }),

    deny: (actor: Actor, id: string, body: unknown): Promise<AccessRequest> =>
      act('deny', actor, id, async () => {
        await expireDue();
        const { r, t, st } = decision(actor, id, body, 'deny');
        await commit({ type: 'denial', request: r.id, statement: st }, t);
        return requests.get(id)!;
      }),

    revoke: (actor: Actor, id: string, body: unknown): Promise<{ request?: AccessRequest; grant?: Grant }> =>
      act('revoke', actor, id, async () => {
        await expireDue();
        const o = asObject(body ?? {}, 'the revocation');
        checkKeys(o, ['comment'], 'the revocation');
        const t = now();
        const req = requests.get(id);
        if (req && req.state === 'pending') {
          if (actor.principal.id !== req.principal && !isMember(policy, actor.principal, groupNamed(policy, req.group)))
            throw new CordonError('access.forbidden', `only ${req.principal} or an approver of ${req.group} may withdraw request ${req.id}`);
          await commit({ type: 'withdraw', request: req.id, at: t }, t);
          return { request: requests.get(id)! };
        }
        const g = req ? (req.grant !== undefined ? grants.get(req.grant) : undefined) : grants.get(id);
        if (!g) {
          if (req) throw new CordonError('access.already_decided', `request ${req.id} is ${req.state}; there is no grant to revoke`);
          throw new CordonError('access.not_found', `no access request or grant has id ${JSON.stringify(id)}`);
        }
        const group = groupOfGrant(policy, state, g);
        if (actor.principal.id !== g.principal && !(group && isMember(policy, actor.principal, group)))
          throw new CordonError('access.forbidden', `only ${g.principal} or an approver may revoke grant ${g.id}`);
        if (g.state === 'revoked') throw new CordonError('access.already_decided', `grant ${g.id} was already revoked`);
        if (g.state === 'expired' || g.expiresAt <= t) throw new CordonError('access.expired', `grant ${g.id} expired at ${iso(g.expiresAt)}`);
        await commit({ type: 'revoke', grant: g.id, at: t, by: actor.principal.id }, t);
        return { grant: grants.get(g.id)!, ...(req ? { request: requests.get(req.id)! } : {}) };
      }),

    breakGlass: (actor: Actor, body: unknown, subjects?: SubjectOpener): Promise<Grant> =>
      act('break_glass', actor, null, async () => {
        await expireDue();
        const bg = config.breakGlass;
        if (!bg) throw new CordonError('access.break_glass_not_allowed', 'break-glass is not configured (cordon.yaml access.break_glass)');
        if (!inTeams(policy, actor.principal, bg.allowed))
          throw new CordonError(
            'access.break_glass_not_allowed',
            `${actor.principal.id} may not break glass (access.break_glass.allowed: ${bg.allowed.join(', ')})`,
          );
        const o = asObject(body, 'the break-glass request');
        checkKeys(o, ['datasets', 'categories', 'subjects', 'subject_filter', 'reason', 'ticket', 'duration', 'justification'], 'the break-glass request');
        const group = groupNamed(policy, bg.reviewers);
        const asked = scopeOf(policy, group, o);
        const reason = reasonCode(config, o);
        const tk = ticket(o, false);
        const justification = text(o, 'justification', { required: true, min: 10 });
        const durationMs = o['duration'] === undefined ? bg.maxDurationMs : duration(o, 'duration');
        if (durationMs > bg.maxDurationMs)
          throw new CordonError('access.duration_over_cap', `break-glass lasts at most ${bg.maxDurationMs / 1000}s; asked for ${durationMs / 1000}s`);
        if (!inEnclave(policy, actor, group.enclave))
          throw new CordonError(
            'access.outside_enclave',
            `break-glass for enclave ${group.enclave} only from ${policy.deployment.enclaves.get(group.enclave)!.allowedCountries.join(', ')}; ${actor.principal.id} is at ${actor.knownPlace ? actor.country : 'an unknown place'}`,
          );
        // Subjects are opened last: from outside the enclave's countries, a clear key names nothing,
        // and the attempt is refused (and logged) as out of place first.
        const scope = await openSubjects(o, asked, subjects);
        const t = now();
        const g: Grant = {
          id: newId('glass'),
          request: undefined,
          principal: actor.principal.id,
          scope,
          reason,
          ticket: tk,
          justification,
          notBefore: t,
          expiresAt: t + durationMs,
          breakGlass: true,
          reviewBy: t + bg.reviewWithinMs,
          review: undefined,
          state: 'active',
          revokedAt: undefined,
          revokedBy: undefined,
          lastUsedAt: undefined,
        };
        await commit({ type: 'grant', grant: g }, t);
        void sendAlert(g);
        return grants.get(g.id)!;
      }),

    review: (actor: Actor, grantId: string, body: unknown): Promise<Grant> =>
      act('review', actor, grantId, async () => {
        const o = asObject(body, 'the review');
        checkKeys(o, ['verdict', 'comment'], 'the review');
        const verdict = o['verdict'];
        if (verdict !== 'justified' && verdict !== 'unjustified')
          throw new CordonError('access.invalid_request', 'verdict must be "justified" or "unjustified"');
        const comment = text(o, 'comment', { required: true });
        const g = grantOf(state, grantId);
        if (!g.breakGlass)
          throw new CordonError('access.not_break_glass', `grant ${g.id} came from approved request ${g.request}; only break-glass grants are reviewed`);
        if (g.review) throw new CordonError('access.already_decided', `break-glass grant ${g.id} was already reviewed by ${g.review.by}`);
        const group = groupNamed(policy, config.breakGlass!.reviewers);
        if (actor.principal.id === g.principal) throw new CordonError('access.self_approval', `${actor.principal.id} cannot review their own break-glass`);
        if (!isMember(policy, actor.principal, group))
          throw new CordonError('access.not_approver', `${actor.principal.id} is not in approver group ${group.name}, which reviews break-glass`);
        if (!inEnclave(policy, actor, group.enclave))
          throw new CordonError(
            'access.outside_enclave',
            `reviews for enclave ${group.enclave} count only from ${policy.deployment.enclaves.get(group.enclave)!.allowedCountries.join(', ')}`,
          );
        const t = now();
        const st = statement('review', { grant: g.id, principal: g.principal }, actor, verdict, comment, t);
        await commit({ type: 'review', grant: g.id, statement: st }, t);
        return grants.get(g.id)!;
      }),
  };
}
