// `cordon flows ingest | leaks | impact`: send lineage to a server, list leak paths offline from a
// policy's lineage and inventory, and compare the leak paths of two policies.

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { checkPolicy, formatIssue, type Policy } from '../policy/index.js';
import {
  checkEvents,
  compareLeaks,
  flowImpact,
  flowMap,
  flowMapJson,
  BackdoorFinder,
  formatBackdoors,
  formatLeaks,
  hasFindings,
  leaksSarif,
  leaksUnder,
  leakTitle,
  loadFlowSources,
  readEvents,
  type Backdoor,
  type FinderHealth,
  type FlowAnalysis,
  type FlowImpact,
  type Leak,
  type PossiblyProtected,
  type SourcedEvent,
  type Unconventional,
} from '../flows/index.js';
import { call, Refused, type ServerOpts } from './access.js';
import { DEFAULT_DATA_DIR } from './defaults.js';
import { storeOverrides } from './stores.js';
import { EXIT_FINDING, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, UsageError, fetchOrUnreachable, mustRead, printJson, throwIfUnavailable } from './output.js';

const BATCH = 500;

function policyAt(dir: string): Policy {
  mustRead(dir, 'policy directory');
  const { policy, issues } = checkPolicy(dir);
  if (!policy) throw new UsageError(`policy ${dir} is invalid:\n${issues.map(formatIssue).join('\n')}`);
  return policy;
}

