// The detectors: find candidates in a string with a few cheap scans (digit runs, '@', ':', UUID
// dashes), then validate each (libphonenumber, Luhn and issuer ranges, SSN rules, node:net isIP) and
// score it with context words near it or in the field's name. Nothing here leaves the process.

import { isIP } from 'node:net';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { DETECTOR_CATEGORY, type Detection, type DetectorId } from './types.js';
import { cardScheme, isImei, isLuhn, isValidSsn } from './validators.js';
import { findDates } from './dates.js';
import { createPhoneParser } from './phone.js';
import { findCandidates, type Candidates } from './candidates.js';
import { DOB_HINT, hasContext, hintMask, judge, OTHER_HINT, withContext, type ContextSubject } from './context.js';

export { CONTEXT_AFTER, CONTEXT_BEFORE, CONTEXT_BONUS, CONTEXT_PENALTY, isHint, isOtherField } from './context.js';

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

/**
 * Fields of a file's rows inside the scanned text (CSV columns, JSON members) whose names say
 * what their values are: a candidate wholly inside one is judged with the field's name as its hint
 * (as if the field's value had been scanned alone with that hint) and its detection names the
 * field; in a field named for values of another kind (OTHER_HINT: `order_id`, `amount`) digit
 * strings are not classified at all. Ordered by start, not overlapping. Filled by the file
 * scanner's row readers; reused across blocks.
 */
export class FieldRanges {
  count = 0;
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly masks: number[] = [];
  readonly names: string[] = [];
  /** Whether some field is a birth-date field (dates are then looked for in the whole text). */
  dob = false;

  clear(): void {
    this.count = 0;
    this.dob = false;
  }

  /** Adds the field `name` (hint mask `mask`, see isHint) at [start, end), after every field added since clear(). */
  add(start: number, end: number, name: string, mask: number): void {
    const i = this.count++;
    this.starts[i] = start;
    this.ends[i] = end;
    this.masks[i] = mask;
    this.names[i] = name;
    if ((mask & DOB_HINT) !== 0) this.dob = true;
  }
}

/** A detection made inside one of the FieldRanges, with that field's name. */
export interface FieldDetection extends Detection {
  readonly field?: string;
}

interface Scanner extends ContextSubject {
  /** The hint mask of the candidate being judged: the field's it lies in, else `baseHint`. */
  hintKinds: number;
  readonly baseHint: number;
  readonly fields: FieldRanges | undefined;
  /** The name of the field the candidate being judged lies in. */
  field: string | undefined;
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
  country?: string,
): void {
  if (confidence < s.min) return;
  const d: { -readonly [K in keyof FieldDetection]: FieldDetection[K] } = {
    detector,
    category: DETECTOR_CATEGORY[detector],
    confidence: Math.max(0, Math.min(1, Math.round(confidence * 100) / 100)),
    start,
    end,
    value,
    reasons: reasons.indexOf(undefined) === -1 ? (reasons as readonly string[]) : reasons.filter(isString),
  };
  if (country !== undefined) d.country = country;
  if (s.field !== undefined) d.field = s.field;
  s.out.push(d);
}

