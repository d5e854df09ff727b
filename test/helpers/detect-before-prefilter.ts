// The detector core as it was before the one-pass prefilter (candidates.ts): three regex passes over
// the text for digit runs, IPv6 colons and UUID dashes. Kept only as the oracle of the differential
// test in test/scan-prefilter.test.ts: the current detect() MUST find exactly what this finds.

import { isIP } from 'node:net';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { DETECTOR_CATEGORY, type Detection, type DetectorId } from '../../src/scan/types.js';
import { cardScheme, isImei, isLuhn, isValidSsn } from '../../src/scan/validators.js';
import { findDates } from '../../src/scan/dates.js';
import { createPhoneParser } from '../../src/scan/phone.js';
import { DOB_HINT, FIELD, hasContext, hintMask, judge, withContext, type ContextSubject } from '../../src/scan/context.js';

const phones = createPhoneParser();

/** Regions a phone number without a country code is tried in, in order. */
export const DEFAULT_PHONE_COUNTRIES: readonly CountryCode[] = ['US', 'GB', 'CA', 'AU', 'DE', 'FR', 'IE', 'NL', 'IT', 'ES', 'BR', 'IN', 'CN', 'JP', 'SG'];
/**
 * Detections below this confidence are not reported (README: "The scanner"). At 0.6, without any
 * context a phone number is reported only when written in full as numbers are written (international,
 * or national in its country's grouping or with punctuation); anything weaker needs a phone word or a
 * phone column.
 */
export const DEFAULT_MIN_CONFIDENCE = 0.6;
export interface DetectOptions {
  readonly phoneCountries?: readonly CountryCode[];
  readonly minConfidence?: number;
  /** The name of the field or column the text came from; it counts as context for every candidate. */
  readonly hint?: string;
  /** Only these detectors (default: all). */
  readonly detectors?: ReadonlySet<DetectorId>;
}

interface Scanner extends ContextSubject {
  readonly min: number;
  readonly countries: readonly CountryCode[];
  readonly want: (d: DetectorId) => boolean;
  readonly out: Detection[];
}

const isString = (r: string | undefined): r is string => r !== undefined;

function push(
  s: Scanner,
  detector: DetectorId,
  confidence: number,
  start: number,
  end: number,
  value: string,
  reasons: readonly (string | undefined)[],
  extra: { country?: string } = {},
): void {
  if (confidence < s.min) return;
  s.out.push({
    detector,
    category: DETECTOR_CATEGORY[detector],
    confidence: Math.max(0, Math.min(1, Math.round(confidence * 100) / 100)),
    start,
    end,
    value,
    reasons: reasons.indexOf(undefined) === -1 ? (reasons as readonly string[]) : reasons.filter(isString),
    ...extra,
  });
}

/** Every detection in `text`, ordered by start offset; overlapping candidates keep the most confident. */
export function detect(text: string, options: DetectOptions = {}): Detection[] {
  const hint = options.hint ?? '';
  const s: Scanner = {
    text,
    hintKinds: hint === '' ? 0 : hintMask(hint),
    min: options.minConfidence ?? DEFAULT_MIN_CONFIDENCE,
    countries: options.phoneCountries ?? DEFAULT_PHONE_COUNTRIES,
    want: options.detectors ? (d) => options.detectors!.has(d) : ALL,
    out: [],
  };
  // Each scanner below needs a character some texts (a field's value) lack: such a text is not
  // given to it. An IPv6 address has colons, a UUID dashes, and every birth context word a `b`.
  if (s.want('email') && text.indexOf('@') !== -1) scanEmails(s);
  scanDigitRuns(s);
  if (s.want('ipv6') && text.indexOf(':') !== -1) scanIpv6(s);
  if (s.want('advertising_id') && text.indexOf('-') !== -1) scanUuids(s);
  if (s.want('date_of_birth') && ((s.hintKinds & DOB_HINT) !== 0 || text.indexOf('b') !== -1 || text.indexOf('B') !== -1)) scanBirthDates(s);
  return resolveOverlaps(s.out);
}

const ALL = (): boolean => true;

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

