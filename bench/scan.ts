// Benchmark: the scanner's throughput on a generated CSV/NDJSON corpus (ids, amounts, timestamps,
// free text, and protected values among them), beside, in the same run and over the same bytes, a
// plain single-pass regex (read, decode, one alternation of email/phone/card/IP patterns, count
// matches) and a peer PII scanner from npm (@redactpii/node, regex-based, offline: redact() over the
// same blocks of lines, read and decoded as cordon reads them: eachBlock). MB per CPU-second is the
// per-core rate. Then F2 of each on both labelled eval sets (Presidio's held-out half and
// test/fixtures/scan-eval). Prints a table, then one JSON line with ratioVsRegex and ratioVsPeer
// (cordon's per-core rate over theirs).
//
//   npm run bench -- scan [--mb 1024] [--files N] [--threads N] [--keep]

import { mkdtempSync, rmSync, statSync, writeFileSync, createReadStream } from 'node:fs';
import { isAscii } from 'node:buffer';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redactor } from '@redactpii/node';
import { detect, scanFiles } from '../src/scan/index.js';
import { DECODE_BYTES, DEFAULT_CHUNK_BYTES } from '../src/scan/file-scan.js';
import {
  CORE_ENTITIES,
  ENTITY_OF_DETECTOR,
  cordonOnRealistic,
  evaluate,
  presidioDocs,
  realisticDocs,
  score,
  total,
  type Doc,
  type Span,
} from './scan-eval-sets.js';
import { mulberry32 } from '../test/helpers/differential.js';

const { values: opts } = parseArgs({
  options: {
    mb: { type: 'string', default: '1024' },
    files: { type: 'string' },
    threads: { type: 'string' },
    seed: { type: 'string', default: '20261124' },
    keep: { type: 'boolean', default: false },
  },
});
const MB = Number(opts.mb);
const THREADS = Number(opts.threads ?? availableParallelism());
const FILES = Number(opts.files ?? Math.max(2, THREADS * 2));
const rand = mulberry32(Number(opts.seed));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
const WORDS = 'the order was shipped to customer after review of payment and account status with support notes about delivery window'.split(' ');
const NAMES = ['Ann Lee', 'Bob Roe', 'Cy Dee', 'Dana Li', 'Eve Moss', 'Finn Ode'];

function luhnComplete(body: string): string {
  for (let d = 0; d <= 9; d++) {
    const s = body + d;
    let sum = 0;
    for (let i = s.length - 1, dbl = false; i >= 0; i--, dbl = !dbl) {
      let n = s.charCodeAt(i) - 48;
      if (dbl) n = n * 2 > 9 ? n * 2 - 9 : n * 2;
      sum += n;
    }
    if (sum % 10 === 0) return s;
  }
  return `${body}0`;
}

function row(i: number): Record<string, string> {
  const pii = rand() < 0.2;
  return {
    id: String(i),
    name: pick(NAMES),
    email: pii ? `${pick(NAMES).toLowerCase().replace(' ', '.')}${i % 97}@example.com` : '',
    phone: pii ? `(${200 + Math.floor(rand() * 700)}) 555-${digits(4)}` : '',
    amount: (rand() * 1000).toFixed(2),
    created_at: `2026-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}T10:${10 + Math.floor(rand() * 49)}:00Z`,
    sku: `SKU-${digits(6)}`,
    note: Array.from({ length: 6 + Math.floor(rand() * 10) }, () => pick(WORDS)).join(' ') + (rand() < 0.02 ? ` card ${luhnComplete(`4${digits(14)}`)}` : ''),
    client_ip: rand() < 0.1 ? `${20 + Math.floor(rand() * 180)}.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}.${1 + Math.floor(rand() * 250)}` : '',
  };
}

