// `cordon report --from --to [--format html|json]`: the oversight report for a period, made by the
// server from the access log's records (for auditors and approvers) and signed with the log's key.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import {
  canonicalJson,
  checkRecords,
  figureDifferences,
  figuresSha256,
  parseVerifierKey,
  snapshotSha256,
  tallyPeriod,
  verifyLog,
  verifyNote,
  NoteError,
  type Figure,
  type PeriodTally,
} from '../log/index.js';
import { call, credentials, Refused, withServerOptions, type ServerOpts } from './access.js';
import { exitOfProblem, readKeyArg } from './log.js';
import { EXIT_FINDING, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, UsageError, fetchOrUnreachable, printJson, throwIfUnavailable } from './output.js';

/**
 * Why a signed report does not verify against the log's key, or undefined when it does: the note
 * must be signed by the key and say exactly what the server signs (src/server/report.ts
 * signReport), with the SHA-256 of the report's canonical JSON as received.
 */
function reportSignatureProblem(signed: Record<string, unknown>, vkey: string): string | undefined {
  const report = signed['report'] as { v?: unknown; log?: { origin?: unknown }; from?: unknown; to?: unknown } | undefined;
  if (typeof signed['signature'] !== 'string' || report === null || typeof report !== 'object') return 'the answer holds no signed report';
  let text: string;
  try {
    text = verifyNote(signed['signature'], [parseVerifierKey(vkey)]).text;
  } catch (err) {
    if (err instanceof NoteError) return `${err.code}: ${err.message}`;
    throw err;
  }
  let sha256: string;
  try {
    sha256 = createHash('sha256').update(canonicalJson(report)).digest('hex');
  } catch {
    return 'the report holds a value the signed form cannot (not canonical JSON)';
  }
  const expected = `cordon oversight report v${String(report.v)}\n${String(report.log?.origin)}\n${String(report.from)} ${String(report.to)}\nsha256 ${sha256}\n`;
  return text === expected ? undefined : 'the signature does not cover this report (its SHA-256, period or origin differ)';
}

/** The members of a signed report (src/server/report.ts OversightReport, version 2) that --verify reads. */
interface OversightReport extends Pick<PeriodTally, 'access' | 'refused' | 'grants' | 'writes' | 'statements'> {
  readonly v: number;
  readonly from: string;
  readonly to: string;
  readonly generatedAt: string;
  readonly generatedFor: string;
  readonly policyVersion: string;
  readonly figures: readonly Figure[];
  readonly teams: Readonly<Record<string, string>>;
  readonly standing: readonly unknown[];
  readonly leaks: readonly unknown[];
  readonly violations: { readonly count: number };
  readonly snapshot: { readonly record: number; readonly sha256: string };
  readonly log: { readonly checkpointSize: number; readonly root: string; readonly recordsInPeriod: number; readonly range: PeriodTally['range'] };
}

/** What `cordon report --verify` found: each line a figure or part the log does not back. */
interface ReportCheck {
  readonly ok: boolean;
  readonly figures: number;
  readonly checkpointSize: number;
  readonly logSize: number;
  readonly range: { readonly first: number | null; readonly last: number | null };
  readonly snapshotRecord: number;
  readonly problems: readonly string[];
  /** The log could not be read (no answer, a 5xx): the exit code says so, not a finding. */
  readonly unreachable?: string;
}

/**
 * Recomputes a signed report's figures from the log as an auditor: the log's tree is verified
 * against its signed checkpoint, every record is checked against its entry, the report's checkpoint
 * is a prefix of that tree, every figure (and the grants, writes and statements behind them) comes
 * out of the records the same, and the report's own record commits to its figures and snapshot.
 */
