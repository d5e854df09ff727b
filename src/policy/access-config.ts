// cordon.yaml `access`: the reason codes and how long each may grant, approver groups (N of M, in
// which enclave), break-glass, and the thresholds of the standing-access review.

import type { AccessConfig, ApproverGroup, BreakGlassConfig, Directory, Enclave, ReviewConfig } from './model.js';
import { type IssueList, type YamlFile, isScalar, readBoolean, readInteger, readMap, readString, readStringList, type Node } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The reason codes a policy gets when it lists none, with the longest grant each may ask for. */
export const DEFAULT_REASONS: ReadonlyMap<string, number> = new Map([
  ['USER_SUPPORT', 8 * HOUR],
  ['INCIDENT_RESPONSE', DAY],
  ['LEGAL_REQUEST', 7 * DAY],
  ['TRUST_AND_SAFETY', DAY],
  ['SECURITY_INVESTIGATION', 3 * DAY],
  ['MIGRATION', 7 * DAY],
]);
export const DEFAULT_REQUEST_TTL_MS = DAY;
export const BREAK_GLASS_MAX_MS = HOUR;
export const DEFAULT_REVIEW: ReviewConfig = { dormantAfterMs: DAY, rubberStamp: { minDecisions: 10, approveRate: 0.95, medianMs: MINUTE } };

const UNITS: Record<string, number> = { s: 1000, m: MINUTE, h: HOUR, d: DAY };
const REASON = /^[A-Z][A-Z0-9_]*$/;

