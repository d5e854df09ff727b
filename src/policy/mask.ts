// Which categories can be disclosed `masked`, and how: a part that identifies nobody on its own.
// A category without a mask is never masked: the ladder goes from tokenized straight to withheld.

import { isIP } from 'node:net';

export type MaskKind = 'last_two_digits' | 'year' | 'email_domain' | 'ip_prefix';

/** Category (or ancestor) -> mask. The most specific listed ancestor applies. */
export const MASKS: ReadonlyMap<string, MaskKind> = new Map([
  ['user.contact.phone_number', 'last_two_digits'],
  ['user.contact.fax_number', 'last_two_digits'],
  ['user.demographic.date_of_birth', 'year'],
  ['user.contact.email', 'email_domain'],
  ['user.device.ip_address', 'ip_prefix'],
]);

export function maskKindOf(lineage: readonly string[]): MaskKind | undefined {
  for (const key of lineage) {
    const m = MASKS.get(key);
    if (m !== undefined) return m;
  }
  return undefined;
}

/** The eight groups of an IPv6 address (lower case, no leading zeros), or undefined. */
function expandIpv6(s: string): string[] | undefined {
  if (isIP(s) !== 6 || s.includes('.')) return undefined;
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(16));
}

/** Applies a mask to a value. Returns undefined when the value does not have the expected shape. */
export function applyMask(kind: MaskKind, value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const s = String(value);
  switch (kind) {
    case 'last_two_digits': {
      const digits = s.replace(/\D/g, '');
      return digits.length < 4 ? undefined : `…${digits.slice(-2)}`;
    }
    case 'year': {
      const m = /^(\d{4})-\d{2}-\d{2}/.exec(s);
      return m ? m[1] : undefined;
    }
    case 'email_domain': {
      const at = s.lastIndexOf('@');
      return at > 0 && at < s.length - 1 ? `…@${s.slice(at + 1)}` : undefined;
    }
    case 'ip_prefix': {
      const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(s);
      if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
      const groups = expandIpv6(s);
      return groups ? `${groups.slice(0, 3).join(':')}::/48` : undefined;
    }
  }
}
