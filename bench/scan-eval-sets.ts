// The two labelled sets the scanner is measured on, in one vocabulary, and span-level scoring:
// presidio-research's synthetic sentences (test/fixtures/pii/presidio-research) and the realistic
// exports generated here (test/fixtures/scan-eval: chat, tickets, CSV, logs, with decoys labelled).
// Used by `npm run eval -- scan` and `npm run bench -- scan` (which scores its peers the same way).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanFile, type DetectorId, type Finding } from '../src/scan/index.js';
import { parseLabels, type EvalSpan } from '../test/fixtures/scan-eval/generate.js';
import { FIXTURES } from '../test/helpers/paths.js';

export interface Span {
  readonly entity: string;
  readonly start: number;
  readonly end: number;
}

/** One text with its gold spans; `decoys` (realistic set only) name what a false positive hit. */
export interface Doc {
  readonly text: string;
  readonly gold: readonly Span[];
  readonly decoys: readonly (Span & { readonly kind: string })[];
  /** For the realistic set: where the text is (file, line from 1). */
  readonly file?: string;
  readonly line?: number;
}

/** The entities both sets label and every tool is scored on (what the targets name). */
export const CORE_ENTITIES = ['phone', 'email', 'payment_card', 'us_ssn', 'ip_address'] as const;
/** All entities of the realistic set. */
export const REALISTIC_ENTITIES = [...CORE_ENTITIES, 'date_of_birth', 'device_id'] as const;

/** cordon's detectors in the sets' vocabulary. */
export const ENTITY_OF_DETECTOR: Readonly<Partial<Record<DetectorId, string>>> = {
  phone: 'phone',
  email: 'email',
  payment_card: 'payment_card',
  us_ssn: 'us_ssn',
  ipv4: 'ip_address',
  ipv6: 'ip_address',
  date_of_birth: 'date_of_birth',
  advertising_id: 'device_id',
  imei: 'device_id',
};

const PRESIDIO_ENTITY: Readonly<Record<string, string>> = {
  PHONE_NUMBER: 'phone',
  EMAIL_ADDRESS: 'email',
  CREDIT_CARD: 'payment_card',
  US_SSN: 'us_ssn',
  IP_ADDRESS: 'ip_address',
  DATE_TIME: 'date_time',
};

interface LabelledRecord {
  readonly full_text: string;
  readonly spans: readonly { readonly entity_type: string; readonly start_position: number; readonly end_position: number }[];
  readonly template_id: number;
}

/** presidio-research synth_dataset_v2.json; `heldOut`: only records with an even template_id (never tuned on). */
export function presidioDocs(heldOut: boolean): Doc[] {
  const records = JSON.parse(readFileSync(join(FIXTURES, 'pii/presidio-research/synth_dataset_v2.json'), 'utf8')) as LabelledRecord[];
  return records
    .filter((r) => !heldOut || r.template_id % 2 === 0)
    .map((r) => ({
      text: r.full_text,
      gold: r.spans
        .filter((s) => s.entity_type in PRESIDIO_ENTITY)
        .map((s) => ({ entity: PRESIDIO_ENTITY[s.entity_type]!, start: s.start_position, end: s.end_position })),
      decoys: [],
    }));
}

export const REALISTIC_DIR = join(FIXTURES, 'scan-eval');

/** The realistic set: one doc per line of each file, with its labels. */
export function realisticDocs(): { docs: Doc[]; files: string[]; seed: number; bytes: number } {
  const labels = parseLabels(readFileSync(join(REALISTIC_DIR, 'labels.tsv'), 'utf8'));
  const byLine = new Map<string, EvalSpan[]>();
  for (const s of labels.spans) {
    const k = `${s.file}:${s.line}`;
    const l = byLine.get(k);
    if (l) l.push(s);
    else byLine.set(k, [s]);
  }
  const files = [...new Set(labels.spans.map((s) => s.file))].sort();
  const docs: Doc[] = [];
  let bytes = 0;
  for (const file of files) {
    const content = readFileSync(join(REALISTIC_DIR, file), 'utf8');
    bytes += Buffer.byteLength(content);
    content
      .split('\n')
      .slice(0, -1)
      .forEach((text, i) => {
        const spans = byLine.get(`${file}:${i + 1}`) ?? [];
        docs.push({
          text,
          file,
          line: i + 1,
          gold: spans.filter((s) => s.entity !== 'decoy').map((s) => ({ entity: s.entity, start: s.start, end: s.end })),
          decoys: spans.filter((s) => s.entity === 'decoy').map((s) => ({ entity: 'decoy', kind: s.kind, start: s.start, end: s.end })),
        });
      });
  }
  return { docs, files, seed: labels.seed, bytes };
}