async function verifyReport(o: ServerOpts, report: OversightReport, vkey: string, url: string, progress: boolean): Promise<ReportCheck> {
  const problems: string[] = [];
  const log = await verifyLog({
    url,
    vkey,
    onProgress: progress ? (done, total) => process.stderr.write(`\rverifying the log: ${done}/${total} entries`) : undefined,
  });
  if (progress) process.stderr.write('\n');
  const base = {
    figures: report.figures?.length ?? 0,
    checkpointSize: report.log.checkpointSize,
    range: report.log.range,
    snapshotRecord: report.snapshot?.record,
  };
  const down = log.problems.find((p) => exitOfProblem(p) === EXIT_UNAVAILABLE);
  if (down !== undefined) return { ok: false, ...base, logSize: 0, problems: [], unreachable: down.message };
  if (!log.ok || log.entries === undefined || log.tree === undefined)
    return { ok: false, ...base, logSize: log.size ?? 0, problems: log.problems.map((p) => `the log does not verify: ${p.kind}: ${p.message}`) };
  const size = log.entries.length;
  const cpSize = report.log.checkpointSize;
  if (!Number.isInteger(cpSize) || cpSize > size) problems.push(`the report counts a checkpoint of ${cpSize} entries; the log's verified tree has ${size}`);
  else if (log.tree.root(cpSize).toString('base64') !== report.log.root)
    problems.push(`the report's checkpoint root ${report.log.root} is not the root of the log's first ${cpSize} entries`);
  const records = new Map<number, unknown>();
  const checked = await checkRecords({
    url,
    token: '',
    entries: log.entries,
    fetch: (u, init) => fetch(u, { ...init, headers: credentials(o) }),
    onRecord: (index, record) => records.set(index, record),
  });
  for (const m of checked.mismatches) problems.push(`log record ${m.index} does not match its entry: ${m.message}`);
  if (problems.length > 0) return { ok: false, ...base, logSize: size, problems };
  const tally = tallyPeriod(
    [...records].map(([index, record]) => ({ index, record })),
    { from: new Date(report.from), to: new Date(report.to), size: cpSize, now: new Date(report.generatedAt), teamOf: (p) => report.teams[p] },
  );
  problems.push(...figureDifferences(report.figures, tally.figures));
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  const parts: [string, unknown, unknown][] = [
    ['access', report.access, tally.access],
    ['refused', report.refused, tally.refused],
    ['grants', report.grants, tally.grants],
    ['writes', report.writes, tally.writes],
    ['statements', report.statements, tally.statements],
    ['the log range of the period', report.log.range, tally.range],
    ['the records in the period', report.log.recordsInPeriod, tally.recordsInPeriod],
  ];
  for (const [name, stated, found] of parts) if (!same(stated, found)) problems.push(`${name}: the report's differs from what the log's records give`);
  const own = records.get(report.snapshot.record) as Record<string, unknown> | undefined;
  const expected: Record<string, unknown> = {
    type: 'report',
    v: 2,
    principal: report.generatedFor,
    from: report.from,
    to: report.to,
    policyVersion: report.policyVersion,
    checkpointSize: cpSize,
    figures: figuresSha256(report.figures),
    snapshot: snapshotSha256(report),
    standing: report.standing.length,
    leaks: report.leaks.length,
    violations: report.violations.count,
  };
  if (own === undefined) problems.push(`the report's own record, log entry ${report.snapshot.record}, is not in the verified log (${size} entries)`);
  else
    for (const [k, v] of Object.entries(expected))
      if (own[k] !== v)
        problems.push(
          `log entry ${report.snapshot.record} (the report's own record): ${k} is ${JSON.stringify(own[k])}, the report implies ${JSON.stringify(v)}`,
        );
  if (report.snapshot.sha256 !== expected['snapshot'])
    problems.push("snapshot.sha256 is not the SHA-256 of the report's standing flags, leak paths, violations and teams");
  return { ok: problems.length === 0, ...base, logSize: size, problems };
}

