// The one-pass prefilter (candidates.ts): its digit runs, colons and dashes are exactly the places
// the regexes it replaced matched, case by case and on random texts; and detect() built on it finds
// exactly what the detector core found before it (test/helpers/detect-before-prefilter.ts), on random
// texts full of near-misses. Random cases print their seed; SEED=… replays one. Failures name texts
// and detections by hash, never by value.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../src/shared/random.js';
import { assertSameHidden, hashOf } from './helpers/hidden.js';
import { detect as detectBefore } from './helpers/detect-before-prefilter.js';
import { findCandidates } from '../src/scan/candidates.js';
import { detect, hasBirthWord, type DetectOptions } from '../src/scan/detect.js';
import { FIELD } from '../src/scan/context.js';

/** The regexes the prefilter replaced, with the filter the digit-run loop applied after each match. */
function reference(text: string): { runs: number[]; colons: number[]; dashes: number[] } {
  const runs: number[] = [];
  const DIGIT_RUN = /\d[\d\-. ()/]{4,}\d/g;
  for (let m = DIGIT_RUN.exec(text); m !== null; m = DIGIT_RUN.exec(text)) {
    const digits = m[0].replace(/\D/g, '').length;
    const dots = m[0].split('.').length - 1;
    if (digits >= 7 || dots === 3) runs.push(m.index, m.index + m[0].length, digits, dots);
  }
  const colons: number[] = [];
  const COLON = /:(?:(?<=[0-9A-Fa-f.:]:)|(?=[0-9A-Fa-f.:]))/g;
  for (let m = COLON.exec(text); m !== null; m = COLON.exec(text)) colons.push(m.index);
  const dashes: number[] = [];
  // Every dash the pattern starts at (overlapping ones too: detect takes them left to right).
  const DASH = /(?=-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-)/g;
  for (let m = DASH.exec(text); m !== null; m = DASH.exec(text)) {
    dashes.push(m.index);
    DASH.lastIndex = m.index + 1;
  }
  return { runs, colons, dashes };
}

function actual(text: string): { runs: number[]; colons: number[]; dashes: number[] } {
  const c = findCandidates(text);
  return { runs: [...c.runs.subarray(0, c.runCount * 4)], colons: [...c.colons.subarray(0, c.colonCount)], dashes: [...c.dashes.subarray(0, c.dashCount)] };
}

const PIECES = [
  ' ',
  ' ',
  ' ',
  '-',
  '.',
  '(',
  ')',
  '/',
  ':',
  '::',
  '+',
  '@',
  ',',
  ';',
  '"',
  "'",
  '\n',
  '\t',
  '#',
  'x',
  'ext ',
  'e',
  '0',
  '00',
  '011',
  '1',
  '7',
  '9',
  'a',
  'F',
  'ab',
  'fe80',
  'ffff',
  'Z',
  'T',
  '_',
  'é',
  '\u00a0',
  '１',
  'phone ',
  'call ',
  'tel: ',
  'order ',
  'card ',
  'visa ',
  'ssn ',
  'ip ',
  'from ',
  'version ',
  'born ',
  'birth date ',
  'dob: ',
  'device ',
  'idfa ',
  'imei ',
  'mobile: ',
  'Phone:\n',
  'amount $',
  'ref ',
  '"phone":"',
  '","ip":"',
  ' x',
  'b-day ',
  'D.O.B',
  'd.o.',
  'DOB',
  'xdob',
  'dobs',
  'Born',
  'BDay',
  'b-',
  'bir',
  'th',
  'B',
  'b',
  'o',
  'd',
  'unborn ',
  'bDAY',
  '\ud800',
  '\udc00',
  '\u{1F600}',
];
const SHAPES: readonly ((r: () => number) => string)[] = [
  (r) => digits(r, 1 + Math.floor(r() * 19)),
  (r) => `(${digits(r, 3)}) ${digits(r, 3)}-${digits(r, 4)}`,
  (r) => `${digits(r, 3)}-${digits(r, 2)}-${digits(r, 4)}`,
  (r) => `${digits(r, 3)}.${digits(r, 3)}.${digits(r, 4)}`,
  (r) => `+${digits(r, 2)} ${digits(r, 2)} ${digits(r, 4)} ${digits(r, 4)}`,
  (r) => `+1 ${digits(r, 3)} ${digits(r, 3)} ${digits(r, 4)}`,
  (r) => `0${digits(r, 4)} ${digits(r, 6)}`,
  (r) => `${digits(r, 4)} ${digits(r, 4)} ${digits(r, 4)} ${digits(r, 4)}`,
  (r) => `4${digits(r, 15)}`,
  (r) => Array.from({ length: 4 }, () => String(Math.floor(r() * 300))).join('.'),
  (r) => Array.from({ length: 8 }, () => hex(r, 1 + Math.floor(r() * 4))).join(':'),
  (r) => `2001:db8::${hex(r, 4)}`,
  (r) => `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`,
  (r) => `19${digits(r, 2)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}`,
  (r) => `${1 + Math.floor(r() * 12)}/${1 + Math.floor(r() * 28)}/19${digits(r, 2)}`,
  (r) => `${digits(r, 5)}-${digits(r, 4)}`,
  (r) => `${digits(r, 3)}.${digits(r, 2)}`,
  (r) => `${'ann.lee'.slice(0, 1 + Math.floor(r() * 7))}@ex${digits(r, 1)}.com`,
];
function digits(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
}
function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
}
function randomText(r: () => number): string {
  let s = '';
  const n = 1 + Math.floor(r() * 40);
  for (let i = 0; i < n; i++) s += r() < 0.35 ? SHAPES[Math.floor(r() * SHAPES.length)]!(r) : PIECES[Math.floor(r() * PIECES.length)]!;
  return s;
}

