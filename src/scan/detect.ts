// The detectors: find candidates in a string with a few cheap scans (digit runs, '@', ':', UUID
// dashes), then validate each (libphonenumber, Luhn and issuer ranges, SSN rules, node:net isIP) and
// score it with context words near it or in the field's name. Nothing here leaves the process.

import { isIP } from 'node:net';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { DETECTOR_CATEGORY, type Detection, type DetectorId } from './types.js';
import { cardScheme, isImei, isLuhn, isValidSsn } from './validators.js';
import { findDates } from './dates.js';

/** Regions a phone number without a country code is tried in, in order. */
export const DEFAULT_PHONE_COUNTRIES: readonly CountryCode[] = ['US', 'GB', 'CA', 'AU', 'DE', 'FR', 'IE', 'NL', 'IT', 'ES', 'BR', 'IN', 'CN', 'JP', 'SG'];
/** Detections below this confidence are dropped. */
export const DEFAULT_MIN_CONFIDENCE = 0.5;
/** How far (UTF-16 units) before and after a candidate context words are looked for. */
export const CONTEXT_BEFORE = 48;
export const CONTEXT_AFTER = 24;

export interface DetectOptions {
  readonly phoneCountries?: readonly CountryCode[];
  readonly minConfidence?: number;
  /** The name of the field or column the text came from; it counts as context for every candidate. */
  readonly hint?: string;
  /** Only these detectors (default: all). */
  readonly detectors?: ReadonlySet<DetectorId>;
}

const CONTEXT: Readonly<Record<'phone' | 'card' | 'ssn' | 'ip' | 'dob' | 'device' | 'imei', RegExp>> = {
  phone: /phone|\btel\b|tel[:.]|mobile|\bcell|\bcall|\bfax|contact|\bsms|whatsapp|\bdial|\boffice\b|\bdesk|landline|\bnumber|\breach|\btext|messag|answer|\bmsisdn/i,
  card: /card|credit|debit|\bvisa|master|\bamex|\bcc\b|\bpan\b|payment|\bpay\b|expir/i,
  ssn: /\bssn|social\s*sec|taxpayer|\btin\b|\bss#/i,
  ip: /\bip\b|ip[_ -]?addr|\bipv[46]|\bhost|client|remote|\bsrc|\bdst|source|address|\bfrom\b|login/i,
  dob: /birth|\bdob\b|\bborn|\bb-?day|d\.o\.b/i,
  device: /\bidfa|\bgaid|\baaid|\badid|advertis|\bad[_ -]?id|device|\bmaid\b|\bifa\b/i,
  imei: /\bimei|device|handset/i,
};

type ContextKind = keyof typeof CONTEXT;

/** True when a field or column name is context for some detector (`phone`, `dob`, `client_ip`…). */
export function isHint(name: string): boolean {
  for (const re of Object.values(CONTEXT)) if (re.test(name)) return true;
  return false;
}

interface Scanner {
  readonly text: string;
  readonly hint: string;
  readonly min: number;
  readonly countries: readonly CountryCode[];
  readonly want: (d: DetectorId) => boolean;
  readonly out: Detection[];
}

function hasContext(s: Scanner, kind: ContextKind, start: number, end: number): boolean {
  const re = CONTEXT[kind];
  if (s.hint !== '' && re.test(s.hint)) return true;
  // Context is looked for on the candidate's own line only: a log line says nothing of the next.
  const lineStart = s.text.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = s.text.indexOf('\n', end);
  if (lineEnd === -1) lineEnd = s.text.length;
  const before = s.text.slice(Math.max(lineStart, start - CONTEXT_BEFORE), start);
  const after = s.text.slice(end, Math.min(lineEnd, end + CONTEXT_AFTER));
  return re.test(before) || re.test(after);
}

