// `cordon policy check | explain | diff | schema`.

import { Command, Option } from 'commander';
import {
  cedarSchemaText,
  checkPolicy,
  createDecider,
  diffPolicies,
  explain,
  formatIssue,
  generateCedarSchema,
  type Policy,
  type EngineName,
} from '../policy/index.js';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, UsageError, mustRead, printJson, table } from './output.js';

/** The policy in `dir`: a folder that cannot be read is Unreachable (exit 3), an invalid policy a UsageError (2). */
function loadOrExplain(dir: string): Policy {
  mustRead(dir, 'policy directory');
  const { policy, issues } = checkPolicy(dir);
  if (!policy) {
    throw new UsageError(`policy ${dir} is invalid (run cordon policy check ${dir}):\n${issues.map(formatIssue).join('\n')}`);
  }
  return policy;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function policyCommand(): Command {
  const cmd = new Command('policy').description('check, explain and compare policies (classification, classes, directory, Cedar rules)');

  cmd
    .command('check')
    .description('validate a policy directory; every error as file:line:col code message (exit 0 valid, warnings included; 2 invalid; 3 unreadable)')
    .argument('<dir>', 'policy directory (holds cordon.yaml)')
    .option('--json', 'print the result as JSON')
    .action((dir: string, opts: { json?: boolean }) => {
      mustRead(dir, 'policy directory');
      const { policy, issues } = checkPolicy(dir);
      const errors = issues.filter((i) => i.severity === 'error');
      if (opts.json) {
        printJson({ valid: policy !== undefined, dir, policyVersion: policy?.versionHash, errors, warnings: issues.filter((i) => i.severity === 'warning') });
      } else {
        for (const i of issues) process.stdout.write(`${formatIssue(i)}\n`);
        if (policy) {
          const fields = [...policy.datasets.values()].reduce((n, d) => n + d.fields.size, 0);
          process.stdout.write(
            `${dir}: valid — ${policy.datasets.size} datasets, ${fields} fields, ${policy.deployment.jurisdictions.size} jurisdictions, ` +
              `${policy.directory.principals.size} principals, ${policy.rules.length} rules (version ${policy.versionHash.slice(0, 12)})\n`,
          );
        } else {
          process.stdout.write(`${dir}: invalid — ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was loaded\n`);
        }
      }
      process.exitCode = policy ? EXIT_OK : EXIT_USAGE;
    });

  cmd
    .command('explain')
    .description('the decision for one principal, action and field, and why (rules, class, category)')
    .requiredOption('--policy <dir>', 'policy directory')
    .requiredOption('--principal <id>', 'principal id from the directory')
    .requiredOption('--field <dataset.field>', 'the field, e.g. users.phone_number')
    .requiredOption('--jurisdiction <name>', "the data subject's jurisdiction, e.g. US")
    .addOption(new Option('--action <action>', 'read or write').choices(['read', 'write']).default('read'))
    .option('--country <cc>', "request country (default: the principal's work country)")
    .option('--site <site>', "request site (default: the principal's site)")
    .option('--grant', 'with an active grant that covers the field')
    .option('--reason <code>', 'reason code in the context')
    .option('--row <field=value>', 'a value of the row, for row-dependent categories (repeatable)', collect, [])
    .option('--category <key>', "force one of the field's categories")
    .addOption(new Option('--engine <engine>', 'evaluator').choices(['compiled', 'cedar']).default('compiled'))
    .option('--json', 'print the explanation as JSON')
    .action(
      (opts: {
        policy: string;
        principal: string;
        field: string;
        jurisdiction: string;
        action: 'read' | 'write';
        country?: string;
        site?: string;
        grant?: boolean;
        reason?: string;
        row: string[];
        category?: string;
        engine: EngineName;
        json?: boolean;
      }) => {
        const policy = loadOrExplain(opts.policy);
        const row: Record<string, string> = {};
        for (const kv of opts.row) {
          const eq = kv.indexOf('=');
          if (eq <= 0) throw new UsageError(`--row must be field=value, got ${JSON.stringify(kv)}`);
          row[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        if (opts.country !== undefined && !/^[A-Z]{2}$/.test(opts.country))
          throw new UsageError(`--country must be a two-letter country code, got ${JSON.stringify(opts.country)}`);
        const x = explain(createDecider(policy, { engine: opts.engine }), {
          principal: opts.principal,
          action: opts.action,
          field: opts.field,
          jurisdiction: opts.jurisdiction,
          country: opts.country,
          site: opts.site,
          grant: opts.grant,
          reason: opts.reason,
          row,
          category: opts.category,
        });
        if (opts.json) {
          printJson({ ...x, engine: opts.engine });
          return;
        }
        const d = x.decision;
        const out: string[] = [];
        out.push(`${x.principal} ${x.action} ${x.dataset}.${x.field}: ${d.disclosure.toUpperCase()}${d.mask ? ` (${d.mask})` : ''}`);
        out.push(`  subject      jurisdiction ${x.jurisdiction}, enclave ${x.enclave} (countries ${x.enclaveCountries.join(', ')})`);
        out.push(`  request      from ${x.country}/${x.site}${x.grant ? ', with an active grant for this field' : ', no grant'}`);
        out.push(`  category     ${d.category ?? '(none)'}`);
        if (x.classSource) {
          out.push(
            `  class        ${x.classSource.class} in ${x.jurisdiction} (${x.classSource.listedAs ? `classes.yaml lists ${x.classSource.listedAs}` : 'not listed: the default'})`,
          );
        }
        out.push(`  reason       ${d.reason}`);
        const at = new Map(x.rules.map((r) => [r.id, `${r.effect} ${r.at}`]));
        out.push(`  rules        ${d.rules.length ? d.rules.map((id) => `${id} (${at.get(id) ?? '?'})`).join(', ') : '(none)'}`);
        if (d.steps.length) {
          out.push('  steps');
          out.push(
            table(
              ['    action', 'answer', 'determining rules', 'errors'],
              d.steps.map((s) => [`    ${s.action}`, s.allow ? 'allow' : 'deny', s.rules.join(', ') || '-', s.errors.join(', ') || '-']),
            ),
          );
        }
        process.stdout.write(`${out.join('\n')}\n`);
      },
    );

  cmd
    .command('diff')
    .description('what changes between two policies: categories reclassified, decisions that flip')
    .argument('<old>', 'the current policy directory')
    .argument('<new>', 'the proposed policy directory')
    .addOption(new Option('--action <action>', 'read or write').choices(['read', 'write']).default('read'))
    .option('--grant', 'compare as if every principal held an active grant for each field')
    .option('--exit-code', 'exit 1 when anything changes')
    .option('--json', 'print the diff as JSON')
    .action((oldDir: string, newDir: string, opts: { action: 'read' | 'write'; grant?: boolean; exitCode?: boolean; json?: boolean }) => {
      const a = loadOrExplain(oldDir);
      const b = loadOrExplain(newDir);
      const diff = diffPolicies(a, b, { action: opts.action, withGrant: opts.grant });
      const changed = diff.classChanges.length + diff.flips.length > 0;
      if (opts.json) printJson(diff);
      else {
        const out: string[] = [];
        out.push(`Classes changed (${diff.classChanges.length}):`);
        if (diff.classChanges.length) {
          out.push(
            table(
              ['  jurisdiction', 'category', 'from', 'to'],
              diff.classChanges.map((c) => [`  ${c.jurisdiction}`, c.category, c.from ?? '-', c.to ?? '-']),
            ),
          );
        } else out.push('  none');
        out.push('');
        out.push(
          `Decisions that flip (${diff.flips.length}; ${diff.summary.lose} lose, ${diff.summary.gain} gain; ${diff.summary.decisionsCompared} compared, each principal asking from its own site${diff.withGrant ? ', with a grant' : ', without a grant'}):`,
        );
        if (diff.flips.length) {
          out.push(
            table(
              ['  principal', 'field', 'category', 'jurisdiction', 'from', 'to', 'now decided by'],
              diff.flips.map((f) => [
                `  ${f.principal}`,
                `${f.dataset}.${f.field}`,
                f.category,
                f.jurisdiction,
                f.from,
                f.to,
                f.rulesTo.join(', ') || '(no rule)',
              ]),
            ),
          );
        } else out.push('  none');
        process.stdout.write(`${out.join('\n')}\n`);
      }
      process.exitCode = opts.exitCode && changed ? EXIT_FINDING : EXIT_OK;
    });

  cmd
    .command('schema')
    .description("print the Cedar schema cordon generates for its entity types (for editors and Cedar's own tools)")
    .option('--json', 'print the JSON schema instead of Cedar schema text')
    .action((opts: { json?: boolean }) => {
      if (opts.json) return printJson(generateCedarSchema());
      process.stdout.write(`${cedarSchemaText().trimEnd()}\n`);
    });

  return cmd;
}