function generate(dir: string): string[] {
  const files: string[] = [];
  const perFile = Math.ceil((MB * 1e6) / FILES);
  let id = 0;
  for (let f = 0; f < FILES; f++) {
    const csv = f % 2 === 0;
    const path = join(dir, `part-${f}.${csv ? 'csv' : 'ndjson'}`);
    const parts: string[] = [];
    let size = 0;
    if (csv) parts.push('id,name,email,phone,amount,created_at,sku,note,client_ip\n');
    while (size < perFile) {
      const r = row(id++);
      const line = csv ? `${Object.values(r).join(',')}\n` : `${JSON.stringify(r)}\n`;
      parts.push(line);
      size += line.length;
      if (parts.length >= 20_000) {
        writeFileSync(path, parts.join(''), { flag: files.includes(path) ? 'a' : 'w' });
        if (!files.includes(path)) files.push(path);
        parts.length = 0;
      }
    }
    writeFileSync(path, parts.join(''), { flag: files.includes(path) ? 'a' : 'w' });
    if (!files.includes(path)) files.push(path);
  }
  return files;
}

/** The baseline: the same bytes through one regex alternation, counting matches, no validation. */
const PLAIN = /[\w.+-]+@[\w-]+\.[\w.]+|\(?\d{3}\)?[ -.]?\d{3}[ -.]\d{4}|\b\d{13,19}\b|\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
/** The same alternation, its branches named by entity (for scoring it on the eval sets). */
const PLAIN_NAMED =
  /(?<email>[\w.+-]+@[\w-]+\.[\w.]+)|(?<phone>\(?\d{3}\)?[ -.]?\d{3}[ -.]\d{4})|(?<payment_card>\b\d{13,19}\b)|(?<ip_address>\b\d{1,3}(?:\.\d{1,3}){3}\b)/g;