/** "90s", "15m", "8h", "7d" (or a sum such as "1h30m") -> milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+[smhd])+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+)([smhd])/g)) ms += Number(m[1]) * UNITS[m[2]!]!;
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.floor(ms / 1000);
  for (const [unit, s] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= s) {
      parts.push(`${Math.floor(rest / s)}${unit}`);
      rest %= s;
    }
  }
  return parts.join('') || '0s';
}

function readDuration(f: YamlFile, node: Node | null, issues: IssueList, what: string): number | undefined {
  const text = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
  const ms = text === undefined ? undefined : parseDuration(text);
  if (ms === undefined) issues.error(f.pos(node), 'policy.invalid_value', `${what} must be a duration such as 30m, 8h or 7d`);
  return ms;
}

function readFraction(f: YamlFile, node: Node | null, issues: IssueList, what: string): number | undefined {
  if (isScalar(node) && typeof node.value === 'number' && node.value >= 0 && node.value <= 1) return node.value;
  issues.error(f.pos(node), 'policy.invalid_value', `${what} must be a number from 0 to 1`);
  return undefined;
}

/** `directory`, when it loaded, is used to check the teams and principals named. */
export function readAccessConfig(
  f: YamlFile,
  node: Node | null | undefined,
  issues: IssueList,
  enclaves: ReadonlyMap<string, Enclave>,
  directory: Directory | undefined,
): AccessConfig {
  const spec =
    node === undefined
      ? undefined
      : readMap(f, node, issues, 'access', { optional: ['reasons', 'request_ttl', 'approvers', 'break_glass', 'review', 'description'] });
  const teamOrPrincipal = (item: { value: string; node: Node }, what: string, teamsOnly = false) => {
    if (!directory) return;
    if (directory.teams.has(item.value) || (!teamsOnly && directory.principals.has(item.value))) return;
    const known = teamsOnly ? [...directory.teams.keys()] : [...directory.teams.keys(), ...directory.principals.keys()];
    issues.error(
      f.pos(item.node),
      'policy.unknown_team',
      `${what} names ${JSON.stringify(item.value)}, which is not a ${teamsOnly ? 'team' : 'team or principal'}${didYouMean(item.value, known)}`,
    );
  };

  let reasons = DEFAULT_REASONS;
  if (spec?.has('reasons')) {
    const listed = new Map<string, number>();
    for (const e of readMap(f, spec.get('reasons')!.value, issues, `access.reasons`)?.values() ?? []) {
      if (!REASON.test(e.key))
        issues.error(
          f.pos(e.keyNode),
          'policy.invalid_value',
          `reason code ${JSON.stringify(e.key)} must be upper-case letters, digits and '_', such as USER_SUPPORT`,
        );
      const cap = readDuration(f, e.value, issues, `the longest grant for reason ${e.key}`);
      if (cap !== undefined) listed.set(e.key, cap);
    }
    if (listed.size === 0 && issues.errorCount === 0)
      issues.error(f.pos(spec.get('reasons')!.value), 'policy.invalid_value', 'access.reasons lists no reason code');
    reasons = listed;
  }
  const requestTtlMs = spec?.has('request_ttl')
    ? (readDuration(f, spec.get('request_ttl')!.value, issues, `access.request_ttl`) ?? DEFAULT_REQUEST_TTL_MS)
    : DEFAULT_REQUEST_TTL_MS;

  const approverGroups = new Map<string, ApproverGroup>();
  for (const e of (spec?.has('approvers') && readMap(f, spec.get('approvers')!.value, issues, `access.approvers`)?.values()) || []) {
    const g = readMap(f, e.value, issues, `approver group ${e.key}`, {
      required: ['enclave', 'required'],
      optional: ['teams', 'exclude_reporting_line', 'description'],
    });
    if (!g) continue;
    const enclaveNode = g.get('enclave')?.value ?? null;
    const enclave = g.has('enclave') ? readString(f, enclaveNode, issues, `enclave of approver group ${e.key}`) : undefined;
    if (enclave !== undefined && !enclaves.has(enclave)) {
      issues.error(
        f.pos(enclaveNode),
        'policy.invalid_value',
        `approver group ${e.key} names unknown enclave ${JSON.stringify(enclave)}${didYouMean(enclave, enclaves.keys())}`,
      );
    }
    const requiredNode = g.get('required')?.value ?? null;
    const required = g.has('required') ? readInteger(f, requiredNode, issues, `required of approver group ${e.key}`) : undefined;
    if (required !== undefined && required < 1)
      issues.error(f.pos(requiredNode), 'policy.invalid_value', `required of approver group ${e.key} must be at least 1`);
    const teams = g.has('teams') ? (readStringList(f, g.get('teams')!.value, issues, `teams of approver group ${e.key}`) ?? []) : [];
    for (const t of teams) teamOrPrincipal(t, `approver group ${e.key}`, true);
    const exclude = g.has('exclude_reporting_line')
      ? readBoolean(f, g.get('exclude_reporting_line')!.value, issues, `exclude_reporting_line of approver group ${e.key}`)
      : false;
    if (directory && required !== undefined && required >= 1) {
      const members = [...directory.principals.values()].filter((p) => p.approverGroups.includes(e.key));
      if (members.length < required) {
        issues.error(
          f.pos(requiredNode),
          'policy.invalid_value',
          `approver group ${e.key} needs ${required} approvals but the directory lists ${members.length} member(s) (approver_groups: [${e.key}])`,
        );
      }
    }
    if (enclave !== undefined && required !== undefined) {
      approverGroups.set(e.key, { name: e.key, enclave, required, teams: teams.map((t) => t.value), excludeReportingLine: exclude ?? false });
    }
  }
  if (directory && spec?.has('approvers')) {
    for (const p of directory.principals.values()) {
      for (const g of p.approverGroups) {
        if (!approverGroups.has(g))
          issues.error(
            f.pos(spec.get('approvers')!.keyNode),
            'policy.invalid_value',
            `principal ${p.id} is in approver group ${JSON.stringify(g)}, which access.approvers does not define${didYouMean(g, approverGroups.keys())}`,
          );
      }
    }
  }

  let breakGlass: BreakGlassConfig | undefined;
  if (spec?.has('break_glass')) {
    const b = readMap(f, spec.get('break_glass')!.value, issues, `access.break_glass`, {
      required: ['allowed', 'reviewers', 'review_within'],
      optional: ['max_duration', 'webhook', 'description'],
    });
    if (b) {
      const allowed = b.has('allowed') ? (readStringList(f, b.get('allowed')!.value, issues, 'access.break_glass.allowed') ?? []) : [];
      for (const a of allowed) teamOrPrincipal(a, 'access.break_glass.allowed');
      const maxNode = b.get('max_duration')?.value ?? null;
      const maxDurationMs = b.has('max_duration') ? readDuration(f, maxNode, issues, 'access.break_glass.max_duration') : BREAK_GLASS_MAX_MS;
      if (maxDurationMs !== undefined && maxDurationMs > BREAK_GLASS_MAX_MS)
        issues.error(f.pos(maxNode), 'policy.invalid_value', 'access.break_glass.max_duration may be at most 1h');
      const reviewersNode = b.get('reviewers')?.value ?? null;
      const reviewers = b.has('reviewers') ? readString(f, reviewersNode, issues, 'access.break_glass.reviewers') : undefined;
      if (reviewers !== undefined && !approverGroups.has(reviewers)) {
        issues.error(
          f.pos(reviewersNode),
          'policy.invalid_value',
          `access.break_glass.reviewers names ${JSON.stringify(reviewers)}, which is not an approver group${didYouMean(reviewers, approverGroups.keys())}`,
        );
      }
      const reviewWithinMs = b.has('review_within') ? readDuration(f, b.get('review_within')!.value, issues, 'access.break_glass.review_within') : undefined;
      const webhookNode = b.get('webhook')?.value ?? null;
      const webhook = b.has('webhook') ? readString(f, webhookNode, issues, 'access.break_glass.webhook') : undefined;
      if (webhook !== undefined && !/^https?:\/\/\S+$/.test(webhook))
        issues.error(f.pos(webhookNode), 'policy.invalid_value', 'access.break_glass.webhook must be an http:// or https:// URL');
      if (maxDurationMs !== undefined && reviewers !== undefined && reviewWithinMs !== undefined) {
        breakGlass = { allowed: allowed.map((a) => a.value), maxDurationMs: Math.min(maxDurationMs, BREAK_GLASS_MAX_MS), reviewers, reviewWithinMs, webhook };
      }
    }
  }

  let review = DEFAULT_REVIEW;
  if (spec?.has('review')) {
    const r = readMap(f, spec.get('review')!.value, issues, `access.review`, { optional: ['dormant_after', 'rubber_stamp'] });
    const dormantAfterMs = r?.has('dormant_after') ? readDuration(f, r.get('dormant_after')!.value, issues, 'access.review.dormant_after') : undefined;
    const rs = r?.has('rubber_stamp')
      ? readMap(f, r.get('rubber_stamp')!.value, issues, 'access.review.rubber_stamp', { optional: ['min_decisions', 'approve_rate', 'median'] })
      : undefined;
    const minDecisions = rs?.has('min_decisions')
      ? readInteger(f, rs.get('min_decisions')!.value, issues, 'access.review.rubber_stamp.min_decisions')
      : undefined;
    const approveRate = rs?.has('approve_rate') ? readFraction(f, rs.get('approve_rate')!.value, issues, 'access.review.rubber_stamp.approve_rate') : undefined;
    const medianMs = rs?.has('median') ? readDuration(f, rs.get('median')!.value, issues, 'access.review.rubber_stamp.median') : undefined;
    review = {
      dormantAfterMs: dormantAfterMs ?? DEFAULT_REVIEW.dormantAfterMs,
      rubberStamp: {
        minDecisions: minDecisions ?? DEFAULT_REVIEW.rubberStamp.minDecisions,
        approveRate: approveRate ?? DEFAULT_REVIEW.rubberStamp.approveRate,
        medianMs: medianMs ?? DEFAULT_REVIEW.rubberStamp.medianMs,
      },
    };
  }
  return { reasons, requestTtlMs, approverGroups, breakGlass, review };
}
