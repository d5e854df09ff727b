// Finding dates and times in text: full calendar dates (ISO, US and European numeric forms, month
// names), timestamps, weekdays and bare years after a preposition. A date of birth is a full date
// with birth context (detect.ts); the rest exists so the date finder can be measured on its own.

export interface FoundDate {
  /** `date`: a full calendar date (optionally with a time); `weekday`, `year`, `month_year`: partial. */
  readonly kind: 'date' | 'weekday' | 'year' | 'month_year';
  readonly start: number;
  readonly end: number;
  /** YYYY-MM-DD for full dates, else the matched text. */
  readonly iso: string;
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const MONTH_RE =
  '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';
const TIME_RE = '(?:[ T]\\d{1,2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?)?';

const PATTERNS: readonly { readonly re: RegExp; readonly parse: (m: RegExpExecArray) => [number, number, number] | undefined }[] = [
  // 1990-05-12, 1990/05/12, 1990.05.12 (+ time)
  { re: new RegExp(`\\b(\\d{4})([-/.])(\\d{1,2})\\2(\\d{1,2})${TIME_RE}\\b`, 'g'), parse: (m) => [Number(m[1]), Number(m[3]), Number(m[4])] },
  // 5/12/1990 (US: month first unless the first part cannot be a month), 12.05.1990, 12-05-1990
  {
    re: new RegExp(`\\b(\\d{1,2})([-/.])(\\d{1,2})\\2(\\d{4})${TIME_RE}\\b`, 'g'),
    parse: (m) => {
      const a = Number(m[1]);
      const b = Number(m[3]);
      const y = Number(m[4]);
      if (m[2] === '/' && a <= 12) return [y, a, b];
      return a > 12 || m[2] === '.' ? [y, b, a] : [y, a, b];
    },
  },
  // March 5, 1990 / Mar 5th 1990
  {
    re: new RegExp(`\\b(${MONTH_RE})\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})\\b`, 'gi'),
    parse: (m) => [Number(m[3]), monthOf(m[1]!), Number(m[2])],
  },
  // 5 March 1990 / 5th of March, 1990
  {
    re: new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?(?:\\s+of)?\\s+(${MONTH_RE}),?\\s+(\\d{4})\\b`, 'gi'),
    parse: (m) => [Number(m[3]), monthOf(m[2]!), Number(m[1])],
  },
];

const WEEKDAY = /\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b/gi;
const YEAR_AFTER_WORD = /\b(?:in|of|since|during|until|by|from|year|circa|before|after)\s+((?:19|20)\d{2})\b(?![-/.:]\d)/gi;
const MONTH_YEAR = new RegExp(`\\b(${MONTH_RE})\\s+((?:19|20)\\d{2})\\b`, 'gi');

function monthOf(name: string): number {
  const n = name.toLowerCase().replace('.', '').slice(0, 3);
  return MONTHS.findIndex((m) => m.startsWith(n)) + 1;
}

function isCalendarDate(y: number, m: number, d: number): boolean {
  if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** Every date in `text`, ordered by start; a full date wins over a partial one it overlaps. */
export function findDates(text: string): FoundDate[] {
  const out: FoundDate[] = [];
  for (const p of PATTERNS) {
    p.re.lastIndex = 0;
    for (let m = p.re.exec(text); m !== null; m = p.re.exec(text)) {
      const ymd = p.parse(m);
      if (!ymd || !isCalendarDate(...ymd)) continue;
      const iso = `${ymd[0]}-${String(ymd[1]).padStart(2, '0')}-${String(ymd[2]).padStart(2, '0')}`;
      out.push({ kind: 'date', start: m.index, end: m.index + m[0].length, iso });
    }
  }
  const partial = (re: RegExp, kind: FoundDate['kind'], group: number): void => {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const start = m.index + m[0].lastIndexOf(m[group]!);
      const end = group === 0 ? m.index + m[0].length : start + m[group]!.length;
      out.push({ kind, start: group === 0 ? m.index : start, end, iso: text.slice(group === 0 ? m.index : start, end) });
    }
  };
  partial(WEEKDAY, 'weekday', 0);
  partial(MONTH_YEAR, 'month_year', 0);
  partial(YEAR_AFTER_WORD, 'year', 1);
  out.sort((a, b) => a.start - b.start || b.end - b.start - (a.end - a.start));
  const kept: FoundDate[] = [];
  for (const d of out) {
    const last = kept[kept.length - 1];
    if (last && d.start < last.end) continue;
    kept.push(d);
  }
  return kept;
}