/**
 * cordon's predictions on the realistic set as `cordon scan` makes them: each file through the
 * file scanner (CSV columns and JSON keys as context), at the default settings unless `minConfidence`.
 * Also returns the findings, for their reasons.
 */
export async function cordonOnRealistic(docs: readonly Doc[], minConfidence?: number): Promise<{ preds: Span[][]; findings: Finding[] }> {
  const index = new Map<string, number>();
  for (const [i, d] of docs.entries()) index.set(`${d.file}:${d.line}`, i);
  const preds: Span[][] = docs.map(() => []);
  const findings: Finding[] = [];
  for (const file of new Set(docs.map((d) => d.file!))) {
    const r = await scanFile(join(REALISTIC_DIR, file), minConfidence === undefined ? {} : { minConfidence });
    if (r.problems.length > 0) throw new Error(`${file}: ${r.problems.map((p) => p.code).join(', ')}`);
    for (const f of r.findings) {
      if (f.where.kind !== 'file') continue;
      const entity = ENTITY_OF_DETECTOR[f.detector];
      const i = index.get(`${file}:${f.where.line}`);
      if (entity === undefined || i === undefined) continue;
      findings.push(f);
      preds[i]!.push({ entity, start: f.span[0], end: f.span[1] });
    }
  }
  return { preds, findings };
}

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

export interface Scores {
  readonly precision: number;
  readonly recall: number;
  readonly f2: number;
  readonly support: number;
}

export function score(c: Counts): Scores {
  const precision = c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn);
  const f2 = precision + recall === 0 ? 0 : (5 * precision * recall) / (4 * precision + recall);
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { precision: r(precision), recall: r(recall), f2: r(f2), support: c.tp + c.fn };
}

function iou(a: Span, b: Span): number {
  const inter = Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
  const union = Math.max(a.end, b.end) - Math.min(a.start, b.start);
  return union === 0 ? 0 : inter / union;
}

export interface Evaluation {
  readonly counts: Map<string, Counts>;
  /** False positives by the decoy kind they overlapped (`unlabelled` when none). */
  readonly fpByDecoy: Map<string, number>;
}

/**
 * Span-level counts for `entities`: a prediction is a true positive when it has the gold span's
 * entity and IoU >= `minIou` with it (each gold span matched once); predictions of other entities
 * are ignored.
 */
export function evaluate(docs: readonly Doc[], preds: readonly (readonly Span[])[], entities: readonly string[], minIou = 0.7): Evaluation {
  const counts = new Map<string, Counts>(entities.map((e) => [e, { tp: 0, fp: 0, fn: 0 }]));
  const fpByDecoy = new Map<string, number>();
  docs.forEach((doc, di) => {
    const pred = preds[di]!.filter((p) => counts.has(p.entity));
    const used = new Set<number>();
    for (const g of doc.gold) {
      const c = counts.get(g.entity);
      if (!c) continue;
      const i = pred.findIndex((p, k) => !used.has(k) && p.entity === g.entity && iou(p, g) >= minIou);
      if (i >= 0) {
        used.add(i);
        c.tp++;
      } else {
        c.fn++;
      }
    }
    pred.forEach((p, k) => {
      if (used.has(k)) return;
      counts.get(p.entity)!.fp++;
      const hit = doc.decoys.find((d) => d.start < p.end && p.start < d.end);
      const kind = `${p.entity}<-${hit ? hit.kind : 'unlabelled'}`;
      fpByDecoy.set(kind, (fpByDecoy.get(kind) ?? 0) + 1);
    });
  });
  return { counts, fpByDecoy };
}

export function total(counts: Map<string, Counts>, only?: readonly string[]): Counts {
  const t = { tp: 0, fp: 0, fn: 0 };
  for (const [e, c] of counts) {
    if (only && !only.includes(e)) continue;
    t.tp += c.tp;
    t.fp += c.fp;
    t.fn += c.fn;
  }
  return t;
}
