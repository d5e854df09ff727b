// `cordon report --from --to [--format html|json]`: the oversight report for a period, made by the
// server from the access log's records (for auditors and approvers) and signed with the log's key.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { canonicalJson, parseVerifierKey, verifyNote, NoteError } from '../log/index.js';
import { call, credentials, Refused, withServerOptions, type ServerOpts } from './access.js';
import { readKeyArg } from './log.js';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, UsageError, fetchOrUnreachable, throwIfUnavailable } from './output.js';

/**
 * Why a signed report does not verify against the log's key, or undefined when it does: the note
 * must be signed by the key and say exactly what the server signs (src/server/report.ts
 * signReport), with the SHA-256 of the report's canonical JSON as received.
 */
function reportSignatureProblem(signed: Record<string, unknown>, vkey: string): string | undefined {
  const report = signed['report'] as { log?: { origin?: unknown }; from?: unknown; to?: unknown } | undefined;
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
  const expected = `cordon oversight report v1\n${String(report.log?.origin)}\n${String(report.from)} ${String(report.to)}\nsha256 ${sha256}\n`;
  return text === expected ? undefined : 'the signature does not cover this report (its SHA-256, period or origin differ)';
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
    .action(async (o: ServerOpts & { from?: string; to?: string; format: string; out?: string; vkey?: string }) => {
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