/** Character classes by code unit (ASCII only), for the loops that run over every candidate. */
function codeTable(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const LOCAL_CHAR = codeTable(`${ALNUM}._%+-'`);
const DOMAIN_CHAR = codeTable(`${ALNUM}.-`);
const WORD_CHAR = codeTable(`${ALNUM}_`);
const HEX_COLON = codeTable('0123456789ABCDEFabcdef:.');
/** Characters digit runs are written with: digits and `-. ()/`. */
const RUN_CHAR = codeTable('0123456789-. ()/');

function isIn(table: Uint8Array, code: number): boolean {
  return code < 128 && table[code] === 1;
}

/** True when t[i] exists and is a word character ([A-Za-z0-9_]). */
function isWordAt(t: string, i: number): boolean {
  return i >= 0 && i < t.length && isIn(WORD_CHAR, t.charCodeAt(i));
}

const EMAIL_REASONS = ['shape:email'];

function scanEmails(s: Scanner): void {
  const t = s.text;
  for (let at = t.indexOf('@'); at !== -1; at = t.indexOf('@', at + 1)) {
    let a = at;
    while (a > 0 && a > at - 64 && isIn(LOCAL_CHAR, t.charCodeAt(a - 1))) a--;
    while (a < at && (t[a] === '.' || t[a] === '-' || t[a] === "'")) a++;
    let b = at + 1;
    while (b < t.length && b < at + 254 && isIn(DOMAIN_CHAR, t.charCodeAt(b))) b++;
    while (b > at + 1 && (t[b - 1] === '.' || t[b - 1] === '-')) b--;
    if (a === at || b <= at + 3) continue;
    const domain = t.slice(at + 1, b);
    const labels = domain.split('.');
    const tld = labels[labels.length - 1]!;
    if (labels.length < 2 || !TLD.test(tld) || labels.some((l) => l === '' || l.startsWith('-') || l.endsWith('-'))) continue;
    const local = t.slice(a, at);
    if (local.includes('..')) continue;
    push(s, 'email', 0.9, a, b, `${local}@${domain.toLowerCase()}`, EMAIL_REASONS);
  }
}

// ---- digit runs: IPv4, SSN, cards, IMEI, phone numbers ----

// A digit, then digits and the separators numbers are written with, ending in a digit. Irregexp
// gets from one candidate to the next about twice as fast as a loop over char codes.
const DIGIT_RUN = /\d[\d\-. ()/]{4,}\d/g;
const DATE_SHAPE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;
const DATE_PREFIX = /^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})[ T]/;
const IPV4_SHAPE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const SSN_SHAPE = /^\d{3}([- ])\d{2}\1\d{4}$/;
const EXTENSION = /^ ?(?:x|ext\.?|#) ?\d{1,6}/;
// The patterns below are module constants, not literals in the functions that use them: a literal
// makes a new RegExp object each time it is evaluated, and these run for every candidate.
const TLD = /^[A-Za-z]{2,24}$/;
const IPV4_LEADING_ZERO = /\.0\d/;
/** Private, loopback and link-local IPv4 prefixes. */
const IPV4_INTERNAL = /^(?:(?:10|127|0)\.|192\.168\.|169\.254\.|172\.(?:1[6-9]|2\d|3[01])\.|100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/;
const NON_DIGITS = /\D/g;
const CARD_CHARS = /^[\d -]+$/;
const CARD_GROUP_SEPARATOR = /[ -]/;
const CARD_GROUPS_OF_4 = /^(4,)+\d$/;
const INTERNATIONAL_PREFIX = /^(?:00[1-9]|011)/;
const INTERNATIONAL_PREFIX_DIGITS = /^(00|011)/;
const TRUNK_ZERO = /\(0\)/;
const PHONE_PUNCTUATION = /[-.()]/;
const IPV6_PUNCTUATION = /[:.]/g;
const LINK_LOCAL_IPV6 = /^fe80/i;
const OPTED_OUT_ID = /^[0-]+$/;

function scanDigitRuns(s: Scanner): void {
  const t = s.text;
  DIGIT_RUN.lastIndex = 0;
  let prevEnd = 0;
  // test() rather than exec(): most runs (ids, amounts, dates) are dropped on their digit count,
  // and no match array or string is made for them. A match starts at the first digit of its run
  // of digits and separators (after the previous match) and ends at the run's last digit.
  while (DIGIT_RUN.test(t)) {
    const end = DIGIT_RUN.lastIndex;
    let first = end - 1;
    let digits = 0;
    let dots = 0;
    let runDots = 0;
    for (let k = end - 1; k >= prevEnd; k--) {
      const c = t.charCodeAt(k);
      if (c >= 48 && c <= 57) {
        digits++;
        first = k;
        runDots = dots;
      } else if (c === 46) {
        dots++;
      } else if (!isIn(RUN_CHAR, c)) {
        break;
      }
    }
    prevEnd = end;
    // Too few digits for anything but an IPv4 address (which has three dots): nothing to look at.
    if (digits < 7 && runDots !== 3) continue;
    let start = first;
    // Glued to letters (an identifier, a hash, a UUID): not a number of ours.
    if (isWordAt(t, start - 1)) continue;
    if (isWordAt(t, end)) {
      const c = t.charCodeAt(end) | 0x20;
      if (c !== 120 && c !== 101) continue; // x, e
    }
    let run = t.slice(start, end);
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
  // Right after a word and a `/` or `#` (`Chrome/120.0.0.0`, `/orders/4155552671`, `#48213`): a path
  // segment, a version or a reference, not a number of ours.
  const glued = (t[start - 1] === '/' || t[start - 1] === '#') && (isWordAt(t, start - 2) || t[start - 1] === '#');
  if (run.length <= 15 && run.indexOf('.') > 0 && IPV4_SHAPE.test(run)) {
    if (s.want('ipv4') && !glued && isIP(run) === 4 && !IPV4_LEADING_ZERO.test(run) && run.charCodeAt(0) !== 48) {
      // Private, loopback, shared (CGNAT) and link-local addresses name hosts of a network, not a user's connection.
      if (IPV4_INTERNAL.test(run)) push(s, 'ipv4', 0.3, start, end, run, ['valid:ipv4', 'internal']);
      else {
        const j = judge(s, 'ip', start, end);
        push(s, 'ipv4', withContext(0.6, j) + (j.sign > 0 ? 0.05 : 0), start, end, run, ['valid:ipv4', j.reason]);
      }
    }
    return;
  }
  // Dates and timestamps (`2006-04-07 09:00`) are the date-of-birth scanner's.
  if (mayBeDate(run) && (DATE_SHAPE.test(run) || DATE_PREFIX.test(run))) return;
  const digits = run.replace(NON_DIGITS, '');
  if (digits.length < 7 || digits.length > 19) return;
  // Written with separators (spaces, dashes, dots, parentheses, slashes), or digits only.
  const separated = digits.length !== run.length;

  if (digits.length === 9 && s.want('us_ssn') && (SSN_SHAPE.test(run) || !separated)) {
    const shaped = separated;
    const j = judge(s, 'ssn', start, end);
    if (isValidSsn(digits) && (shaped || j.sign > 0)) {
      push(s, 'us_ssn', withContext(shaped ? 0.65 : 0.5, j) + (j.sign > 0 ? 0.05 : 0), start, end, digits, [
        'valid:ssn',
        shaped ? 'shape:3-2-4' : 'shape:bare',
        j.reason,
      ]);
    }
    // Written as an SSN (3-2-4) but not a valid one: not a phone number either.
    if (shaped || j.sign > 0) return;
  }
  if (digits.length >= 12 && s.want('payment_card') && CARD_CHARS.test(run) && consistentGroups(run)) {
    const j = judge(s, 'card', start, end);
    const scheme = cardScheme(digits);
    if (scheme !== undefined) {
      push(s, 'payment_card', withContext(digits.length >= 15 ? 0.7 : 0.6, j), start, end, digits, [`valid:${scheme}`, j.reason]);
      return;
    }
    // Outside the known issuer ranges (private-label and new ranges), Luhn and the word "card" still say card.
    if (j.sign > 0 && isLuhn(digits)) {
      push(s, 'payment_card', 0.7, start, end, digits, ['valid:luhn', j.reason]);
      return;
    }
  }
  if (digits.length === 15 && s.want('imei') && isImei(digits) && hasContext(s, 'imei', start, end)) {
    push(s, 'imei', 0.85, start, end, digits, ['valid:imei', 'context:+imei']);
    return;
  }
  if (s.want('phone') && digits.length <= 15 && !glued && !notPhoneShape(run)) {
    let phoneEnd = end;
    // An extension starts with a space, `x`, `ext` or `#` (most runs end at a comma or a quote).
    const next = t.charCodeAt(end);
    const ext = next === 32 || next === 120 || next === 101 || next === 35 ? EXTENSION.exec(t.slice(end, end + 10)) : null;
    if (ext) phoneEnd = end + ext[0].length;
    classifyPhone(s, run, digits, separated, start, phoneEnd);
  }
}

const DECIMAL = /^\d+\.\d+$/;
const ZIP_PLUS_4 = /^\d{5}-\d{4}$/;
/** A group of one digit after the first (`978-0-306-40615-7`, `1.3.6.1.4`): an ISBN, an OID, not a phone. */
const INNER_ONE_DIGIT_GROUP = /[-. /]\d(?=[-. /]|$)/;

/** Shapes of digit strings that are never phone numbers: decimals (amounts, coordinates), ZIP+4, ISBN-like groups. */
function notPhoneShape(run: string): boolean {
  if (run.charCodeAt(0) === 43) return false; // `+`: an international number is judged by its country code
  return DECIMAL.test(run) || ZIP_PLUS_4.test(run) || INNER_ONE_DIGIT_GROUP.test(run);
}

/** False when `run` cannot match DATE_SHAPE or DATE_PREFIX: both start with a digit and have a `-/.` after 1, 2 or 4 digits. */
function mayBeDate(run: string): boolean {
  const c = run.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  const isSep = (i: number): boolean => {
    const x = run.charCodeAt(i);
    return x === 45 || x === 47 || x === 46;
  };
  return isSep(1) || isSep(2) || isSep(4);
}

/** Card numbers are written in groups of 4 (or 4-6-5 for Amex): reject runs like `1 2345 678901234`. */
function consistentGroups(run: string): boolean {
  const groups = run.split(CARD_GROUP_SEPARATOR);
  if (groups.length === 1) return true;
  const lens = groups.map((g) => g.length).join(',');
  return CARD_GROUPS_OF_4.test(lens) || lens === '4,6,5' || lens === '4,6,4';
}

function classifyPhone(s: Scanner, run: string, digits: string, separated: boolean, start: number, end: number): void {
  const j = judge(s, 'phone', start, end);
  const international = run.startsWith('+') || INTERNATIONAL_PREFIX.test(digits);
  if (international) {
    const e164 = run.startsWith('+') ? run : `+${digits.replace(INTERNATIONAL_PREFIX_DIGITS, '')}`;
    const p = phones.international(e164.replace(TRUNK_ZERO, ''));
    // With its country code written, a number libphonenumber calls invalid there is no phone number,
    // whatever the words around it say.
    if (p.valid)
      push(s, 'phone', withContext(0.8, j), start, end, p.number, [`valid:${p.country ?? 'intl'}`, 'shape:international', j.reason], {
        country: p.country ?? '',
      });
    return;
  }
  // Short national numbers (local numbers, postcodes, house numbers) and numbers split only by
  // spaces into few digits need context; a full national number written with punctuation, or grouped
  // as its country groups numbers, does not. The run's separators are its non-digits.
  const punctuated = separated && digits.length >= 9 && PHONE_PUNCTUATION.test(run);
  const spaced = separated && digits.length >= 9 && !punctuated;
  const base = punctuated ? 0.6 : spaced ? 0.5 : 0.35;
  // The best this candidate could reach (national grouping adds 0.1); skip the (slow) validation when it could not reach the floor.
  if (withContext(base, j) + (spaced && j.sign === 0 ? 0.1 : 0) < s.min) return;
  let p = phones.firstValid(run, digits, s.countries);
  if (p === undefined) return;
  let grouped = false;
  if (spaced && j.sign === 0) {
    // Valid in several regions (`06 13 79 89 23` is a Mainz number too): the region whose grouping it is written in.
    grouped = groupedAsNational(run, p.number);
    for (let i = 0; !grouped && i < s.countries.length; i++) {
      const q = phones.national(run, digits, s.countries[i]!);
      if (q.valid && q.number !== p.number && groupedAsNational(run, q.number)) {
        p = q;
        grouped = true;
      }
    }
  }
  const shape = punctuated ? 'shape:national-punctuated' : grouped ? 'shape:national-grouping' : spaced ? 'shape:national-spaced' : 'shape:digits';
  push(s, 'phone', withContext(base + (grouped ? 0.1 : 0), j), start, end, p.number, [`valid:${p.country}`, shape, j.reason], { country: p.country! });
}

const NON_DIGIT_RUNS = /\D+/;
const nationalGroups = new Map<string, string>();

/** True when `run` groups its digits as libphonenumber formats the number nationally (`07400 123456`, `415 555 2671`). */
function groupedAsNational(run: string, e164: string): boolean {
  let groups = nationalGroups.get(e164);
  if (groups === undefined) {
    const p = parsePhoneNumberFromString(e164);
    groups = p ? groupLengths(p.formatNational()) : '';
    if (nationalGroups.size >= 4096) nationalGroups.clear();
    nationalGroups.set(e164, groups);
  }
  return groups !== '' && groups === groupLengths(run);
}

function groupLengths(text: string): string {
  return text
    .split(NON_DIGIT_RUNS)
    .filter((g) => g !== '')
    .map((g) => g.length)
    .join(',');
}

// ---- IPv6 ----

// A colon with a hex digit, colon or dot beside it: the only colons whose candidate can hold two
// colons (JSON members' `":"` cannot, and irregexp skips them faster than a loop would). The
// lookbehind also sees the character before lastIndex, as the scan from indexOf(':', b + 1) did.
const COLON_NEAR_HEX = /:(?:(?<=[0-9A-Fa-f.:]:)|(?=[0-9A-Fa-f.:]))/g;

function scanIpv6(s: Scanner): void {
  const t = s.text;
  COLON_NEAR_HEX.lastIndex = 0;
  while (COLON_NEAR_HEX.test(t)) {
    const c = COLON_NEAR_HEX.lastIndex - 1;
    let a = c;
    // Most remaining colons (clock times, `key: value`) have too few colons around them for an
    // address: rejected before any string is made.
    while (a > 0 && c - a < 40 && isIn(HEX_COLON, t.charCodeAt(a - 1))) a--;
    let b = c + 1;
    while (b < t.length && b - a < 46 && isIn(HEX_COLON, t.charCodeAt(b))) b++;
    while (b > c && t[b - 1] === '.') b--;
    let colons = 0;
    let doubleColon = false;
    for (let k = a; k < b; k++) {
      if (t.charCodeAt(k) === 58) {
        colons++;
        if (t.charCodeAt(k + 1) === 58) doubleColon = true;
      }
    }
    // An IPv6 address has 7 colons, or 6 before an IPv4 tail, or a `::`.
    // The next colon looked at is after b (t[b] itself is skipped, as indexOf(':', b + 1) did).
    COLON_NEAR_HEX.lastIndex = b + 1;
    if (isWordAt(t, a - 1) || isWordAt(t, b) || colons < 2 || (!doubleColon && colons < 6)) continue;
    const cand = t.slice(a, b);
    if (isIP(cand) === 6 && cand.replace(IPV6_PUNCTUATION, '').length >= 6) {
      const j = judge(s, 'ip', a, b);
      const local = cand.startsWith('::') || LINK_LOCAL_IPV6.test(cand);
      push(s, 'ipv6', withContext(local ? 0.45 : 0.7, j), a, b, cand.toLowerCase(), ['valid:ipv6', local ? 'internal' : undefined, j.reason]);
    }
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
    if (a < 0 || !UUID.test(cand) || isWordAt(t, a - 1) || isWordAt(t, b)) continue;
    // The all-zero id is what a device sends when the user opted out of tracking.
    if (OPTED_OUT_ID.test(cand)) continue;
    if (hasContext(s, 'device', a, b)) push(s, 'advertising_id', 0.8, a, b, cand.toLowerCase(), ['shape:uuid', 'context:+device']);
  }
}

// ---- dates of birth ----

function scanBirthDates(s: Scanner): void {
  const hinted = (s.hintKinds & DOB_HINT) !== 0;
  if (!hinted && !FIELD.dob.test(s.text)) return;
  for (const d of findDates(s.text)) {
    if (d.kind !== 'date') continue;
    if (hinted || hasContext(s, 'dob', d.start, d.end)) push(s, 'date_of_birth', 0.8, d.start, d.end, d.iso, ['valid:date', 'context:+birth']);
  }
}
