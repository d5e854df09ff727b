// Phone number validation without paying libphonenumber's parse for every candidate in every
// default region. libphonenumber-js rebuilds a RegExp from its (large) metadata patterns on every
// check, ~20 µs per attempt; a scan tries up to 15 regions per candidate. Here the same metadata
// patterns are compiled once, and the common case — a national number with no IDD prefix, no
// national prefix and not starting with the region's calling code, so the national significant
// number is the digits as written — is decided exactly as libphonenumber-js decides it
// (getCountryByCallingCode, then isValid), with few RegExp calls: one per country and length (its
// general pattern and the types admitting that length, combined) and one per run of countries placed
// by leading digits. Every other case goes to libphonenumber itself, through a bounded cache.
// test/scan.test.ts and test/scan-phone.test.ts check both paths agree on random and example numbers.

import { Metadata, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

/** What a phone candidate parsed to: valid or not, and where. */
export interface PhoneParse {
  readonly valid: boolean;
  readonly possible: boolean;
  /** E.164. */
  readonly number: string;
  readonly country: string | undefined;
}

const INVALID: PhoneParse = { valid: false, possible: false, number: '', country: undefined };
/** A run written with digits and `-. ()/` only (anything else goes to libphonenumber). */
const PLAIN_RUN = /^[\d\-. ()/]+$/;

/** Entries kept in the cache of libphonenumber answers before it is emptied. */
export const PHONE_CACHE_ENTRIES = 20_000;

// The number types isValid() accepts (libphonenumber-js getNumberType: fixed line, then the rest).
const TYPES = ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'] as const;

interface PlanType {
  readonly lengths: readonly number[] | undefined;
  readonly pattern: string;
}
interface CountryPlan {
  readonly country: string;
  readonly general: string;
  /** undefined when the plan has no types (then the general pattern decides). */
  readonly types: readonly PlanType[] | undefined;
  /** The leading digits pattern, and its test (a prefix). */
  readonly leading: string | undefined;
  readonly leadingDigits: RegExp | undefined;
  /**
   * isValidIn()'s test for a national number of each length, made on first use: the general
   * pattern as a lookahead, then the types that admit that length as one alternation (one RegExp
   * call where there were up to eleven); null when no type admits the length.
   */
  readonly byLength: (RegExp | null | undefined)[];
  /**
   * The last national number isValidIn() judged here, and its answer: a candidate is tried in
   * several regions, and regions that share a calling code (US, CA) judge it in the same countries.
   */
  memoNsn: string;
  memoValid: boolean;
}
/**
 * One step of placing digits in a calling-code group, in the group's order: a country without
 * leading digits (placed when the number is valid there), or a run of consecutive countries with
 * leading digits, tried at once by `any` (the alternation of theirs) and one by one only when it matches.
 */
type GroupStep = { readonly valid: CountryPlan } | { readonly any: RegExp; readonly countries: readonly CountryPlan[] };
/** The countries sharing a calling code, in libphonenumber's order (main country first), one object per calling code. */
interface CallingGroup {
  readonly countries: readonly CountryPlan[];
  readonly steps: readonly GroupStep[];
  /** The last digits countryIn() placed in this group, and where (null: none of its countries). */
  memoDigits: string;
  memoCountry: CountryPlan | null;
}
interface RegionPlan {
  readonly callingCode: string;
  readonly idd: RegExp | undefined;
  readonly nationalPrefix: RegExp | undefined;
  readonly group: CallingGroup;
  /** The region's own country in its group, and whether it is the group's main one (its calling code selects it). */
  readonly own: CountryPlan;
  readonly main: boolean;
  /** The region's general pattern, anchored (libphonenumber-js matchesEntirely), and its possible lengths. */
  readonly general: RegExp;
  readonly lengths: readonly number[] | undefined;
}

// The parts of libphonenumber-js's Metadata class this file reads (its .d.ts declares fewer).
interface LpnType {
  pattern(): string;
  possibleLengths(): number[] | undefined;
}
interface LpnPlan {
  callingCode(): string;
  IDDPrefix(): string | undefined;
  nationalPrefixForParsing(): string | undefined;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
  leadingDigits(): string | undefined;
  hasTypes(): boolean;
  type(t: string): LpnType | undefined;
}
interface LpnMetadata {
  selectNumberingPlan(country: string): void;
  numberingPlan: LpnPlan;
  getCountryCodesForCallingCode(cc: string): string[] | undefined;
}

const anchored = (p: string): RegExp => new RegExp(`^(?:${p})$`);
const prefix = (p: string): RegExp => new RegExp(`^(?:${p})`);

function countryPlan(meta: LpnMetadata, country: string): CountryPlan {
  meta.selectNumberingPlan(country);
  const plan = meta.numberingPlan;
  let types: PlanType[] | undefined;
  if (plan.hasTypes()) {
    types = [];
    for (const t of TYPES) {
      const def = plan.type(t);
      if (!def?.pattern()) continue;
      types.push({ lengths: def.possibleLengths(), pattern: def.pattern() });
    }
  }
  const ld = plan.leadingDigits();
  return {
    country,
    general: plan.nationalNumberPattern(),
    types,
    leading: ld || undefined,
    leadingDigits: ld ? prefix(ld) : undefined,
    byLength: [],
    memoNsn: '',
    memoValid: false,
  };
}

/** The steps of a group of countries (see GroupStep). */
function groupSteps(countries: readonly CountryPlan[]): GroupStep[] {
  const steps: GroupStep[] = [];
  for (let i = 0; i < countries.length; ) {
    const c = countries[i]!;
    if (c.leadingDigits === undefined) {
      steps.push({ valid: c });
      i++;
      continue;
    }
    const run: CountryPlan[] = [];
    for (; i < countries.length && countries[i]!.leadingDigits !== undefined; i++) run.push(countries[i]!);
    steps.push({ any: new RegExp(`^(?:${run.map((r) => `(?:${r.leading!})`).join('|')})`), countries: run });
  }
  return steps;
}

function regionPlan(meta: LpnMetadata, region: string, groups: Map<string, CallingGroup>): RegionPlan {
  meta.selectNumberingPlan(region);
  const plan = meta.numberingPlan;
  const callingCode = plan.callingCode();
  const idd = plan.IDDPrefix();
  const npp = plan.nationalPrefixForParsing();
  const general = anchored(plan.nationalNumberPattern());
  const lengths = plan.possibleLengths();
  const countries = meta.getCountryCodesForCallingCode(callingCode) ?? [region];
  const key = `${callingCode}:${countries.join(',')}`;
  let group = groups.get(key);
  if (group === undefined) {
    const plans = countries.map((c) => countryPlan(meta, c));
    group = { countries: plans, steps: groupSteps(plans), memoDigits: '', memoCountry: null };
    groups.set(key, group);
  }
  const own = group.countries.find((c) => c.country === region)!;
  return {
    callingCode,
    idd: idd ? prefix(idd) : undefined,
    nationalPrefix: npp ? prefix(npp) : undefined,
    group,
    own,
    main: group.countries[0] === own,
    general,
    lengths,
  };
}

/** libphonenumber-js checkNumberLength(number, undefined, metadata) === 'TOO_LONG', for a plan's possible lengths. */
function tooLong(lengths: readonly number[] | undefined, length: number): boolean {
  if (lengths === undefined || lengths.length === 0) return false;
  const min = lengths[0]!;
  if (min === length || min > length) return false;
  return lengths[lengths.length - 1]! < length;
}

/**
 * The test isValidIn() runs for national numbers of `length` digits in `c`: libphonenumber-js
 * isValid() is the general pattern and a type whose possible lengths include the length (or that
 * lists none) matching the whole number; null when no type can.
 */
function lengthTest(c: CountryPlan, length: number): RegExp | null {
  if (c.types === undefined) return anchored(c.general);
  const admitted = c.types.filter((t) => t.lengths === undefined || t.lengths.includes(length));
  if (admitted.length === 0) return null;
  return new RegExp(`^(?=(?:${c.general})$)(?:${admitted.map((t) => `(?:${t.pattern})`).join('|')})$`);
}

/** libphonenumber-js isValid() for a national significant number in one country. */
function isValidIn(nsn: string, c: CountryPlan): boolean {
  if (c.memoNsn === nsn) return c.memoValid;
  let re = c.byLength[nsn.length];
  if (re === undefined) {
    re = lengthTest(c, nsn.length);
    c.byLength[nsn.length] = re;
  }
  const valid = re?.test(nsn) === true;
  c.memoNsn = nsn;
  c.memoValid = valid;
  return valid;
}

export interface PhoneParser {
  /** `run` (digits and separators, no `+`) as written in `region`: parsePhoneNumberFromString(run, region). */
  national(run: string, digits: string, region: CountryCode): PhoneParse;
  /** A number in international form (`+…`): parsePhoneNumberFromString(e164). */
  international(e164: string): PhoneParse;
  /**
   * The first of `regions` in which `run` is a valid national number, or undefined. Not remembered
   * per run: a run is a slice of the scanned block, and a map of the last 8192 kept ~140 blocks
   * alive into the old generation; on the bench corpus it answered 204 of 307,578 calls and cost
   * a sixth of the scan's CPU time (major GCs, hashing). Deciding a run again costs ~1 µs.
   */
  firstValid(run: string, digits: string, regions: readonly CountryCode[]): PhoneParse | undefined;
}

/** A parser for candidates tried in `regions`; plans are compiled once per region. */
export function createPhoneParser(): PhoneParser {
  const meta = new (Metadata as unknown as new () => LpnMetadata)();
  const plans = new Map<string, RegionPlan>();
  const groups = new Map<string, CallingGroup>();
  const cache = new Map<string, PhoneParse>();
  const slow = (key: string, text: string, region?: CountryCode): PhoneParse => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const p = region === undefined ? parsePhoneNumberFromString(text) : parsePhoneNumberFromString(text, region);
    const r: PhoneParse = p ? { valid: p.isValid(), possible: p.isPossible(), number: p.number, country: p.country } : INVALID;
    if (cache.size >= PHONE_CACHE_ENTRIES) cache.clear();
    cache.set(key, r);
    return r;
  };
  const planOf = (region: CountryCode): RegionPlan => {
    let plan = plans.get(region);
    if (plan === undefined) {
      plan = regionPlan(meta, region, groups);
      plans.set(region, plan);
    }
    return plan;
  };
  /** The country of a region's calling-code group the digits belong to (libphonenumber's getCountryByCallingCode). */
  const countryIn = (plan: RegionPlan, digits: string): CountryPlan | undefined => {
    const g = plan.group;
    if (g.countries.length === 1) return g.countries[0];
    if (g.memoDigits !== digits) {
      // The first country in the group's order whose leading digits match, or that has none and
      // in which the number is valid.
      let found: CountryPlan | null = null;
      for (const step of g.steps) {
        if ('valid' in step) {
          if (isValidIn(digits, step.valid)) found = step.valid;
        } else if (step.any.test(digits)) {
          found = step.countries.find((c) => c.leadingDigits!.test(digits))!;
        }
        if (found !== null) break;
      }
      g.memoDigits = digits;
      g.memoCountry = found;
    }
    return g.memoCountry ?? undefined;
  };
  /**
   * `national`'s answer, except undefined for a number decided here to be invalid (no answer
   * object is made for each region a candidate is not valid in). `plain`: the run holds only
   * digits and `-. ()/`.
   */
  const decide = (run: string, digits: string, region: CountryCode, plain: boolean): PhoneParse | undefined => {
    const plan = planOf(region);
    // Decided here: a run of digits and punctuation with no IDD prefix and no national prefix. The
    // national significant number is then the digits as written, or, when they start with the
    // region's calling code, what libphonenumber-js makes of that (below). Anything else (an IDD or
    // national prefix, letters, a region sharing its calling code with a main one) goes to it.
    if (
      !plain ||
      digits.length < 2 ||
      digits.length > 17 ||
      (plan.idd?.test(digits) ?? false) ||
      (plan.nationalPrefix?.test(digits) ?? false) ||
      (digits.startsWith(plan.callingCode) && !plan.main)
    )
      return slow(`${region}\u0000${run}`, run, region);
    if (digits.startsWith(plan.callingCode)) {
      // extractCountryCallingCodeFromInternationalNumberWithoutPlusSign: the number is read as
      // international without its `+` when it does not match the region's general pattern and
      // would without the calling code, or is too long for the region; the calling code then
      // names the country (none: its main one judges), as for `+…`.
      const shorter = digits.slice(plan.callingCode.length);
      if (shorter.length < 2 || (plan.nationalPrefix?.test(shorter) ?? false)) return slow(`${region}\u0000${run}`, run, region);
      if ((!plan.general.test(digits) && plan.general.test(shorter)) || tooLong(plan.lengths, digits.length)) {
        const country = countryIn(plan, shorter);
        if (!isValidIn(shorter, country ?? plan.own)) return undefined;
        return { valid: true, possible: false, number: `+${plan.callingCode}${shorter}`, country: country?.country };
      }
    }
    const country = countryIn(plan, digits);
    if (!isValidIn(digits, country ?? plan.own)) return undefined;
    // `possible` is only read for international numbers; national ones report it as unknown (false).
    return { valid: true, possible: false, number: `+${plan.callingCode}${digits}`, country: country?.country ?? region };
  };
  const parser: PhoneParser = {
    firstValid(run, digits, regions) {
      const plain = PLAIN_RUN.test(run);
      for (const region of regions) {
        const p = decide(run, digits, region, plain);
        if (p?.valid) return p.country === undefined ? { ...p, country: region } : p;
      }
      return undefined;
    },
    national(run, digits, region) {
      const p = decide(run, digits, region, PLAIN_RUN.test(run));
      if (p !== undefined) return p;
      const plan = planOf(region);
      return { valid: false, possible: false, number: `+${plan.callingCode}${digits}`, country: countryIn(plan, digits)?.country ?? region };
    },
    international(e164) {
      return slow(e164, e164);
    },
  };
  return parser;
}