/** Runs the server calls; a refusal (403: not an auditor or approver) is printed and exits 1 (400: 2), and gives undefined. */
async function fromServer<T>(opts: ServerOpts, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    if (opts.json) printJson(err.body);
    else process.stderr.write(`cordon: ${String(err.body['code'] ?? 'error')}: ${err.message}\n`);
    process.exitCode = err.status === 400 ? EXIT_USAGE : EXIT_FINDING;
    return undefined;
  }
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
    .description(
      'every path by which protected data leaves its enclave or reaches a team the rules do not allow, and columns that may be protected but map to no catalog dataset (exit 1 when any)',
    )
    .option('--policy <dir>', 'policy directory (its cordon.yaml flows: names the lineage and inventory files)')
    .option('--url <url>', "a running server's flow map instead: its policy's files and every event posted to it (for auditors and approvers)")
    .option('--token <jwt>', 'bearer token for --url (default: $CORDON_TOKEN)')
    .option('--as <persona>', 'demo: act as this persona (with --url)')
    .option('--data-dir <dir>', 'demo data directory (with --as)', DEFAULT_DATA_DIR)
    .option('--forwarded-for <address>', 'send X-Forwarded-For (with --url)')
    .option('--json', 'print the analysis as JSON')
    .option('--sarif <file>', 'also write the leaks as SARIF 2.1.0')
    .option(
      '--audit-log <store=csvlog>',
      "read this PostgreSQL csvlog (with pgaudit's lines) as the store's audit trail, instead of cordon.yaml flows.audit (repeatable; with --policy)",
      collect,
      [],
    )
    .option('--store <name=url>', "where a store really is (its URL's user is cordon's own role there; repeatable; with --policy)", collect, [])
    .action(async (o: Partial<ServerOpts> & { policy?: string; json?: boolean; sarif?: string; dataDir: string; auditLog: string[]; store: string[] }) => {
      if ((o.policy === undefined) === (o.url === undefined)) throw new UsageError('give --policy DIR (offline) or --url URL (a running server)');
      if (o.url !== undefined && (o.auditLog.length > 0 || o.store.length > 0))
        throw new UsageError('--audit-log and --store go with --policy; a server reads the audit trails cordon.yaml names');
      let json: Record<string, unknown>;
      let text: string;
      let findings: boolean;
      let audit: { backdoors: readonly Backdoor[]; health: FinderHealth } | undefined;
      if (o.policy !== undefined) {
        const policy = policyAt(o.policy);
        const sources = loadFlowSources(policy);
        const map = flowMap(policy, sources.events, sources.inventory);
        audit = await findBackdoorsOnce(policy, o.auditLog, o.store);
        json = { ...flowMapJson(map), ...(audit ? { backdoors: audit.backdoors, audit: audit.health } : {}) };
        text = formatLeaks(map.analysis, { possiblyProtected: map.possiblyProtected, unconventional: map.unconventional, runs: map.graph.runs.size });
        findings = hasFindings(map);
      } else {
        const fetched = await fromServer(o as ServerOpts, () => call(o as ServerOpts, 'GET', '/v1/flows/leaks'));
        if (!fetched) return;
        json = fetched;
        const a = fetched as unknown as FlowAnalysis & {
          possiblyProtected: PossiblyProtected[];
          unconventional: Unconventional[];
          stats: { runs?: number };
          backdoors?: Backdoor[];
          audit?: FinderHealth;
        };
        text = formatLeaks(a, { possiblyProtected: a.possiblyProtected, unconventional: a.unconventional, runs: a.stats.runs });
        findings = a.leaks.length > 0 || a.possiblyProtected.length > 0;
        if (a.backdoors !== undefined && a.audit !== undefined) audit = { backdoors: a.backdoors, health: a.audit };
      }
      if (audit) text += `\n${formatBackdoors(audit.backdoors, audit.health)}`;
      if (o.sarif) writeFileSync(o.sarif, `${JSON.stringify(leaksSarif(json as unknown as FlowAnalysis), null, 2)}\n`);
      if (o.json) printJson(json);
      else process.stdout.write(`${text}\n`);
      process.exitCode = findings || (audit?.backdoors.length ?? 0) > 0 ? EXIT_FINDING : audit && !audit.health.ok ? EXIT_UNAVAILABLE : EXIT_OK;
    });

  cmd
    .command('impact')
    .description('leak paths that appear and disappear under a new policy (exit 1 when any appear)')
    .option('--policy <dir>', 'the current policy')
    .option(
      '--url <url>',
      "a running server instead: its flow map now, against the new policy's files plus every event posted to it (for auditors and approvers)",
    )
    .option('--token <jwt>', 'bearer token for --url (default: $CORDON_TOKEN)')
    .option('--as <persona>', 'demo: act as this persona (with --url)')
    .option('--data-dir <dir>', 'demo data directory (with --as)', DEFAULT_DATA_DIR)
    .option('--forwarded-for <address>', 'send X-Forwarded-For (with --url)')
    .requiredOption('--new-policy <dir>', 'the proposed policy')
    .option('--json', 'print as JSON')
    .action(async (o: Partial<ServerOpts> & { policy?: string; newPolicy: string; json?: boolean; dataDir: string }) => {
      if ((o.policy === undefined) === (o.url === undefined)) throw new UsageError('give --policy DIR (offline) or --url URL (a running server)');
      const newPolicy = policyAt(o.newPolicy);
      let impact: FlowImpact;
      if (o.policy !== undefined) impact = flowImpact(policyAt(o.policy), newPolicy);
      else {
        const so = o as ServerOpts;
        const fetched = await fromServer(so, async () => {
          const now = await call(so, 'GET', '/v1/flows/leaks');
          const posted: SourcedEvent[] = [];
          for (let after = 0; ; ) {
            const page = await call(so, 'GET', `/v1/flows/events?after=${after}&limit=5000`);
            for (const e of page['events'] as { index: number; event: unknown }[]) posted.push({ source: `api#${e.index}`, event: e.event });
            if (page['next'] === null) break;
            after = page['next'] as number;
          }
          return { now, posted };
        });
        if (!fetched) return;
        impact = compareLeaks((fetched.now['leaks'] as Leak[]) ?? [], leaksUnder(newPolicy, fetched.posted));
      }
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
      let stored = 0;
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
          const answer = (await res.json().catch(() => ({}))) as { stored?: number; duplicates?: number };
          sent += batch.length;
          stored += answer.stored ?? batch.length;
          if (tty) process.stderr.write(`\ringested ${sent}/${events.length} events (${Math.round(sent / Math.max(0.001, (Date.now() - started) / 1000))}/s)`);
        }
        if (tty) process.stderr.write('\n');
      }
      if (o.json) printJson({ events: events.length, valid: events.length, sent, stored });
      else
        process.stdout.write(
          `${events.length} event(s) valid${o.check ? '' : `, ${stored} stored${sent > stored ? `, ${sent - stored} already stored` : ''}`}\n`,
        );
      process.exitCode = EXIT_OK;
    });
  return cmd;
}