/** Sets the hint and field of a candidate at [start, end): those of the field it lies wholly in, if any. */
function enter(s: Scanner, start: number, end: number): void {
  const f = s.fields;
  if (f === undefined) return;
  let lo = 0;
  let hi = f.count - 1;
  let k = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (f.starts[mid]! <= start) {
      k = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (k !== -1 && end <= f.ends[k]!) {
    s.hintKinds = f.masks[k]!;
    s.field = f.names[k];
  } else {
    s.hintKinds = s.baseHint;
    s.field = undefined;
  }
}

/** Every detection in `text`, ordered by start offset; overlapping candidates keep the most confident. */
export function detect(text: string, options: DetectOptions = {}): Detection[] {
  return detectIn(text, options, undefined);
}

/**
 * detect(), with the candidates inside `fields` judged with their field's name as hint (see
 * FieldRanges); their detections carry `field`.
 */
export function detectIn(text: string, options: DetectOptions, fields: FieldRanges | undefined): FieldDetection[] {
  const hint = options.hint ?? '';
  const baseHint = hint === '' ? 0 : hintMask(hint);
  const s: Scanner = {
    text,
    hintKinds: baseHint,
    baseHint,
    fields: fields !== undefined && fields.count > 0 ? fields : undefined,
    field: undefined,
    min: options.minConfidence ?? DEFAULT_MIN_CONFIDENCE,
    countries: options.phoneCountries ?? DEFAULT_PHONE_COUNTRIES,
    want: options.detectors ? (d) => options.detectors!.has(d) : ALL,
    out: [],
  };
  // Each scanner below needs a character some texts (a field's value) lack: such a text is not
  // given to it. An IPv6 address has colons, a UUID dashes, and every birth context word a `b`.
  // One pass finds every place the scanners below could match (candidates.ts).
  const c = findCandidates(text);
  if (s.want('email') && text.indexOf('@') !== -1) scanEmails(s, c.units);
  scanDigitRuns(s, c);
  if (s.want('ipv6') && c.colonCount > 0) scanIpv6(s, c);
  if (s.want('advertising_id') && c.dashCount > 0) scanUuids(s, c);
  if (s.want('date_of_birth') && ((baseHint & DOB_HINT) !== 0 || s.fields?.dob === true || hasBirthWord(text))) scanBirthDates(s);
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

function isIn(table: Uint8Array, code: number): boolean {
  return code < 128 && table[code] === 1;
}

/** True when t[i] exists and is a word character ([A-Za-z0-9_]). */
function isWordAt(t: string, i: number): boolean {
  return i >= 0 && i < t.length && isIn(WORD_CHAR, t.charCodeAt(i));
}

const EMAIL_REASONS = ['shape:email'];

/** True when t[from, to) holds `..`. */
function hasDoubleDot(u: Uint16Array, from: number, to: number): boolean {
  for (let k = from; k < to - 1; k++) if (u[k] === 46 && u[k + 1] === 46) return true;
  return false;
}

/**
 * True when t[from, to) (domain characters only) is two or more labels split by dots, none empty
 * or starting or ending with `-`, the last of 2 to 24 letters (read in place: no string is made
 * for the many `@`s that are no address).
 */
function isDomain(u: Uint16Array, from: number, to: number): boolean {
  let labelStart = from;
  let dots = 0;
  for (let k = from; k <= to; k++) {
    if (k < to && u[k] !== 46) continue;
    if (k === labelStart || u[labelStart] === 45 || u[k - 1] === 45) return false;
    if (k < to) {
      dots++;
      labelStart = k + 1;
    }
  }
  if (dots === 0 || to - labelStart < 2 || to - labelStart > 24) return false;
  for (let k = labelStart; k < to; k++) {
    const c = u[k]! | 0x20;
    if (c < 97 || c > 122) return false;
  }
  return true;
}

/** Emails around the text's `@`s; `u` holds the text's code units (findCandidates), read rather than charCodeAt. */
function scanEmails(s: Scanner, u: Uint16Array): void {
  const t = s.text;
  for (let at = t.indexOf('@'); at !== -1; at = t.indexOf('@', at + 1)) {
    let a = at;
    while (a > 0 && a > at - 64 && isIn(LOCAL_CHAR, u[a - 1]!)) a--;
    while (a < at && (u[a] === 46 || u[a] === 45 || u[a] === 39)) a++;
    let b = at + 1;
    while (b < t.length && b < at + 254 && isIn(DOMAIN_CHAR, u[b]!)) b++;
    while (b > at + 1 && (u[b - 1] === 46 || u[b - 1] === 45)) b--;
    if (a === at || b <= at + 3 || !isDomain(u, at + 1, b) || hasDoubleDot(u, a, at)) continue;
    enter(s, a, b);
    push(s, 'email', 0.9, a, b, `${t.slice(a, at)}@${t.slice(at + 1, b).toLowerCase()}`, EMAIL_REASONS);
  }
}

// ---- digit runs: IPv4, SSN, cards, IMEI, phone numbers ----

const DATE_SHAPE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;
const DATE_PREFIX = /^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})[ T]/;
const IPV4_SHAPE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const SSN_SHAPE = /^\d{3}([- ])\d{2}\1\d{4}$/;
const EXTENSION = /^ ?(?:x|ext\.?|#) ?\d{1,6}/;
// The patterns below are module constants, not literals in the functions that use them: a literal
// makes a new RegExp object each time it is evaluated, and these run for every candidate.
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

/** The digit runs findCandidates kept (7 digits or more, or an IPv4 address's three dots), classified. */
function scanDigitRuns(s: Scanner, c: Candidates): void {
  const t = s.text;
  const u = c.units;
  const n = t.length;
  const runs = c.runs;
  for (let r = 0; r < c.runCount * 4; r += 4) {
    let start = runs[r]!;
    const end = runs[r + 1]!;
    // Glued to letters (an identifier, a hash, a UUID): not a number of ours (read from the
    // prefilter's copy of the code units, as isWordAt would).
    if (start > 0 && isIn(WORD_CHAR, u[start - 1]!)) continue;
    if (end < n && isIn(WORD_CHAR, u[end]!)) {
      const x = u[end]! | 0x20;
      if (x !== 120 && x !== 101) continue; // x, e
    }
    // A run that swallowed an opening parenthesis or a trailing one keeps them balanced: `(`
    // before it, and its first `)` at its index 1 to 4. Then a `+` before it. The run is then one
    // slice of the text (not a concatenation).
    if (start > 0 && u[start - 1] === 40) {
      let close = -1;
      for (let k = start + 1; k < end && k < start + 5; k++)
        if (u[k] === 41) {
          close = k;
          break;
        }
      if (close !== -1) start--;
    }
    if (start > 0 && u[start - 1] === 43) start--;
    classifyRun(s, t.slice(start, end), start, end);
  }
}

function classifyRun(s: Scanner, run: string, start: number, end: number): void {
  const t = s.text;
  enter(s, start, end);
  // In a field named for values of another kind (`order_id`, `amount`): an identifier, amount or
  // version (the file scanner would drop any detection there; FileFindings.place).
  if (s.hintKinds === OTHER_HINT && s.field !== undefined) return;
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
      push(s, 'phone', withContext(0.8, j), start, end, p.number, [`valid:${p.country ?? 'intl'}`, 'shape:international', j.reason], p.country ?? '');
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
  push(s, 'phone', withContext(base + (grouped ? 0.1 : 0), j), start, end, p.number, [`valid:${p.country}`, shape, j.reason], p.country!);
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

/** IPv6 addresses around the colons findCandidates kept (a colon with a hex digit, colon or dot beside it). */
function scanIpv6(s: Scanner, found: Candidates): void {
  const t = s.text;
  const u = found.units;
  const n = t.length;
  // The next colon looked at is after the last candidate and the character after it.
  let from = 0;
  for (let i = 0; i < found.colonCount; i++) {
    const c = found.colons[i]!;
    if (c < from) continue;
    let a = c;
    // Most remaining colons (clock times, `key: value`) have too few colons around them for an
    // address: rejected before any string is made.
    while (a > 0 && c - a < 40 && isIn(HEX_COLON, u[a - 1]!)) a--;
    let b = c + 1;
    while (b < n && b - a < 46 && isIn(HEX_COLON, u[b]!)) b++;
    while (b > c && u[b - 1] === 46) b--;
    let colons = 0;
    let doubleColon = false;
    for (let k = a; k < b; k++) {
      if (u[k] === 58) {
        colons++;
        if (k + 1 < n && u[k + 1] === 58) doubleColon = true;
      }
    }
    // An IPv6 address has 7 colons, or 6 before an IPv4 tail, or a `::`.
    from = b + 1;
    if (isWordAt(t, a - 1) || isWordAt(t, b) || colons < 2 || (!doubleColon && colons < 6)) continue;
    enter(s, a, b);
    if (s.hintKinds === OTHER_HINT && s.field !== undefined) continue;
    const cand = t.slice(a, b);
    if (isIP(cand) === 6 && cand.replace(IPV6_PUNCTUATION, '').length >= 6) {
      const j = judge(s, 'ip', a, b);
      const local = cand.startsWith('::') || LINK_LOCAL_IPV6.test(cand);
      push(s, 'ipv6', withContext(local ? 0.45 : 0.7, j), a, b, cand.toLowerCase(), ['valid:ipv6', local ? 'internal' : undefined, j.reason]);
    }
  }
}

// ---- advertising ids (UUIDs with context) ----

const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** UUIDs around the dashes findCandidates kept (`-hhhh-hhhh-hhhh-`, taken left to right without overlap). */
function scanUuids(s: Scanner, found: Candidates): void {
  const t = s.text;
  let from = 0;
  for (let i = 0; i < found.dashCount; i++) {
    const dash = found.dashes[i]!;
    if (dash < from) continue;
    from = dash + 16;
    const a = dash - 8;
    const b = a + 36;
    const cand = t.slice(Math.max(0, a), b);
    if (a < 0 || !UUID.test(cand) || isWordAt(t, a - 1) || isWordAt(t, b)) continue;
    // The all-zero id is what a device sends when the user opted out of tracking.
    if (OPTED_OUT_ID.test(cand)) continue;
    enter(s, a, b);
    if (hasContext(s, 'device', a, b)) push(s, 'advertising_id', 0.8, a, b, cand.toLowerCase(), ['shape:uuid', 'context:+device']);
  }
}

// ---- dates of birth ----

/** Lower-cased ASCII letter at t[i] (NaN past either end): /i without the u flag folds only ASCII letters to these. */
function lowerAt(t: string, i: number): number {
  const c = t.charCodeAt(i);
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * FIELD.dob.test(t) (/birth|\bdob\b|\bborn|\bb-?day|d\.o\.b/i), found from the text's `b`s with
 * indexOf rather than by running the regex over all of it: every spelling holds a `b` at a known place.
 */
export function hasBirthWord(t: string): boolean {
  for (const b of ['b', 'B']) {
    for (let p = t.indexOf(b); p !== -1; p = t.indexOf(b, p + 1)) {
      // birth
      if (lowerAt(t, p + 1) === 105 && lowerAt(t, p + 2) === 114 && lowerAt(t, p + 3) === 116 && lowerAt(t, p + 4) === 104) return true;
      // d.o.b
      if (p >= 4 && t.charCodeAt(p - 1) === 46 && lowerAt(t, p - 2) === 111 && t.charCodeAt(p - 3) === 46 && lowerAt(t, p - 4) === 100) return true;
      // \bdob\b
      if (p >= 2 && lowerAt(t, p - 1) === 111 && lowerAt(t, p - 2) === 100 && !isWordAt(t, p - 3) && !isWordAt(t, p + 1)) return true;
      if (isWordAt(t, p - 1)) continue;
      // \bborn
      if (lowerAt(t, p + 1) === 111 && lowerAt(t, p + 2) === 114 && lowerAt(t, p + 3) === 110) return true;
      // \bb-?day
      const d = t.charCodeAt(p + 1) === 45 ? p + 2 : p + 1;
      if (lowerAt(t, d) === 100 && lowerAt(t, d + 1) === 97 && lowerAt(t, d + 2) === 121) return true;
    }
  }
  return false;
}

function scanBirthDates(s: Scanner): void {
  for (const d of findDates(s.text)) {
    if (d.kind !== 'date') continue;
    enter(s, d.start, d.end);
    if ((s.hintKinds & DOB_HINT) !== 0 || hasContext(s, 'dob', d.start, d.end))
      push(s, 'date_of_birth', 0.8, d.start, d.end, d.iso, ['valid:date', 'context:+birth']);
  }
}
