// Context around a candidate: the field or column name it came from, and the words on its line
// (or a label line above it) that make a digit string what a detector looks for or an identifier of
// another kind. detect.ts scores each candidate with judge() and hasContext().

/** How far (UTF-16 units) before and after a candidate context words are looked for. */
export const CONTEXT_BEFORE = 48;
export const CONTEXT_AFTER = 24;
/** Added to a candidate's confidence by positive context (a phone word, a phone column…). */
export const CONTEXT_BONUS = 0.25;
/** Taken from a candidate's confidence by negative context (an order number, a version…). */
export const CONTEXT_PENALTY = 0.4;

/** What a candidate is judged in: the scanned text, and the context kinds its field name is (hintMask). */
export interface ContextSubject {
  readonly text: string;
  readonly hintKinds: number;
}

/** Field and column names that say what their values are. */
export const FIELD: Readonly<Record<'phone' | 'card' | 'ssn' | 'ip' | 'dob' | 'device' | 'imei', RegExp>> = {
  phone: /phone|\btel\b|mobile|\bcell|\bfax|msisdn|whatsapp|\bsms|contact(?! ?id)/i,
  card: /card|credit|debit|\bcc\b|\bpan\b/i,
  ssn: /\bssn|social\s*sec|taxpayer|\btin\b|\bss#/i,
  ip: /\bip\b|ip ?addr|\bipv[46]|remote ?addr|client ?addr|x forwarded for/i,
  dob: /birth|\bdob\b|\bborn|\bb-?day|d\.o\.b/i,
  device: /\bidfa|\bgaid|\baaid|\badid|advertis|\bad[_ -]?id|device|\bmaid\b|\bifa\b/i,
  imei: /\bimei|device|handset/i,
};
/**
 * Field names of identifiers, amounts, places and times, by their last word (`order_id`,
 * `tracking_no`, `amount`, `ship_lat`, `app_version`, `created_at`): digit runs in them are none of
 * ours. The last word only: `order_notes` is free text.
 */
const OTHER_FIELD =
  /\b(?:id|no|nr|num|number|ref|order|invoice|tracking|ticket|account|acct|isbn|sku|build|version|release|firmware|amount|price|total|balance|cost|fee|lat|latitude|lon|lng|longitude|ts|timestamp|at|zip|postcode|serial|pid|port|count|qty|quantity)\s*$/i;

type ContextKind = keyof typeof FIELD;
const CONTEXT_KINDS = Object.keys(FIELD) as ContextKind[];
/** The bit of a hint mask that says the field is named for something else (OTHER_FIELD). */
const OTHER_BIT = 1 << CONTEXT_KINDS.length;
/** The hint mask of a field named for values of another kind (`order_id`, `amount`): isOtherField. */
export const OTHER_HINT = OTHER_BIT;
/** The hint bit of `dob` context. */
export const DOB_HINT = 1 << CONTEXT_KINDS.indexOf('dob');
/** Field names seen, with the context kinds each is (a file repeats its few names on every line). */
const hintMasks = new Map<string, number>();
const HINT_CACHE_ENTRIES = 4096;

export function hintMask(name: string): number {
  let mask = hintMasks.get(name);
  if (mask === undefined) {
    mask = 0;
    // `ship_lat`, `signup-ip`, `order.id`: the parts of a name are its words.
    const words = name.replace(/[_.-]+/g, ' ');
    CONTEXT_KINDS.forEach((k, i) => {
      if (FIELD[k].test(words)) mask! |= 1 << i;
    });
    if (mask === 0 && OTHER_FIELD.test(words)) mask = OTHER_BIT;
    if (hintMasks.size >= HINT_CACHE_ENTRIES) hintMasks.clear();
    hintMasks.set(name, mask);
  }
  return mask;
}

/** True when a field or column name is context for some detector (`phone`, `dob`, `client_ip`…): its values are scanned with the name as context. */
export function isHint(name: string): boolean {
  const m = hintMask(name);
  return m !== 0 && m !== OTHER_BIT;
}

