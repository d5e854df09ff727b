// `cordon demo`: what `npm start` runs until the gateway exists. It checks the demo policy and shows,
// for the demo's fixed users, what each persona would get for every field and which rule decided.
// It prints disclosures, never values.

import { Command } from 'commander';
import { DEMO_FIXED_USERS } from '../server/index.js';
import { checkPolicy, createDecider, formatIssue, type Decision, type GrantInfo } from '../policy/index.js';
import { EXIT_USAGE, mustRead, printJson, table } from './output.js';
import { DEMO_POLICY_DIR } from './defaults.js';

const HOUR = 3_600_000;

/** The demo's three fixed users (PRODUCT.md §10), defined by the server module's demo data. */
export const DEMO_USERS: readonly Readonly<Record<string, string>>[] = DEMO_FIXED_USERS;

const SHORT: Record<string, string> = { clear: 'clear', tokenized: 'token', masked: 'masked', withheld: '-' };

export function demoDecisions(
  policyDir = DEMO_POLICY_DIR,
  now = Date.now(),
): { policyVersion: string; users: { uid: string; jurisdiction: string | undefined; decisions: Decision[] }[] } {
  const { policy, issues } = checkPolicy(policyDir);
  if (!policy) throw new Error(`the demo policy is invalid:\n${issues.map(formatIssue).join('\n')}`);
  const decider = createDecider(policy);
  // At start the demo grants austin-engineer the contact data of demo-us-1 for 8 hours (PRODUCT.md §10).
  const grant: GrantInfo = {
    id: 'demo-grant-1',
    datasets: ['users'],
    categories: ['user.contact'],
    subjects: ['demo-us-1'],
    notBefore: now,
    expiresAt: now + 8 * HOUR,
    reason: 'USER_SUPPORT',
  };
  const users = DEMO_USERS.map((record) => {
    const decisions = [...policy.directory.principals.values()].map((p) =>
      decider.decide({
        principal: p.id,
        action: 'read',
        dataset: 'users',
        record,
        context: { country: p.workCountry, site: p.site, now, grants: p.id === 'austin-engineer' ? [grant] : [] },
      }),
    );
    return { uid: record['uid']!, jurisdiction: decisions[0]?.jurisdiction, decisions };
  });
  return { policyVersion: policy.versionHash, users };
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('check the demo policy and show what each persona gets for each field of the demo users')
    .option('--policy <dir>', 'policy directory', DEMO_POLICY_DIR)
    .option('--json', 'print the decisions as JSON')
    .action((opts: { policy: string; json?: boolean }) => {
      mustRead(opts.policy, '--policy');
      const { policy, issues } = checkPolicy(opts.policy);
      if (!policy) {
        for (const i of issues) process.stderr.write(`${formatIssue(i)}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const result = demoDecisions(opts.policy);
      if (opts.json) return printJson(result);
      const out: string[] = [];
      out.push(`cordon demo — policy ${opts.policy} is valid (version ${result.policyVersion.slice(0, 12)})`);
      out.push('Each persona reads the users dataset from its own site; austin-engineer holds an 8-hour grant');
      out.push('for the contact data of demo-us-1. Cells: clear, token(ized), masked, - (withheld).');
      for (const u of result.users) {
        out.push('');
        out.push(`users/${u.uid} (jurisdiction ${u.jurisdiction})`);
        const personas = u.decisions.map((d) => d.principal);
        const fields = u.decisions[0]?.fields.map((f) => f.field) ?? [];
        out.push(
          table(
            ['  field', ...personas],
            fields.map((f, i) => [`  ${f}`, ...u.decisions.map((d) => SHORT[d.fields[i]!.disclosure]!)]),
          ),
        );
      }
      out.push('');
      out.push('Why? Ask for one cell, e.g.:');
      out.push('  npx cordon policy explain --policy policies/demo --principal beijing-engineer --field users.phone_number --jurisdiction US');
      out.push('  npx cordon policy explain --policy policies/demo --principal legacy-admin --field users.phone_number --jurisdiction US');
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