export function reportCommand(): Command {
  return withServerOptions(
    new Command('report').description(
      'the oversight report for a period: access by reason, outcome, country and team; grants and break-glass with review status; refused attempts; migration statements; the checkpoint it covers',
    ),
  )
    .option('--from <date>', 'start of the period (ISO date or time; default: 30 days before --to)')
    .option('--to <date>', 'end of the period, exclusive (default: now)')
    .option('--format <format>', 'json (signed with the log key) or html (one self-contained page)', 'html')
    .option('--out <file>', 'write the report here instead of stdout')
    .option(
      '--vkey <key>',
      "with --format json: check the report's signature against the log's verifier key, or a file holding it (exit 1 if it does not verify)",
    )
    .option(
      '--verify [file]',
      'recompute every figure of a signed JSON report (this file, or one fetched now for --from/--to) from the verified log as an auditor; needs --vkey (exit 1 when a figure is not backed)',
    )
    .action(async (o: ServerOpts & { from?: string; to?: string; format: string; out?: string; vkey?: string; verify?: string | true }) => {
      if (o.verify !== undefined) {
        await verifyCommand(o);
        return;
      }
      if (o.json) o.format = 'json';
      if (o.format !== 'json' && o.format !== 'html') throw new UsageError(`--format must be json or html, got ${JSON.stringify(o.format)}`);
      if (o.vkey !== undefined && o.format !== 'json') throw new UsageError('--vkey checks the signature of --format json; the HTML report is not signed');
      // The key is read before the server is asked, so a bad key asks nothing.
      const vkey = o.vkey === undefined ? undefined : readKeyArg(o.vkey, '--vkey');
      const q = new URLSearchParams({ format: 'json' });
      if (o.from) q.set('from', o.from);
      if (o.to) q.set('to', o.to);
      let text: string;
      try {
        if (o.format === 'json') {
          const signed = await call(o, 'GET', `/v1/report?${q}`);
          if (vkey !== undefined) {
            const problem = reportSignatureProblem(signed, vkey);
            if (problem !== undefined) {
              process.stderr.write(`cordon: the report does not verify against --vkey: ${problem}\n`);
              process.exitCode = EXIT_FINDING;
              return;
            }
          }
          text = `${JSON.stringify(signed, null, 2)}\n`;
        } else {
          q.set('format', 'html');
          let url: string;
          try {
            url = `${new URL(o.url).href.replace(/\/+$/, '')}/v1/report?${q}`;
          } catch {
            throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(o.url)}`);
          }
          const res = await fetchOrUnreachable(url, { headers: credentials(o) });
          await throwIfUnavailable(res, url);
          if (!res.ok) throw new Refused(res.status, (await res.json().catch(() => ({}))) as Record<string, unknown>);
          text = await res.text();
        }
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        process.stderr.write(`cordon: ${String(err.body['code'] ?? err.status)}: ${err.message}\n`);
        process.exitCode = err.status === 400 ? EXIT_USAGE : EXIT_FINDING;
        return;
      }
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
      process.exitCode = EXIT_OK;
    });
}

/** `cordon report --verify [file]`. */
async function verifyCommand(o: ServerOpts & { from?: string; to?: string; out?: string; vkey?: string; verify?: string | true }): Promise<void> {
  if (o.vkey === undefined) throw new UsageError("--verify needs --vkey: the log's verifier key, or a file holding it (e.g. .cordon/demo/log.vkey)");
  if (o.out !== undefined) throw new UsageError('--verify prints its verdict; --out is for writing a report');
  const vkey = readKeyArg(o.vkey, '--vkey');
  let url: string;
  try {
    url = new URL(o.url).href.replace(/\/+$/, '');
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(o.url)}`);
  }
  let signed: Record<string, unknown>;
  if (typeof o.verify === 'string') {
    if (o.from !== undefined || o.to !== undefined) throw new UsageError('--verify FILE checks the period the file states; leave out --from and --to');
    let text: string;
    try {
      text = readFileSync(o.verify, 'utf8');
    } catch (err) {
      throw new UsageError(`--verify ${o.verify}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      signed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new UsageError(`--verify ${o.verify}: not JSON (save a report with cordon report --format json --out FILE)`);
    }
  } else {
    const q = new URLSearchParams({ format: 'json' });
    if (o.from) q.set('from', o.from);
    if (o.to) q.set('to', o.to);
    try {
      signed = await call(o, 'GET', `/v1/report?${q}`);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      process.stderr.write(`cordon: ${String(err.body['code'] ?? err.status)}: ${err.message}\n`);
      process.exitCode = err.status === 400 ? EXIT_USAGE : EXIT_FINDING;
      return;
    }
  }
  const report = signed['report'] as OversightReport | undefined;
  const signatureProblem = signed === null || typeof signed !== 'object' ? 'not a signed report' : reportSignatureProblem(signed, vkey);
  if (signatureProblem !== undefined || report === undefined) {
    process.stderr.write(`cordon: the report does not verify against --vkey: ${signatureProblem ?? 'no report'}\n`);
    process.exitCode = EXIT_FINDING;
    return;
  }
  if (report.v !== 2 || !Array.isArray(report.figures))
    throw new UsageError(`the report is of version ${JSON.stringify(report.v)}; --verify recomputes version 2 reports (with figures and their log ranges)`);
  let check: ReportCheck;
  try {
    check = await verifyReport(o, report, vkey, url, process.stderr.isTTY === true && !o.json);
  } catch (err) {
    if (!(err instanceof Error) || !/^reading records/.test(err.message)) throw err;
    process.stderr.write(`cordon: reading the log's records was refused (an auditor's token is needed): ${err.message}\n`);
    process.exitCode = EXIT_FINDING;
    return;
  }
  if (check.unreachable !== undefined) {
    process.stderr.write(`cordon: cannot verify the report against ${url}: ${check.unreachable}\n`);
    process.exitCode = EXIT_UNAVAILABLE;
    return;
  }
  if (o.json) printJson(check);
  else if (check.ok) {
    const r = check.range.first === null ? 'no entries in the period' : `entries ${check.range.first}–${check.range.last}`;
    process.stdout.write(
      `report verified: ${check.figures} figures recomputed from the log (${r} of a checkpoint of ${check.checkpointSize}; the log verified at ${check.logSize} entries); standing flags, leak paths and violations committed by entry ${check.snapshotRecord}\n`,
    );
  } else {
    process.stdout.write(`report NOT verified: ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'}\n`);
    for (const p of check.problems) process.stdout.write(`  ${p}\n`);
  }
  process.exitCode = check.ok ? EXIT_OK : EXIT_FINDING;
}