/** True when a field name says its values are of another kind (`order_id`, `amount`…). */
export function isOtherField(name: string): boolean {
  return hintMask(name) === OTHER_BIT;
}

// Words near a candidate, per kind: `neg` words make a digit string an identifier of another kind
// (an order, invoice or tracking number, a version, an amount, a coordinate, a time), `pos` words
// make it what the detector looks for. The nearest word before the candidate decides; failing one,
// the first after it. Multi-word negatives come first so that "order number" is not "number".
const ID_WORDS = String.raw`order(?:\s*(?:no|nr|number|num|id))?|orders|invoice(?:\s*(?:no|number))?|inv|tracking(?:\s*(?:no|number|id))?|shipment|parcel|awb|waybill|ticket|case(?:\s*(?:no|number|id))?|incident|ref|reference|account(?:\s*(?:no|number|id))?|acct|iban|isbn|issn|build|version|ver|release|rev|revision|firmware|sku|item|product|serial|purchase|transaction|txn|trx|confirmation|booking|reservation|member|customer\s*(?:no|id|number)|policy\s*(?:no|number)|claim|batch|job|pid|port|commit|sha|hash|trace(?:_id)?|span|request|req|session|zip|postcode|postal|ein|vat|amount|total|price|balance|paid|refund|cost|fee|usd|eur|gbp|lat|latitude|lon|lng|longitude|coords?|coordinates|gps|geo|timestamp|epoch|ts|event_ts|took|timeout|after|bytes|keys|ms|id|user_id|updated?\s+to|upgraded?\s+to`;
const CUES: Readonly<Record<'phone' | 'card' | 'ssn' | 'ip', RegExp>> = {
  phone: new RegExp(
    String.raw`(?<neg>\b(?:${ID_WORDS})\b|[$€£¥])|(?<pos>\b(?:phone|telephone|tel|mobile|mob|cell|cellphone|call|called|calling|caller|ring|fax|contact|sms|whats\s?app|dial|landline|msisdn|reach|hotline|number|messages?|messaging|answer|answering|office|desk|text(?:ed)?\s+(?:me|us))\b|\btel:)`,
    'gi',
  ),
  card: new RegExp(
    String.raw`(?<pos>\b(?:card|credit|debit|visa|mastercard|master\s*card|amex|cc|pan|payment\s+card|charged\s+to|paid\s+with|pay\s+with|paying\s+with|expir\w*)\b)|(?<neg>\b(?:${ID_WORDS})\b|[$€£¥])`,
    'gi',
  ),
  ssn: new RegExp(String.raw`(?<pos>\b(?:ssn|social\s*security(?:\s*(?:no|number))?|taxpayer|tin|ss#)(?:\b|(?<=#)))|(?<neg>\b(?:${ID_WORDS})\b|[$€£¥])`, 'gi'),
  ip: /(?<neg>\b(?:version|ver|v|build|release|rev|revision|firmware|updated?\s+to|upgraded?\s+to|oid|chrome|firefox|safari|edge|os|android|ios|windows\s+nt|sdk|api)\b)|(?<pos>\b(?:ip|ips|ip\s*addr(?:ess)?|ipv4|ipv6|address|addr|host|client|remote|src|dst|source|from|login|logged\s+in|peer|forwarded|via|connection|signin|sign-in)\b)/gi,
};

/** What context says of a candidate: +1 (what we look for), -1 (something else), 0 (nothing), and why. */
export interface Judgement {
  readonly sign: 1 | 0 | -1;
  readonly reason: string | undefined;
}
const NO_CONTEXT: Judgement = { sign: 0, reason: undefined };
const FIELD_POS: Judgement = { sign: 1, reason: 'field:+name' };
const FIELD_NEG: Judgement = { sign: -1, reason: 'field:-other-kind' };
const judgementCache = new Map<string, Judgement>();

