// `cordon demo`: what `npm start` runs until the gateway exists. It checks the demo policy and shows,
// for the demo's fixed users, what each persona would get for every field and which rule decided.
// It prints disclosures, never values.

import { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { checkPolicy, createDecider, formatIssue, type Decision, type GrantInfo } from '../policy/index.js';
import { EXIT_USAGE, printJson, table } from './output.js';

export const DEMO_POLICY_DIR = fileURLToPath(new URL('../../../policies/demo', import.meta.url));
const HOUR = 3_600_000;

/** The demo's three fixed users (PRODUCT.md §10); synthetic values, used only for their shape. */
export const DEMO_USERS: readonly Record<string, string>[] = [
  { uid: 'demo-us-1', username: 'lonestar_lens', bio: 'Sunsets over Austin', country: 'US', phone_number: '+15125550101', email: 'us1@example.com', birthday: '1994-03-02', device_id: 'a3c1f0de-0000-4000-8000-000000000001', ip_address: '203.0.113.10', created_at: '2024-01-05T10:00:00Z' },
  { uid: 'demo-eu-1', username: 'rheinblick', bio: 'Cycling the Rhine', country: 'DE', phone_number: '+4930555010', email: 'eu1@example.org', birthday: '1988-11-20', device_id: 'a3c1f0de-0000-4000-8000-000000000002', ip_address: '198.51.100.7', created_at: '2024-02-11T09:30:00Z' },
  { uid: 'demo-br-1', username: 'praia_dias', bio: 'Beach days in Rio', country: 'BR', phone_number: '+5521555010', email: 'br1@example.net', birthday: '2001-07-14', device_id: 'a3c1f0de-0000-4000-8000-000000000003', ip_address: '192.0.2.44', created_at: '2024-03-20T18:45:00Z' },
];

const SHORT: Record<string, string> = { clear: 'clear', tokenized: 'token', masked: 'masked', withheld: '-' };

export function demoDecisions(policyDir = DEMO_POLICY_DIR, now = Date.now()): { policyVersion: string; users: { uid: string; jurisdiction: string | undefined; decisions: Decision[] }[] } {
  const { policy, issues } = checkPolicy(policyDir);
  if (!policy) throw new Error(`the demo policy is invalid:\n${issues.map(formatIssue).join('\n')}`);
  const decider = createDecider(policy);
  // At start the demo grants austin-engineer the contact data of demo-us-1 for 8 hours (PRODUCT.md §10).
  const grant: GrantInfo = { id: 'demo-grant-1', datasets: ['users'], categories: ['user.contact'], subjects: ['demo-us-1'], notBefore: now, expiresAt: now + 8 * HOUR, reason: 'USER_SUPPORT' };
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