function regexSpans(text: string): Span[] {
  const out: Span[] = [];
  PLAIN_NAMED.lastIndex = 0;
  for (let m = PLAIN_NAMED.exec(text); m !== null; m = PLAIN_NAMED.exec(text)) {
    const entity = Object.entries(m.groups!).find(([, v]) => v !== undefined)![0];
    out.push({ entity, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** The peer, one redactor per entity it covers (it has no IP rule); each redacts to a sentinel whose places are its spans. */
const SENTINEL = '\u{E000}';
const PEER_RULES: readonly [string, 'PHONE' | 'EMAIL' | 'CREDIT_CARD' | 'SSN'][] = [
  ['phone', 'PHONE'],
  ['email', 'EMAIL'],
  ['payment_card', 'CREDIT_CARD'],
  ['us_ssn', 'SSN'],
];
const peerByEntity = PEER_RULES.map(
  ([entity, rule]) =>
    [
      entity,
      new Redactor({ rules: { PHONE: false, EMAIL: false, CREDIT_CARD: false, SSN: false, NAME: false, [rule]: true }, globalReplaceWith: SENTINEL }),
    ] as const,
);

function peerSpans(text: string): Span[] {
  const out: Span[] = [];
  for (const [entity, r] of peerByEntity) {
    const parts = r.redact(text).split(SENTINEL);
    // Text between sentinels is unchanged: each sentinel stands for what lies between its neighbours.
    let at = parts[0]!.length;
    for (let i = 1; i < parts.length; i++) {
      const next = parts[i]!;
      const found = next === '' ? (i === parts.length - 1 ? text.length : at + 1) : text.indexOf(next, at + 1);
      if (found < 0) break;
      out.push({ entity, start: at, end: found });
      at = found + next.length;
    }
  }
  return out;
}

/**
 * Calls `fn` with each block of whole lines of `file` (the last without its newline if the file ends
 * without one), read and decoded exactly as cordon's file scanner does (file-scan.ts): 1 MiB reads,
 * decoded 64 KiB at a time, as latin1 while every byte so far is ASCII, else as UTF-8. The baselines
 * are given the same strings cordon scans: with 1 MiB strings (large-object space: a major GC's work
 * and an mmap each to free) the peer spent more CPU in the kernel than cordon spent in all.
 */
async function eachBlock(file: string, fn: (text: string) => void): Promise<void> {
  let carry = '';
  let ascii = true;
  const decoder = new TextDecoder();
  for await (const chunk of createReadStream(file, { highWaterMark: DEFAULT_CHUNK_BYTES })) {
    const b = chunk as Buffer;
    for (let at = 0; at < b.length; at += DECODE_BYTES) {
      const piece = b.subarray(at, at + DECODE_BYTES);
      ascii &&= isAscii(piece);
      const text = carry + (ascii ? piece.toString('latin1') : decoder.decode(piece, { stream: true }));
      const cut = text.lastIndexOf('\n') + 1;
      carry = text.slice(cut);
      if (cut > 0) fn(text.slice(0, cut));
    }
  }
  const rest = carry + decoder.decode();
  if (rest !== '') fn(rest);
}

async function peerPass(files: readonly string[]): Promise<number> {
  const redactor = new Redactor();
  let changed = 0;
  for (const f of files)
    await eachBlock(f, (body) => {
      if (redactor.redact(body).length !== body.length) changed++;
    });
  return changed;
}

async function regexPass(files: readonly string[]): Promise<number> {
  let hits = 0;
  for (const f of files)
    await eachBlock(f, (body) => {
      PLAIN.lastIndex = 0;
      while (PLAIN.exec(body) !== null) hits++;
    });
  return hits;
}

const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-scan-'));
try {
  const t0 = performance.now();
  const files = generate(dir);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const genS = (performance.now() - t0) / 1000;

  // CPU seconds (all threads of this process) beside wall seconds: on a shared machine the wall
  // clock measures the other processes too; MB per CPU second is the per-core rate.
  const cpuS = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6;
  const tRegex = performance.now();
  const cRegex = process.cpuUsage();
  const hits = await regexPass(files);
  const regexCpuS = cpuS(process.cpuUsage(cRegex));
  const regexS = (performance.now() - tRegex) / 1000;

  const tPeer = performance.now();
  const cPeer = process.cpuUsage();
  const peerChunks = await peerPass(files);
  const peerCpuS = cpuS(process.cpuUsage(cPeer));
  const peerS = (performance.now() - tPeer) / 1000;

  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const single = await scanFiles(files, { threads: 1 });
  const singleCpuS = cpuS(process.cpuUsage(c1));
  const singleS = (performance.now() - t1) / 1000;

  const tN = performance.now();
  const cN = process.cpuUsage();
  const multi = await scanFiles(files, { threads: THREADS });
  const multiCpuS = cpuS(process.cpuUsage(cN));
  const multiS = (performance.now() - tN) / 1000;

  const count = (rs: typeof single): number => rs.reduce((n, r) => n + r.findings.length + r.dropped, 0);
  const mbs = (s: number): number => Math.round((bytes / 1e6 / s) * 10) / 10;
  const regexMbs = mbs(regexS);
  const singleMbs = mbs(singleS);
  const multiMbs = mbs(multiS);
  const perCore = Math.round((multiMbs / THREADS) * 10) / 10;
  const ratio = Math.round((singleMbs / regexMbs) * 100) / 100;
  const regexCpuMbs = mbs(regexCpuS);
  const singleCpuMbs = mbs(singleCpuS);
  const multiCpuMbs = mbs(multiCpuS);
  const ratioCpu = Math.round((singleCpuMbs / regexCpuMbs) * 100) / 100;
  const peerMbs = mbs(peerS);
  const peerCpuMbs = mbs(peerCpuS);
  // Per core: MB per CPU-second of cordon on one thread against each single-threaded pass.
  const ratioVsRegex = ratioCpu;
  const ratioVsPeer = Math.round((singleCpuMbs / peerCpuMbs) * 100) / 100;

  // F2 of each on the eval sets, over the entities the issue's targets name (phone, email, card, SSN, IP).
  const presidio = presidioDocs(true);
  const realistic = realisticDocs().docs;
  const f2 = (docs: readonly Doc[], preds: readonly (readonly Span[])[]): number => score(total(evaluate(docs, preds, CORE_ENTITIES).counts)).f2;
  const cordonPresidio = presidio.map((d) =>
    detect(d.text).flatMap((x) => (ENTITY_OF_DETECTOR[x.detector] ? [{ entity: ENTITY_OF_DETECTOR[x.detector]!, start: x.start, end: x.end }] : [])),
  );
  const quality = {
    cordon: { presidio: f2(presidio, cordonPresidio), realistic: f2(realistic, (await cordonOnRealistic(realistic)).preds) },
    regex: {
      presidio: f2(
        presidio,
        presidio.map((d) => regexSpans(d.text)),
      ),
      realistic: f2(
        realistic,
        realistic.map((d) => regexSpans(d.text)),
      ),
    },
    peer: {
      presidio: f2(
        presidio,
        presidio.map((d) => peerSpans(d.text)),
      ),
      realistic: f2(
        realistic,
        realistic.map((d) => peerSpans(d.text)),
      ),
    },
  };
  const line = (a: string, b: string, c: string, d: string, e = ''): string =>
    `${a.padEnd(34)} ${b.padStart(10)} ${c.padStart(10)} ${d.padStart(12)} ${e.padStart(14)}`;
  process.stdout.write(
    `corpus: ${files.length} files (CSV and NDJSON), ${(bytes / 1e6).toFixed(1)} MB, generated in ${genS.toFixed(1)} s; ${THREADS} thread(s)\n\n`,
  );
  process.stdout.write(`${line('pass', 'seconds', 'MB/s', 'matches', 'MB/CPU-second')}\n`);
  process.stdout.write(`${line('plain regex (1 thread, no checks)', regexS.toFixed(2), regexMbs.toFixed(1), String(hits), regexCpuMbs.toFixed(1))}\n`);
  process.stdout.write(`${line('@redactpii/node 1.0.17 (1 thread)', peerS.toFixed(2), peerMbs.toFixed(1), `${peerChunks} blocks`, peerCpuMbs.toFixed(1))}\n`);
  process.stdout.write(`${line('cordon scan, 1 thread', singleS.toFixed(2), singleMbs.toFixed(1), String(count(single)), singleCpuMbs.toFixed(1))}\n`);
  process.stdout.write(`${line(`cordon scan, ${THREADS} threads`, multiS.toFixed(2), multiMbs.toFixed(1), String(count(multi)), multiCpuMbs.toFixed(1))}\n`);
  process.stdout.write(
    `\ncordon per core: ${perCore} MB/s wall, ${multiCpuMbs} MB per CPU-second; per core, cordon / plain regex: ${ratioVsRegex}x (goal >= 1.0), cordon / @redactpii/node: ${ratioVsPeer}x (goal >= 5)\n`,
  );
  process.stdout.write(`\nF2 over phone, email, card, SSN and IP, default settings   ${'Presidio held-out'.padStart(18)} ${'realistic'.padStart(10)}\n`);
  for (const [name, q] of [
    ['cordon', quality.cordon],
    ['plain regex', quality.regex],
    ['@redactpii/node (no IP rule)', quality.peer],
  ] as const)
    process.stdout.write(`${name.padEnd(58)} ${q.presidio.toFixed(3).padStart(18)} ${q.realistic.toFixed(3).padStart(10)}\n`);
  process.stdout.write(
    `${JSON.stringify({ bench: 'scan', mb: Math.round(bytes / 1e5) / 10, files: files.length, threads: THREADS, regexMBps: regexMbs, cordonMBps1: singleMbs, cordonMBps: multiMbs, cordonMBpsPerCore: perCore, ratioVsRegexWall: ratio, regexMBpsCpu: regexCpuMbs, peer: '@redactpii/node@1.0.17', peerMBps: peerMbs, peerMBpsCpu: peerCpuMbs, cordonMBpsCpu1: singleCpuMbs, cordonMBpsPerCpuSecond: multiCpuMbs, ratioVsRegex, ratioVsPeer, f2: quality, findings: count(multi) })}\n`,
  );
} finally {
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`corpus kept in ${dir}\n`);
}
