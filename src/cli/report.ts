// `cordon report --from --to [--format html|json]`: the oversight report for a period, made by the
// server from the access log's records (for auditors and approvers) and signed with the log's key.

import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { parseVerifierKey, verifyNote } from '../log/index.js';
import { call, credentials, Refused, withServerOptions, type ServerOpts } from './access.js';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, UsageError } from './output.js';

export function reportCommand(): Command {
  return withServerOptions(new Command('report').description('the oversight report for a period: access by reason, outcome, country and team; grants and break-glass with review status; refused attempts; migration statements; the checkpoint it covers'))
    .option('--from <date>', 'start of the period (ISO date or time; default: 30 days before --to)')
    .option('--to <date>', 'end of the period, exclusive (default: now)')
    .option('--format <format>', 'json (signed with the log key) or html (one self-contained page)', 'html')
    .option('--out <file>', 'write the report here instead of stdout')
    .option('--vkey <key>', "with --format json: check the report's signature against the log's verifier key")
    .action(async (o: ServerOpts & { from?: string; to?: string; format: string; out?: string; vkey?: string }) => {
      if (o.json) o.format = 'json';
      if (o.format !== 'json' && o.format !== 'html') throw new UsageError(`--format must be json or html, got ${JSON.stringify(o.format)}`);
      const q = new URLSearchParams({ format: 'json' });
      if (o.from) q.set('from', o.from);
      if (o.to) q.set('to', o.to);
      let text: string;
      try {
        if (o.format === 'json') {
          const signed = await call(o, 'GET', `/v1/report?${q}`);
          if (o.vkey) {
            const note = String(signed['signature']);
            verifyNote(note, [parseVerifierKey(o.vkey)]);
            if (!note.includes(`sha256 ${String(signed['sha256'])}\n`)) throw new UsageError('the signature does not cover this report');
          }
          text = `${JSON.stringify(signed, null, 2)}\n`;
        } else {
          q.set('format', 'html');
          const res = await fetch(`${new URL(o.url).href.replace(/\/+$/, '')}/v1/report?${q}`, { headers: credentials(o) });
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