function push(s: Scanner, detector: DetectorId, confidence: number, start: number, end: number, value: string, extra: { country?: string } = {}): void {
  if (confidence < s.min) return;
  s.out.push({ detector, category: DETECTOR_CATEGORY[detector], confidence: Math.min(1, Math.round(confidence * 100) / 100), start, end, value, ...extra });
}

/** Every detection in `text`, ordered by start offset; overlapping candidates keep the most confident. */
export function detect(text: string, options: DetectOptions = {}): Detection[] {
  const s: Scanner = {
    text,
    hint: options.hint ?? '',
    min: options.minConfidence ?? DEFAULT_MIN_CONFIDENCE,
    countries: options.phoneCountries ?? DEFAULT_PHONE_COUNTRIES,
    want: options.detectors ? (d) => options.detectors!.has(d) : () => true,
    out: [],
  };
  if (s.want('email')) scanEmails(s);
  scanDigitRuns(s);
  if (s.want('ipv6')) scanIpv6(s);
  if (s.want('advertising_id')) scanUuids(s);
  if (s.want('date_of_birth')) scanBirthDates(s);
  return resolveOverlaps(s.out);
}

function resolveOverlaps(found: Detection[]): Detection[] {
  if (found.length < 2) return found;
  found.sort((a, b) => a.start - b.start || b.confidence - a.confidence || b.end - a.end);
  const kept: Detection[] = [];
  for (const d of found) {
    const last = kept[kept.length - 1];
    if (last && d.start < last.end) {
      if (d.confidence > last.confidence) kept[kept.length - 1] = d;
      continue;
    }
    kept.push(d);
  }
  return kept;
}

// ---- email ----

