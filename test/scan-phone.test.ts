// The phone parser's compiled plans (src/scan/phone.ts) against libphonenumber-js itself, on random
// numbers drawn near the metadata's example numbers: every length from far too short to too long
// (the plans build one test per country and length), written after a calling code without its `+`
// too, and many numbers of calling codes several countries share (+1, +44, +7…), which the plans
// place by leading digits in runs of countries.
// Random cases print their seed; SEED=… replays one. A difference names the case by hash, never the number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCountryCallingCode, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { createPhoneParser } from '../src/scan/phone.js';
import { DEFAULT_PHONE_COUNTRIES } from '../src/scan/detect.js';
import { mulberry32 } from '../src/shared/random.js';
import { FIXTURES } from './helpers/paths.js';
import { hashOf } from './helpers/hidden.js';

const EXAMPLES = (
  JSON.parse(readFileSync(join(FIXTURES, 'pii/phone/libphonenumber-example-numbers.json'), 'utf8')) as { examples: { e164: string }[] }
).examples
  .map((e) => parsePhoneNumberFromString(e.e164))
  .filter((p) => p !== undefined);
/** Examples whose calling code is a default region's: the numbers a scan decides in those regions. */
const DEFAULT_CODES = new Set<string>(DEFAULT_PHONE_COUNTRIES.map((r) => getCountryCallingCode(r)));
const NEAR = EXAMPLES.filter((p) => DEFAULT_CODES.has(p.countryCallingCode));
const SHARED = EXAMPLES.filter((p) => ['1', '44', '7', '61', '39', '47', '262', '290', '358', '590', '599'].includes(p.countryCallingCode));

/** A national number like the example's: some digits kept, the rest redrawn, the length changed by -3..+2. */
function near(r: () => number, nationalNumber: string): string {
  const length = Math.max(1, nationalNumber.length + Math.floor(r() * 6) - 3);
  let out = nationalNumber.slice(0, Math.max(0, nationalNumber.length - Math.floor(r() * 6)));
  while (out.length < length) out += String(Math.floor(r() * 10));
  return out.slice(0, length);
}

test('compiled phone plans decide national numbers of every length as libphonenumber-js does', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`# phone plans seed ${seed} (SEED=${seed} repeats it)`);
  const r = mulberry32(seed);
  const parser = createPhoneParser();
  const diffs: string[] = [];
  let valid = 0;
  const lengths = new Set<number>();
  for (let i = 0; i < 6000; i++) {
    const pool = r() < 0.4 ? SHARED : r() < 0.8 ? NEAR : EXAMPLES;
    const example = pool[Math.floor(r() * pool.length)]!;
    const region: CountryCode = DEFAULT_PHONE_COUNTRIES[Math.floor(r() * DEFAULT_PHONE_COUNTRIES.length)]!;
    // Written bare, or after the example's or the region's calling code without its `+` (which
    // libphonenumber-js reads as international when the rest fits the region better).
    const x = r();
    const national = (x < 0.2 ? example.countryCallingCode : x < 0.4 ? getCountryCallingCode(region) : '') + near(r, example.nationalNumber);
    lengths.add(national.length);
    const run = r() < 0.3 && national.length >= 7 ? national.replace(/^(\d{3})(\d{3})/, '($1) $2-') : national;
    const digits = run.replace(/\D/g, '');
    const got = parser.national(run, digits, region);
    const want = parsePhoneNumberFromString(run, region);
    const wantValid = want?.isValid() ?? false;
    if (wantValid) valid++;
    if (got.valid !== wantValid || (wantValid && (got.number !== want!.number || got.country !== (want!.country ?? region))))
      diffs.push(
        `case ${i} (sha ${hashOf(run)}), region ${region}, ${digits.length} digits: fast ${got.valid} ${got.country}, libphonenumber ${wantValid} ${want?.country}`,
      );
  }
  assert.deepEqual(diffs.slice(0, 5), []);
  assert.ok(valid > 600, `${valid} valid: the cases must reach valid numbers`);
  assert.ok(lengths.size >= 12, `${lengths.size} lengths`);
});

test('the first default region a run is valid in is the one libphonenumber-js names, for shared calling codes', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`# first region seed ${seed} (SEED=${seed} repeats it)`);
  const r = mulberry32(seed);
  const parser = createPhoneParser();
  const diffs: string[] = [];
  let valid = 0;
  const countries = new Set<string>();
  for (let i = 0; i < 1500; i++) {
    const example = SHARED[Math.floor(r() * SHARED.length)]!;
    const national = (r() < 0.25 ? example.countryCallingCode : '') + near(r, example.nationalNumber);
    const got = parser.firstValid(national, national, DEFAULT_PHONE_COUNTRIES);
    let want: { number: string; country: string } | undefined;
    for (const region of DEFAULT_PHONE_COUNTRIES) {
      const p = parsePhoneNumberFromString(national, region);
      if (p?.isValid()) {
        want = { number: p.number, country: p.country ?? region };
        break;
      }
    }
    if (want) {
      valid++;
      countries.add(want.country);
    }
    const same = got === undefined ? want === undefined : want !== undefined && got.number === want.number && got.country === want.country;
    if (!same) diffs.push(`case ${i} (sha ${hashOf(national)}): fast ${got?.country}, libphonenumber ${want?.country}`);
  }
  assert.deepEqual(diffs.slice(0, 5), []);
  assert.ok(valid > 300, `${valid} valid`);
  // Placed by leading digits beyond the main countries (JM, PR, GG, JE…), not only US, CA and GB.
  assert.ok(countries.size >= 8, `${[...countries].sort().join(' ')}`);
});