const SPACES = /\s+/g;

/** The judgement of a cue as matched (its few spellings are cached as written, before normalising). */
function judgement(sign: 1 | -1, word: string): Judgement {
  const key = sign > 0 ? `+${word}` : `-${word}`;
  let j = judgementCache.get(key);
  if (j === undefined) {
    j = { sign, reason: `context:${sign > 0 ? '+' : '-'}${word.toLowerCase().replace(SPACES, '-')}` };
    if (judgementCache.size >= 4096) judgementCache.clear();
    judgementCache.set(key, j);
  }
  return j;
}

/** The candidate's own line around it: context is looked for there only (a log line says nothing of the next). */
function windowOf(s: ContextSubject, start: number, end: number): { before: string; after: string } {
  const lineStart = s.text.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = s.text.indexOf('\n', end);
  if (lineEnd === -1) lineEnd = s.text.length;
  return { before: s.text.slice(Math.max(lineStart, start - CONTEXT_BEFORE), start), after: s.text.slice(end, Math.min(lineEnd, end + CONTEXT_AFTER)) };
}

/** Where the clause after a candidate ends: a double quote, a field separator, a bracket. */
const CLAUSE_END = /[",;|[\]{}<>]/;

/** For kinds with words on both sides (phone, card, SSN, IP): the field name, else the nearest word. */
export function judge(s: ContextSubject, kind: 'phone' | 'card' | 'ssn' | 'ip', start: number, end: number): Judgement {
  if ((s.hintKinds & (1 << CONTEXT_KINDS.indexOf(kind))) !== 0) return FIELD_POS;
  if ((s.hintKinds & OTHER_BIT) !== 0) return FIELD_NEG;
  const re = CUES[kind];
  const { before, after } = windowOf(s, start, end);
  let last: RegExpExecArray | null = null;
  re.lastIndex = 0;
  for (let m = re.exec(before); m !== null; m = re.exec(before)) last = m;
  if (last === null) {
    // After the candidate, only its own clause: `203.0.113.7 - - "GET /api/…"` says nothing of the address.
    const cut = after.search(CLAUSE_END);
    re.lastIndex = 0;
    last = re.exec(cut === -1 ? after : after.slice(0, cut));
  }
  // Alone on its line under a label (`Phone:` then the number on the next line): the label is its context.
  if (last === null && before.trim() === '') {
    const label = labelAbove(s.text, start - before.length);
    if (label !== undefined) {
      re.lastIndex = 0;
      last = re.exec(label);
    }
  }
  if (last === null) return NO_CONTEXT;
  return last.groups!['pos'] !== undefined ? judgement(1, last[0]) : judgement(-1, last[0]);
}

const LABEL_LINE = /^[^\n:]{1,32}:\s*$/;

/** The line before `lineStart` when it is a label (`Phone:`, `Mobile number:`), else undefined. */
function labelAbove(t: string, lineStart: number): string | undefined {
  if (lineStart < 2 || t.charCodeAt(lineStart - 1) !== 10) return undefined;
  const prev = t.slice(Math.max(t.lastIndexOf('\n', lineStart - 2) + 1, lineStart - 40), lineStart - 1);
  return LABEL_LINE.test(prev) ? prev : undefined;
}

/** For kinds found only with context (dates of birth, device ids): a field name or a word near it. */
export function hasContext(s: ContextSubject, kind: 'dob' | 'device' | 'imei', start: number, end: number): boolean {
  if ((s.hintKinds & (1 << CONTEXT_KINDS.indexOf(kind))) !== 0) return true;
  const re = FIELD[kind];
  const { before, after } = windowOf(s, start, end);
  return re.test(before) || re.test(after);
}

/** The confidence context gives a candidate of base confidence `base`. */
export function withContext(base: number, j: Judgement): number {
  return j.sign > 0 ? base + CONTEXT_BONUS : j.sign < 0 ? base - CONTEXT_PENALTY : base;
}
