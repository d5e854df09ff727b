// Parsing what callers send the broker: every field checked, and a bad one named in a clear error
// with a stable code, before anything changes.

import { parseDuration, type AccessConfig, type ApproverGroup, type Policy } from '../policy/index.js';
import { CordonError } from '../shared/errors.js';
import { didYouMean } from '../shared/suggest.js';
import type { Scope } from './model.js';

export const MAX_SUBJECTS = 1000;
const MAX_TEXT = 2000;
const TICKET = /^[\x21-\x7e][\x20-\x7e]{0,199}$/;

type Json = Record<string, unknown>;

function bad(message: string): CordonError {
  return new CordonError('access.invalid_request', message);
}

export function asObject(body: unknown, what: string): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad(`${what} must be a JSON object`);
  return body as Json;
}

export function checkKeys(o: Json, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw bad(`unknown field ${JSON.stringify(k)} in ${what}${didYouMean(k, allowed)}`);
}

export function text(o: Json, key: string, options: { required: boolean; min?: number; max?: number }): string {
  const v = o[key];
  if (v === undefined || v === null) {
    if (options.required) throw bad(`${key} is required`);
    return '';
  }
  if (typeof v !== 'string') throw bad(`${key} must be a string`);
  const t = v.trim();
  if (t.length < (options.min ?? (options.required ? 1 : 0)))
    throw bad(options.min ? `${key} must be at least ${options.min} characters` : `${key} must not be empty`);
  if (t.length > (options.max ?? MAX_TEXT)) throw bad(`${key} must be at most ${options.max ?? MAX_TEXT} characters`);
  return t;
}

function stringList(o: Json, key: string, max: number): string[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > max || !v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 200)) {
    throw bad(`${key} must be a non-empty list of at most ${max} non-empty strings`);
  }
  return [...new Set(v as string[])];
}

/** A duration in seconds (a number) or as text ("30m", "8h"); milliseconds. */
export function duration(o: Json, key: string): number {
  const v = o[key];
  if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 366 * 86400) return v * 1000;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) throw bad(`${key} must be a duration: seconds (a positive integer) or text such as 30m or 8h`);
  return ms;
}

export function reasonCode(config: AccessConfig, o: Json): string {
  const reason = text(o, 'reason', { required: true, max: 64 });
  if (!config.reasons.has(reason)) {
    throw new CordonError(
      'access.unknown_reason',
      `unknown reason code ${JSON.stringify(reason)}; the policy allows ${[...config.reasons.keys()].join(', ')}${didYouMean(reason, config.reasons.keys())}`,
    );
  }
  return reason;
}

export function ticket(o: Json, required: boolean): string {
  const t = text(o, 'ticket', { required, max: 200 });
  if (t !== '' && !TICKET.test(t)) throw bad('ticket must be printable ASCII, at most 200 characters (a ticket reference such as SUP-1234)');
  return t;
}

/** The scope of a request or break-glass, checked against the catalog and the group's enclave. */
export function scopeOf(policy: Policy, group: ApproverGroup, o: Json): Scope {
  const datasets = stringList(o, 'datasets', 100);
  if (!datasets) throw bad('datasets is required: the datasets the grant covers');
  for (const d of datasets) {
    if (!policy.datasets.has(d))
      throw new CordonError('access.invalid_scope', `unknown dataset ${JSON.stringify(d)} in datasets${didYouMean(d, policy.datasets.keys())}`);
  }
  const given = stringList(o, 'categories', 100);
  if (!given) throw bad('categories is required: the data categories the grant covers (e.g. user.contact)');
  const categories = given.map((c) => {
    const cat = policy.taxonomy.resolve(c);
    if (!cat)
      throw new CordonError('access.invalid_scope', `unknown category ${JSON.stringify(c)} in categories${didYouMean(c, policy.taxonomy.categories.keys())}`);
    return cat.key;
  });
  const subjects = stringList(o, 'subjects', MAX_SUBJECTS);
  const filter = o['subject_filter'];
  if ((subjects === undefined) === (filter === undefined))
    throw bad('give either subjects (a list of subject keys) or subject_filter ({"jurisdictions": [...]}), not both');
  const enclave = policy.deployment.enclaves.get(group.enclave)!;
  let jurisdictions = [...enclave.jurisdictions];
  if (filter !== undefined) {
    const f = asObject(filter, 'subject_filter');
    checkKeys(f, ['jurisdictions'], 'subject_filter');
    const named = stringList(f, 'jurisdictions', 100);
    if (!named) throw bad('subject_filter.jurisdictions is required: the jurisdictions whose subjects the grant covers');
    for (const j of named) {
      if (!policy.deployment.jurisdictions.has(j))
        throw new CordonError(
          'access.invalid_scope',
          `unknown jurisdiction ${JSON.stringify(j)} in subject_filter${didYouMean(j, policy.deployment.jurisdictions.keys())}`,
        );
      if (!enclave.jurisdictions.includes(j))
        throw new CordonError(
          'access.invalid_scope',
          `jurisdiction ${j} is not in enclave ${enclave.name}, whose approver group ${group.name} decides this request`,
        );
    }
    jurisdictions = named;
  }
  return { datasets, categories: [...new Set(categories)], ...(subjects ? { subjects } : {}), jurisdictions };
}

/** What a caller's subjects name: the stored keys, or the index of the first that names no subject it may name. */
export type OpenedSubjects = { readonly keys: readonly string[] } | { readonly unknown: number };
/** Opens the subjects a caller sent (its tokens, or keys it may see in clear) to stored keys (W6). */
export type SubjectOpener = (datasets: readonly string[], sent: readonly string[]) => Promise<OpenedSubjects>;

/**
 * The scope with its subjects as stored keys, opened as the caller was given them. A subject that
 * names none it may name is malformed input (access.invalid_scope, not logged: W7), answered alike
 * whether or not a record has that key, so the broker is no oracle for guessed keys.
 */
export async function openSubjects(o: Json, scope: Scope, open: SubjectOpener | undefined): Promise<Scope> {
  if (scope.subjects === undefined || open === undefined) return scope;
  const opened = await open(scope.datasets, scope.subjects);
  if ('unknown' in opened)
    throw new CordonError(
      'access.invalid_scope',
      `subjects[${(o['subjects'] as string[]).indexOf(scope.subjects[opened.unknown]!)}] names no subject you may name from here: give the token you were given for it (as a record's key or a reference such as videos.owner_uid), or its key where you see it in clear`,
    );
  return { ...scope, subjects: [...new Set(opened.keys)] };
}

export function groupOf(config: AccessConfig, o: Json): ApproverGroup {
  const name = o['approver_group'];
  if (name === undefined) {
    const first = [...config.approverGroups.values()][0];
    if (!first) throw bad('the policy defines no approver group (cordon.yaml access.approvers), so no request can be approved');
    return first;
  }
  if (typeof name !== 'string' || !config.approverGroups.has(name)) {
    throw bad(
      `approver_group ${JSON.stringify(name)} is not defined in cordon.yaml access.approvers${typeof name === 'string' ? didYouMean(name, config.approverGroups.keys()) : ''}`,
    );
  }
  return config.approverGroups.get(name)!;
}