const LOCAL_CHAR = /[A-Za-z0-9._%+\-']/;
const DOMAIN_CHAR = /[A-Za-z0-9.\-]/;

function scanEmails(s: Scanner): void {
  const t = s.text;
  for (let at = t.indexOf('@'); at !== -1; at = t.indexOf('@', at + 1)) {
    let a = at;
    while (a > 0 && a > at - 64 && LOCAL_CHAR.test(t[a - 1]!)) a--;
    while (a < at && /[.\-']/.test(t[a]!)) a++;
    let b = at + 1;
    while (b < t.length && b < at + 254 && DOMAIN_CHAR.test(t[b]!)) b++;
    while (b > at + 1 && /[.\-]/.test(t[b - 1]!)) b--;
    if (a === at || b <= at + 3) continue;
    const domain = t.slice(at + 1, b);
    const labels = domain.split('.');
    const tld = labels[labels.length - 1]!;
    if (labels.length < 2 || !/^[A-Za-z]{2,24}$/.test(tld) || labels.some((l) => l === '' || l.startsWith('-') || l.endsWith('-'))) continue;
    const local = t.slice(a, at);
    if (local.includes('..')) continue;
    push(s, 'email', 0.9, a, b, `${local}@${domain.toLowerCase()}`);
  }
}

// ---- digit runs: IPv4, SSN, cards, IMEI, phone numbers ----

// A digit, then digits and the separators numbers are written with, ending in a digit.
const DIGIT_RUN = /\d[\d\-. ()/]{4,}\d/g;
const DATE_SHAPE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;
const DATE_PREFIX = /^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})[ T]/;
const IPV4_SHAPE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const SSN_SHAPE = /^\d{3}([- ])\d{2}\1\d{4}$/;
const EXTENSION = /^ ?(?:x|ext\.?|#) ?\d{1,6}/;

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

function scanDigitRuns(s: Scanner): void {
  const t = s.text;
  DIGIT_RUN.lastIndex = 0;
  for (let m = DIGIT_RUN.exec(t); m !== null; m = DIGIT_RUN.exec(t)) {
    let start = m.index;
    let end = start + m[0].length;
    // Glued to letters (an identifier, a hash, a UUID): not a number of ours.
    if (isWordChar(t[start - 1]) || (isWordChar(t[end]) && !/^[x#e]/i.test(t[end]!))) continue;
    let run = m[0];
    // A run that swallowed an opening parenthesis or a trailing one keeps them balanced.
    if (t[start - 1] === '(' && run.indexOf(')') > 0 && run.indexOf(')') < 5) {
      start--;
      run = `(${run}`;
    }
    if (t[start - 1] === '+') {
      start--;
      run = `+${run}`;
    }
    classifyRun(s, run, start, end);
  }
}

function classifyRun(s: Scanner, run: string, start: number, end: number): void {
  const t = s.text;
  if (IPV4_SHAPE.test(run)) {
    if (s.want('ipv4') && isIP(run) === 4 && !/\.0\d/.test(run) && !/^0/.test(run)) {
      const internal = /^(10|127|0)\./.test(run) || /^192\.168\./.test(run) || /^169\.254\./.test(run);
      const ctx = hasContext(s, 'ip', start, end);
      // Private, loopback and link-local addresses name hosts of a network, not a user's connection.
      push(s, 'ipv4', internal ? 0.3 : 0.6 + (ctx ? 0.3 : 0), start, end, run);
    }
    return;
  }
  // Dates and timestamps (`2006-04-07 09:00`) are the date-of-birth scanner's.
  if (DATE_SHAPE.test(run) || DATE_PREFIX.test(run)) return;
  const digits = run.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 19) return;
  const separators = run.replace(/[\d]/g, '');

  if (digits.length === 9 && s.want('us_ssn') && (SSN_SHAPE.test(run) || separators === '')) {
    const shaped = separators !== '';
    const ctx = hasContext(s, 'ssn', start, end);
    if (isValidSsn(digits) && (shaped || ctx)) push(s, 'us_ssn', (shaped ? 0.6 : 0.5) + (ctx ? 0.3 : 0), start, end, digits);
    // Written as an SSN (3-2-4) but not a valid one: not a phone number either.
    if (shaped || ctx) return;
  }
  if (digits.length >= 12 && s.want('payment_card') && /^[\d -]+$/.test(run) && consistentGroups(run)) {
    const ctx = hasContext(s, 'card', start, end);
    if (cardScheme(digits) !== undefined) {
      push(s, 'payment_card', (digits.length >= 15 ? 0.7 : 0.55) + (ctx ? 0.25 : 0), start, end, digits);
      return;
    }
    // Outside the known issuer ranges (private-label and new ranges), Luhn and the word "card" still say card.
    if (ctx && isLuhn(digits)) {
      push(s, 'payment_card', 0.7, start, end, digits);
      return;
    }
  }
  if (digits.length === 15 && s.want('imei') && isImei(digits) && hasContext(s, 'imei', start, end)) {
    push(s, 'imei', 0.85, start, end, digits);
    return;
  }
  if (s.want('phone') && digits.length <= 15) {
    let phoneEnd = end;
    const ext = EXTENSION.exec(t.slice(end, end + 10));
    if (ext) phoneEnd = end + ext[0].length;
    classifyPhone(s, run, digits, separators, start, phoneEnd);
  }
}

/** Card numbers are written in groups of 4 (or 4-6-5 for Amex): reject runs like `1 2345 678901234`. */
function consistentGroups(run: string): boolean {
  const groups = run.split(/[ -]/);
  if (groups.length === 1) return true;
  const lens = groups.map((g) => g.length).join(',');
  return /^(4,)+\d$/.test(`${lens}`) || lens === '4,6,5' || lens === '4,6,4';
}

function classifyPhone(s: Scanner, run: string, digits: string, separators: string, start: number, end: number): void {
  const ctx = hasContext(s, 'phone', start, end);
  const international = run.startsWith('+') || /^00[1-9]/.test(digits) || /^011/.test(digits);
  const formatted = separators.length > 0;
  // The best each path could reach; skip the (slow) validation when it could not reach the floor.
  const bonus = ctx ? 0.25 : 0;
  if (international) {
    const e164 = run.startsWith('+') ? run : `+${digits.replace(/^(00|011)/, '')}`;
    const p = parsePhoneNumberFromString(e164.replace(/\(0\)/, ''));
    if (p?.isValid()) {
      push(s, 'phone', 0.75 + bonus, start, end, p.number, { country: p.country ?? '' });
      return;
    }
    if (ctx && p?.isPossible()) push(s, 'phone', 0.55, start, end, p.number, p.country ? { country: p.country } : {});
    return;
  }
  // Short national numbers (local numbers, postcodes, house numbers) and numbers split only by
  // spaces into few digits need context; a full national number written with separators does not.
  const base = formatted && digits.length >= 9 && /[-.()]/.test(separators) ? 0.6 : formatted && digits.length >= 9 ? 0.5 : 0.35;
  if (base + bonus >= s.min) {
    for (const country of s.countries) {
      const p = parsePhoneNumberFromString(run, country);
      if (p?.isValid()) {
        push(s, 'phone', base + bonus, start, end, p.number, { country: p.country ?? country });
        return;
      }
    }
  }
  // Not valid in the default regions, but written as a phone number and called one.
  if (ctx && formatted && digits.length >= 7 && digits.length <= 13 && 0.5 >= s.min) push(s, 'phone', 0.5, start, end, digits);
}

// ---- IPv6 ----

const HEX_COLON = /[0-9A-Fa-f:.]/;

function scanIpv6(s: Scanner): void {
  const t = s.text;
  for (let c = t.indexOf(':'); c !== -1; c = t.indexOf(':', c + 1)) {
    let a = c;
    while (a > 0 && c - a < 40 && HEX_COLON.test(t[a - 1]!)) a--;
    let b = c + 1;
    while (b < t.length && b - a < 46 && HEX_COLON.test(t[b]!)) b++;
    while (b > c && t[b - 1] === '.') b--;
    const cand = t.slice(a, b);
    if (isWordChar(t[a - 1]) || isWordChar(t[b]) || (cand.match(/:/g)?.length ?? 0) < 2) {
      c = b;
      continue;
    }
    if (isIP(cand) === 6 && cand.replace(/[:.]/g, '').length >= 6) {
      const ctx = hasContext(s, 'ip', a, b);
      push(s, 'ipv6', (cand.startsWith('::') || /^fe80/i.test(cand) ? 0.45 : 0.7) + (ctx ? 0.2 : 0), a, b, cand.toLowerCase());
    }
    c = b;
  }
}

// ---- advertising ids (UUIDs with context) ----

const UUID_MIDDLE = /-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-/g;
const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

function scanUuids(s: Scanner): void {
  const t = s.text;
  UUID_MIDDLE.lastIndex = 0;
  for (let m = UUID_MIDDLE.exec(t); m !== null; m = UUID_MIDDLE.exec(t)) {
    const a = m.index - 8;
    const b = a + 36;
    const cand = t.slice(Math.max(0, a), b);
    if (a < 0 || !UUID.test(cand) || isWordChar(t[a - 1]) || isWordChar(t[b])) continue;
    // The all-zero id is what a device sends when the user opted out of tracking.
    if (/^[0-]+$/.test(cand)) continue;
    if (hasContext(s, 'device', a, b)) push(s, 'advertising_id', 0.8, a, b, cand.toLowerCase());
  }
}

// ---- dates of birth ----

function scanBirthDates(s: Scanner): void {
  const hinted = s.hint !== '' && CONTEXT.dob.test(s.hint);
  if (!hinted && !CONTEXT.dob.test(s.text)) return;
  for (const d of findDates(s.text)) {
    if (d.kind !== 'date') continue;
    if (hinted || hasContext(s, 'dob', d.start, d.end)) push(s, 'date_of_birth', 0.8, d.start, d.end, d.iso);
  }
}
