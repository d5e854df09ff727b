// Phone number validation without paying libphonenumber's parse for every candidate in every
// default region. libphonenumber-js rebuilds a RegExp from its (large) metadata patterns on every
// check, ~20 µs per attempt; a scan tries up to 15 regions per candidate. Here the same metadata
// patterns are compiled once, and the common case — a national number with no IDD prefix, no
// national prefix and not starting with the region's calling code, so the national significant
// number is the digits as written — is decided exactly as libphonenumber-js decides it
// (getCountryByCallingCode, then isValid). Every other case goes to libphonenumber itself, through
// a bounded cache. test/scan.test.ts checks both paths agree on random and example numbers.

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
  readonly re: RegExp;
}
interface CountryPlan {
  readonly country: string;
  readonly general: RegExp;
  /** undefined when the plan has no types (then the general pattern decides). */
  readonly types: readonly PlanType[] | undefined;
  readonly leadingDigits: RegExp | undefined;
  /**
   * The last national number isValidIn() judged here, and its answer: a candidate is tried in
   * several regions, and regions that share a calling code (US, CA) judge it in the same countries.
   */
  memoNsn: string;
  memoValid: boolean;
}
/** The countries sharing a calling code, in libphonenumber's order (main country first), one object per calling code. */
interface CallingGroup {
  readonly countries: readonly CountryPlan[];
  /** The last digits countryIn() placed in this group, and where (null: none of its countries). */
  memoDigits: string;
  memoCountry: CountryPlan | null;
}
interface RegionPlan {
  readonly callingCode: string;
  readonly idd: RegExp | undefined;
  readonly nationalPrefix: RegExp | undefined;
  readonly group: CallingGroup;
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
      types.push({ lengths: def.possibleLengths(), re: anchored(def.pattern()) });
    }
  }
  const ld = plan.leadingDigits();
  return { country, general: anchored(plan.nationalNumberPattern()), types, leadingDigits: ld ? prefix(ld) : undefined, memoNsn: '', memoValid: false };
}

function regionPlan(meta: LpnMetadata, region: string, groups: Map<string, CallingGroup>): RegionPlan {
  meta.selectNumberingPlan(region);
  const plan = meta.numberingPlan;
  const callingCode = plan.callingCode();
  const idd = plan.IDDPrefix();
  const npp = plan.nationalPrefixForParsing();
  const countries = meta.getCountryCodesForCallingCode(callingCode) ?? [region];
  const key = `${callingCode}:${countries.join(',')}`;
  let group = groups.get(key);
  if (group === undefined) {
    group = { countries: countries.map((c) => countryPlan(meta, c)), memoDigits: '', memoCountry: null };
    groups.set(key, group);
  }
  return { callingCode, idd: idd ? prefix(idd) : undefined, nationalPrefix: npp ? prefix(npp) : undefined, group };
}

/** libphonenumber-js isValid() for a national significant number in one country. */
function isValidIn(nsn: string, c: CountryPlan): boolean {
  if (c.memoNsn === nsn) return c.memoValid;
  let valid = false;
  if (c.general.test(nsn)) {
    if (c.types === undefined) valid = true;
    else
      for (const t of c.types) {
        if (t.lengths !== undefined && !t.lengths.includes(nsn.length)) continue;
        if (t.re.test(nsn)) {
          valid = true;
          break;
        }
      }
  }
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
   * The first of `regions` in which `run` is a valid national number, or undefined. Remembered for
   * the last few thousand runs: a file's phone column is scanned twice (line, then field with its
   * name as context) and the same numbers recur.
   */
  firstValid(run: string, digits: string, regions: readonly CountryCode[]): PhoneParse | undefined;
}

/** Runs whose first valid region is remembered, per list of regions. */
export const PHONE_RUN_CACHE_ENTRIES = 8192;

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
  const runs = new WeakMap<readonly CountryCode[], Map<string, PhoneParse | null>>();
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
      let found: CountryPlan | null = null;
      for (const c of g.countries)
        if (c.leadingDigits !== undefined ? c.leadingDigits.test(digits) : isValidIn(digits, c)) {
          found = c;
          break;
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
    // Only the case where the national significant number is the digits as written is decided
    // here; an IDD prefix, a national prefix or a leading calling code go to libphonenumber.
    const simple =
      plain &&
      digits.length >= 2 &&
      digits.length <= 17 &&
      !(plan.idd?.test(digits) ?? false) &&
      !digits.startsWith(plan.callingCode) &&
      !(plan.nationalPrefix?.test(digits) ?? false);
    if (!simple) return slow(`${region}\u0000${run}`, run, region);
    const country = countryIn(plan, digits);
    if (!isValidIn(digits, country ?? plan.group.countries.find((c) => c.country === region)!)) return undefined;
    // `possible` is only read for international numbers; national ones report it as unknown (false).
    return { valid: true, possible: false, number: `+${plan.callingCode}${digits}`, country: country?.country ?? region };
  };
  const parser: PhoneParser = {
    firstValid(run, digits, regions) {
      let memo = runs.get(regions);
      if (memo === undefined) {
        memo = new Map();
        runs.set(regions, memo);
      }
      const hit = memo.get(run);
      if (hit !== undefined) return hit ?? undefined;
      let found: PhoneParse | null = null;
      const plain = PLAIN_RUN.test(run);
      for (const region of regions) {
        const p = decide(run, digits, region, plain);
        if (p?.valid) {
          found = p.country === undefined ? { ...p, country: region } : p;
          break;
        }
      }
      if (memo.size >= PHONE_RUN_CACHE_ENTRIES) memo.clear();
      memo.set(run, found);
      return found ?? undefined;
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
