// `cordon flows ingest | leaks | impact`: send lineage to a server, list leak paths offline from a
// policy's lineage and inventory, and compare the leak paths of two policies.

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { checkPolicy, formatIssue, type Policy } from '../policy/index.js';
import {
  analyzeFlows,
  BackdoorFinder,
  buildGraph,
  formatBackdoors,
  checkEvents,
  formatLeaks,
  flowImpact,
  leaksSarif,
  leakTitle,
  loadFlowSources,
  readEvents,
} from '../flows/index.js';
import { storeOverrides } from './stores.js';
import { EXIT_FINDING, EXIT_OK, EXIT_UNAVAILABLE, UsageError, fetchOrUnreachable, mustRead, printJson, throwIfUnavailable } from './output.js';

const BATCH = 500;

function policyAt(dir: string): Policy {
  mustRead(dir, 'policy directory');
  const { policy, issues } = checkPolicy(dir);
  if (!policy) throw new UsageError(`policy ${dir} is invalid:\n${issues.map(formatIssue).join('\n')}`);
  return policy;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** One poll of every audited store's trail (cordon.yaml flows.audit, or --audit-log); undefined when none is configured. */
async function findBackdoorsOnce(policy: Policy, auditLogs: readonly string[], stores: readonly string[]) {
  const csvlogs = new Map<string, string>();
  for (const kv of auditLogs) {
    const eq = kv.indexOf('=');
    const store = kv.slice(0, eq);
    const enclaveStores = [...policy.deployment.enclaves.values()].map((e) => e.store);
    if (eq <= 0 || eq === kv.length - 1 || !enclaveStores.includes(store))
      throw new UsageError(
        `--audit-log must be STORE=CSVLOG with STORE an enclave store of cordon.yaml (${enclaveStores.join(', ')}), got ${JSON.stringify(kv)}`,
      );
    csvlogs.set(store, resolve(kv.slice(eq + 1)));
  }
  const finder = new BackdoorFinder(policy, { storeUrls: new Map(Object.entries(storeOverrides(policy, stores))), csvlogs });
  if (!finder.configured) return undefined;
  await finder.poll();
  return { backdoors: finder.backdoors(), health: finder.health() };
}

export function flowsCommand(): Command {
  const cmd = new Command('flows').description('the flow map: lineage intake, leak paths of protected data, and the impact of a policy change');

  cmd
    .command('leaks')
    .description('every path by which protected data leaves its enclave or reaches a team the rules do not allow (exit 1 when any)')
    .requiredOption('--policy <dir>', 'policy directory (its cordon.yaml flows: names the lineage and inventory files)')
    .option('--json', 'print the analysis as JSON')
    .option('--sarif <file>', 'also write the leaks as SARIF 2.1.0')
    .option(
      '--audit-log <store=csvlog>',
      "read this PostgreSQL csvlog (with pgaudit's lines) as the store's audit trail, instead of cordon.yaml flows.audit (repeatable)",
      collect,
      [],
    )
    .option('--store <name=url>', "where a store really is (its URL's user is cordon's own role there; repeatable)", collect, [])
    .action(async (o: { policy: string; json?: boolean; sarif?: string; auditLog: string[]; store: string[] }) => {
      const policy = policyAt(o.policy);
      const sources = loadFlowSources(policy);
      const analysis = analyzeFlows(policy, buildGraph(sources.events), sources.inventory);
      const audit = await findBackdoorsOnce(policy, o.auditLog, o.store);
      if (o.sarif) writeFileSync(o.sarif, `${JSON.stringify(leaksSarif(analysis), null, 2)}\n`);
      if (o.json)
        printJson({
          leaks: analysis.leaks,
          undocumented: analysis.undocumented,
          unknownPlaces: analysis.unknownPlaces,
          dangling: analysis.dangling,
          stats: analysis.stats,
          ...(audit ? { backdoors: audit.backdoors, audit: audit.health } : {}),
        });
      else process.stdout.write(`${formatLeaks(analysis)}\n${audit ? `${formatBackdoors(audit.backdoors, audit.health)}\n` : ''}`);
      const found = analysis.leaks.length > 0 || (audit?.backdoors.length ?? 0) > 0;
      process.exitCode = found ? EXIT_FINDING : audit && !audit.health.ok ? EXIT_UNAVAILABLE : EXIT_OK;
    });

  cmd
    .command('impact')
    .description('leak paths that appear and disappear under a new policy (exit 1 when any appear)')
    .requiredOption('--policy <dir>', 'the current policy')
    .requiredOption('--new-policy <dir>', 'the proposed policy')
    .option('--json', 'print as JSON')
    .action((o: { policy: string; newPolicy: string; json?: boolean }) => {
      const impact = flowImpact(policyAt(o.policy), policyAt(o.newPolicy));
      if (o.json) printJson(impact);
      else {
        const lines = [...impact.appear.map((l) => `+ ${leakTitle(l)}`), ...impact.disappear.map((l) => `- ${leakTitle(l)}`)];
        lines.push(`${impact.appear.length} leak path(s) appear, ${impact.disappear.length} disappear, ${impact.unchanged} unchanged`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      process.exitCode = impact.appear.length > 0 ? EXIT_FINDING : EXIT_OK;
    });

  cmd
    .command('ingest')
    .description('validate OpenLineage events (JSON or NDJSON files, or folders) and post them to a server; nothing is sent unless every event is valid')
    .argument('<paths...>', 'files or folders')
    .option('--url <url>', 'the cordon server', process.env['CORDON_URL'] ?? 'http://127.0.0.1:7070')
    .option('--token <jwt>', 'bearer token of a lineage producer (cordon.yaml flows.producers; default: $CORDON_TOKEN)')
    .option('--check', 'only validate, send nothing')
    .option('--json', 'print the counts as JSON')
    .action(async (paths: string[], o: { url: string; token?: string; check?: boolean; json?: boolean }) => {
      for (const p of paths) mustRead(p, 'lineage');
      const events = readEvents(paths);
      checkEvents(events);
      let sent = 0;
      const tty = process.stderr.isTTY && !o.json;
      const started = Date.now();
      if (!o.check) {
        const token = o.token ?? process.env['CORDON_TOKEN'];
        if (!token) throw new UsageError('give --token JWT (or set CORDON_TOKEN), or --check to only validate');
        for (let i = 0; i < events.length; i += BATCH) {
          const batch = events.slice(i, i + BATCH).map((e) => e.event);
          const url = `${o.url.replace(/\/+$/, '')}/api/v1/lineage`;
          const res = await fetchOrUnreachable(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(batch),
          });
          await throwIfUnavailable(res, url);
          if (!res.ok) {
            const body = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
            process.stderr.write(`cordon: ${body.code ?? res.status}: ${body.detail ?? ''} (after ${sent} events were stored)\n`);
            process.exitCode = EXIT_FINDING;
            return;
          }
          sent += batch.length;
          if (tty) process.stderr.write(`\ringested ${sent}/${events.length} events (${Math.round(sent / Math.max(0.001, (Date.now() - started) / 1000))}/s)`);
        }
        if (tty) process.stderr.write('\n');
      }
      if (o.json) printJson({ events: events.length, valid: events.length, sent });
      else process.stdout.write(`${events.length} event(s) valid${o.check ? '' : `, ${sent} stored`}\n`);
      process.exitCode = EXIT_OK;
    });
  return cmd;
}
