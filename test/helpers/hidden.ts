// Assertions for values that may be protected data (phone numbers, emails, birthdays): a failing
// test must not print them, so these compare the values and, on a difference, name the paths that
// differ with the first 12 hex digits of each side's SHA-256 — never the values themselves.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

/** The first 12 hex digits of a value's SHA-256 (of its JSON form): how a test names a protected value. */
export function hashOf(value: unknown): string {
  return createHash('sha256')
    .update(value === undefined ? 'undefined' : JSON.stringify(value))
    .digest('hex')
    .slice(0, 12);
}

/** Paths (`.a.b[2]`) at which two JSON-like values differ, each with both sides' hashes. */
export function hiddenDifferences(actual: unknown, expected: unknown, path = ''): string[] {
  if (isDeepStrictEqual(actual, expected)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObject(actual) && isObject(expected) && Array.isArray(actual) === Array.isArray(expected)) {
    const keys = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort();
    return keys.flatMap((k) => hiddenDifferences(actual[k], expected[k], Array.isArray(actual) ? `${path}[${k}]` : `${path}.${k}`));
  }
  return [`${path || '(value)'}: sha ${hashOf(actual)}, expected sha ${hashOf(expected)}`];
}

/** Deep strict equality whose failure message shows hashes, not values. */
export function assertSameHidden(actual: unknown, expected: unknown, message = 'values differ'): void {
  const diff = hiddenDifferences(actual, expected);
  if (diff.length > 0) assert.fail(`${message}: ${diff.slice(0, 10).join('; ')}${diff.length > 10 ? `; +${diff.length - 10} more` : ''}`);
}