describe('candidates: one pass finds where the replaced regexes matched', () => {
  const cases: { note: string; text: string }[] = [
    { note: 'a run starts at its first digit and ends at its last', text: 'call (415) 555-2671. now' },
    { note: 'separators alone do not join: a letter breaks the run', text: '123-456x7890123' },
    { note: 'six digits and no dots: dropped', text: 'id 123456 and 12-34-56' },
    { note: 'exactly three dots keep a short run (IPv4)', text: 'from 1.2.3.4 and 1.2.3.4.5' },
    { note: 'a run shorter than six characters is no match even with three dots', text: '1.2.3' },
    { note: 'runs at the very start and end', text: '4155552671 x 4155552671' },
    { note: 'colons beside hex, dots or colons; not JSON punctuation', text: '{"a":"b"} 10:52 fe80::1 a: b ::' },
    { note: 'UUID dashes, overlapping ones reported', text: 'x-0000-0000-0000-0000-0000-0000- 123e4567-e89b-12d3-a456-426614174000' },
    { note: 'non-ASCII is none of ours', text: '１２３４５６７８ 12\u00a034567890' },
  ];
  for (const c of cases) test(c.note, () => assert.deepEqual(actual(c.text), reference(c.text)));

  test('random texts: the same runs, colons and dashes as the regexes', () => {
    const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
    console.log(`# candidates seed ${seed} (SEED=${seed} repeats it)`);
    const r = mulberry32(seed);
    for (let i = 0; i < 3000; i++) {
      const text = randomText(r);
      assertSameHidden(actual(text), reference(text), `text #${i} (sha ${hashOf(text)})`);
    }
  });
});

test('hasBirthWord answers as the birth-word regex on random texts', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`# birth word seed ${seed} (SEED=${seed} repeats it)`);
  const r = mulberry32(seed);
  let yes = 0;
  for (let i = 0; i < 20000; i++) {
    const text = randomText(r);
    const want = FIELD.dob.test(text);
    if (want) yes++;
    assert.equal(hasBirthWord(text), want, `text #${i} (sha ${hashOf(text)})`);
  }
  assert.ok(yes > 1000 && yes < 19000, `${yes} of 20000 texts with a birth word`);
});

describe('detect on the prefilter finds exactly what it found before', () => {
  const OPTIONS: DetectOptions[] = [
    {},
    { hint: 'phone' },
    { hint: 'client_ip' },
    { hint: 'order_id' },
    { hint: 'birth_date' },
    { hint: 'device_id' },
    { minConfidence: 0 },
  ];
  test('random texts, several options', () => {
    const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
    console.log(`# detect seed ${seed} (SEED=${seed} repeats it)`);
    const r = mulberry32(seed);
    let found = 0;
    for (let i = 0; i < 3000; i++) {
      const text = randomText(r);
      const options = OPTIONS[i % OPTIONS.length]!;
      const want = detectBefore(text, options);
      found += want.length;
      assertSameHidden(detect(text, options), want, `text #${i} (sha ${hashOf(text)}), options ${JSON.stringify(options)}`);
    }
    // The texts are made to hold detections: a run that found none would compare nothing.
    assert.ok(found > 1000, `only ${found} detections in 3000 texts`);
  });
});
