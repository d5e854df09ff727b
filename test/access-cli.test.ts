// `cordon access …` as users run it: the offline standing-access review of the demo policy (and of a
// copy without the legacy admin rule), and request/approve/list against `cordon up --demo`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cordon, cordonAsync } from './helpers/cli.js';
import { startUp, type RunningUp } from './helpers/up.js';
import { DEMO_POLICY } from './helpers/paths.js';

test('cordon access review --policy policies/demo flags legacy-admin and exits 1', () => {
  const r = cordon(['access', 'review', '--policy', 'policies/demo']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /master_admin/);
  assert.match(r.stdout, /legacy-admin/);
  const j = cordon(['access', 'review', '--policy', 'policies/demo', '--json']);
  assert.equal(j.status, 1);
  const review = JSON.parse(j.stdout) as { ok: boolean; flags: { kind: string; principal?: string }[] };
  assert.equal(review.ok, false);
  assert.deepEqual([...new Set(review.flags.map((f) => f.principal))], ['legacy-admin'], 'only legacy-admin is flagged');
  assert.ok(review.flags.some((f) => f.kind === 'master_admin'));
});

test('without the legacy-admin rule the review exits 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-review-'));
  try {
    cpSync(DEMO_POLICY, dir, { recursive: true });
    rmSync(join(dir, 'rules', 'legacy.cedar'));
    const r = cordon(['access', 'review', '--policy', dir]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /no flags/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('access review: bad usage exits 2 with a message; a policy directory that is not there exits 3', () => {
  const r = cordon(['access', 'review']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /give --policy DIR/);
  const missing = cordon(['access', 'review', '--policy', '/nonexistent/policy']);
  assert.equal(missing.status, 3);
  assert.equal(missing.stderr, 'cordon: cannot read --policy /nonexistent/policy: ENOENT: no such file or directory\n');
});

let up: RunningUp;
let dataDir: string;
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cordon-access-cli-'));
  up = await startUp(dataDir);
});
after(async () => {
  // up is unset if cordon up never served; the directory goes all the same.
  up?.child.kill('SIGINT');
  await up?.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

const run = (persona: string, args: string[]) => cordonAsync([...args, '--url', up.base, '--as', persona, '--data-dir', dataDir]);
const as = (persona: string, args: string[]) => run(persona, ['access', ...args]);

test('the demo starts with its grant made through the broker: requested, approved by two, logged', async () => {
  const r = await as('austin-engineer', ['list', '--grants', '--mine', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const grants = (JSON.parse(r.stdout) as { grants: { state: string; reason: string; scope: { subjects: string[] }; request: string; secondsLeft: number }[] })
    .grants;
  assert.equal(grants.length, 1);
  assert.equal(grants[0]!.state, 'active');
  assert.deepEqual(grants[0]!.scope.subjects, ['demo-us-1']);
  assert.ok(grants[0]!.secondsLeft > 8 * 3600 - 120 && grants[0]!.secondsLeft <= 8 * 3600);
  const req = await as('austin-approver-a', ['list', '--state', 'approved', '--json']);
  const approvals = (JSON.parse(req.stdout) as { requests: { approvals: { by: string }[] }[] }).requests[0]!.approvals.map((a) => a.by);
  assert.deepEqual(approvals, ['austin-approver-a', 'austin-approver-b']);
});

test('request, approve twice, a replay refused (exit 1), the grant listed', async () => {
  const made = await as('austin-engineer', [
    'request',
    '--dataset',
    'users',
    '--category',
    'user.contact',
    '--subject',
    'demo-us-1',
    '--reason',
    'USER_SUPPORT',
    '--ticket',
    'SUP-77',
    '--duration',
    '30m',
    '--json',
  ]);
  assert.equal(made.status, 0, made.stderr);
  const id = (JSON.parse(made.stdout) as { id: string }).id;
  const first = await as('austin-approver-a', ['approve', id, '--comment', 'checked SUP-77']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`request ${id}: pending`));
  const replay = await as('austin-approver-a', ['approve', id]);
  assert.equal(replay.status, 1);
  assert.match(replay.stderr, /access\.duplicate_approval/);
  const second = await as('austin-approver-b', ['approve', id]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`request ${id}: approved`));
  assert.match(second.stdout, /grant {6}grant-/);
  const bad = await as('austin-engineer', [
    'request',
    '--dataset',
    'users',
    '--category',
    'user.contact',
    '--subject',
    'demo-us-1',
    '--reason',
    'USER_SUPPORT',
    '--ticket',
    'SUP-78',
    '--duration',
    '9h',
  ]);
  assert.equal(bad.status, 2, 'bad input exits 2');
  assert.match(bad.stderr, /access\.duration_over_cap/);
  const denyNoComment = await as('austin-approver-a', ['deny', id]);
  assert.equal(denyNoComment.status, 2);
});

test('the online review adds grant flags and is logged; exit 1 while legacy-admin stands', async () => {
  const r = await as('monitor', ['review']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /FLAG master_admin: .*legacy-admin/);
});

test("after cordon up --demo the flow map's API gives the offline answer", async () => {
  const offline = cordon(['flows', 'leaks', '--policy', 'policies/demo', '--json']);
  assert.equal(offline.status, 1);
  const res = await fetch(`${up.base}/v1/flows/leaks`, { headers: { authorization: `Bearer ${up.tokens()['monitor']}`, 'x-forwarded-for': '10.20.0.9' } });
  assert.equal(res.status, 200);
  const served = (await res.json()) as { leaks: unknown[] };
  assert.deepEqual(served.leaks, (JSON.parse(offline.stdout) as { leaks: unknown[] }).leaks);
});

test('cordon report: the signed JSON and the self-contained HTML for a period', async () => {
  const vkey = readFileSync(join(dataDir, 'demo', 'log.vkey'), 'utf8').trim();
  const r = await run('monitor', ['report', '--from', '2020-01-01', '--format', 'json', '--vkey', vkey]);
  assert.equal(r.status, 0, r.stderr);
  const signed = JSON.parse(r.stdout) as {
    report: {
      access: { total: number; byTeam: Record<string, number> };
      grants: { reason: string; review: string }[];
      refused: { brokerActs: Record<string, number> };
      standing: { kind: string; principal: string | null; message: string }[];
      writes: unknown[];
      log: { checkpointSize: number; recordsInPeriod: number; range: { first: number | null; last: number | null } };
    };
    sha256: string;
    signature: string;
  };
  assert.match(signed.signature, /^cordon oversight report v2\ndemo\.cordon\.invalid\/access\n/);
  assert.ok(
    signed.report.grants.some((g) => g.reason === 'USER_SUPPORT' && g.review === 'approved request'),
    'the demo grant and the ones made above',
  );
  assert.ok((signed.report.refused.brokerActs['access.duplicate_approval'] ?? 0) >= 1, 'the replayed approval above');
  // The standing-access review's flags are in the report: legacy-admin's, as the review gives them.
  const review = await run('monitor', ['access', 'review', '--json']);
  const reviewed = (JSON.parse(review.stdout) as { flags: { kind: string; principal?: string }[] }).flags;
  const kindsOf = (flags: { kind: string; principal?: string | null }[]) => flags.filter((f) => f.principal === 'legacy-admin').map((f) => f.kind);
  assert.ok(kindsOf(reviewed).length >= 3, `the review flags legacy-admin: ${kindsOf(reviewed).join(', ')}`);
  assert.deepEqual(kindsOf(signed.report.standing), kindsOf(reviewed), "the report carries legacy-admin's flags as the review gives them");
  // Every count carries the log range behind it: from 0 (the period starts in 2020) to an entry of the checkpoint.
  const { range, checkpointSize, recordsInPeriod } = signed.report.log;
  assert.equal(range.first, 0);
  assert.ok(range.last !== null && range.last < checkpointSize && range.last - range.first + 1 === recordsInPeriod, JSON.stringify(signed.report.log.range));
  assert.deepEqual(signed.report.writes, [], 'no write in this demo moved or declassified a field');
  const html = await run('monitor', ['report', '--from', '2020-01-01']);
  assert.equal(html.status, 0, html.stderr);
  assert.match(html.stdout, /^<!doctype html>/);
  assert.match(html.stdout, /<svg role="img" aria-label="By reason"/);
  assert.match(html.stdout, /<h2>Standing access<\/h2>[\s\S]*legacy-admin/);
  assert.match(html.stdout, /Every count of the period is of the access-log entries 0–\d+/);
  assert.match(html.stdout, /<h2>Leak paths<\/h2>/);
  assert.match(html.stdout, /<h2>Scanner violations<\/h2>/);
  assert.match(html.stdout, /<h2>Figures and the log entries behind them<\/h2>/);
  assert.match(html.stdout, /<h2>Transfers and declassifications<\/h2>/);
  assert.doesNotMatch(html.stdout, /<script|<link|src="http/, 'self-contained: no scripts, no external resources');
  const forbidden = await run('us-analyst', ['report']);
  assert.equal(forbidden.status, 1);
  assert.match(forbidden.stderr, /access\.forbidden/);
});

test("cordon report on the demo: legacy-admin's flags, the flow map's leak paths, the global store's violations; --verify recomputes every figure from the log", async () => {
  const vkeyFile = join(dataDir, 'demo', 'log.vkey');
  const out = join(dataDir, 'report.json');
  const saved = await run('monitor', ['report', '--from', '2020-01-01', '--format', 'json', '--out', out]);
  assert.equal(saved.status, 0, saved.stderr);
  interface Fig {
    name: string;
    value: number;
    first: number | null;
    last: number | null;
  }
  interface Rep {
    access: { total: number; byReason: Record<string, number> };
    figures: Fig[];
    leaks: { id: string }[];
    violations: { count: number };
    standing: { principal: string | null }[];
    teams: Record<string, string>;
    grants: { review: string }[];
    log: { checkpointSize: number };
  }
  const signed = JSON.parse(readFileSync(out, 'utf8')) as { report: Rep; sha256: string; signature: string };
  const r = signed.report;
  // The leak paths are the flow map's, as the server's own flow map API gives them.
  const res = await fetch(`${up.base}/v1/flows/leaks`, { headers: { authorization: `Bearer ${up.tokens()['monitor']}`, 'x-forwarded-for': '10.20.0.9' } });
  const served = (await res.json()) as { leaks: { id: string }[] };
  assert.ok(served.leaks.length > 0, 'the demo has leak paths');
  assert.deepEqual(
    r.leaks.map((l) => l.id),
    served.leaks.map((l) => l.id),
  );
  // The violations are the console's scan of the global store (what the Overview counts).
  const findings = (await (
    await fetch(`${up.base}/v1/console/findings`, { headers: { authorization: `Bearer ${up.tokens()['monitor']}`, 'x-forwarded-for': '10.20.0.9' } })
  ).json()) as { violationCount: number };
  assert.equal(r.violations.count, findings.violationCount);
  assert.ok(r.standing.some((f) => f.principal === 'legacy-admin'));
  // Every figure names its log range; the figures agree with the counts shown.
  const fig = (name: string) => r.figures.find((f) => f.name === name);
  assert.equal(fig('decisions.total')?.value, r.access.total);
  assert.equal(fig('grants')?.value, r.grants.length);
  for (const [k, n] of Object.entries(r.access.byReason)) assert.equal(fig(`decisions.byReason:${k}`)?.value, n, k);
  for (const f of r.figures)
    assert.ok(f.value === 0 ? f.first === null : f.first !== null && f.last !== null && f.first <= f.last && f.last < r.log.checkpointSize, JSON.stringify(f));

  // As an auditor: the saved report, and one fetched now, recompute from the verified log.
  const ok = await run('monitor', ['report', '--verify', out, '--vkey', vkeyFile]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(
    ok.stdout,
    new RegExp(`^report verified: ${r.figures.length} figures recomputed from the log \\(entries 0–\\d+ of a checkpoint of ${r.log.checkpointSize};`),
  );
  const fresh = await run('monitor', ['report', '--verify', '--from', '2020-01-01', '--vkey', vkeyFile, '--json']);
  assert.equal(fresh.status, 0, fresh.stdout + fresh.stderr);
  assert.deepEqual((JSON.parse(fresh.stdout) as { ok: boolean; problems: string[] }).problems, []);

  // The operator holds the log key, so a doctored report can carry a valid signature: --verify
  // must still catch it, from the log.
  const { signReport } = await import('../src/server/report.js');
  const skey = readFileSync(join(dataDir, 'keys', 'log.key'), 'utf8').trim();
  const doctored = async (what: string, change: (rep: Rep) => void) => {
    const rep = JSON.parse(JSON.stringify(r)) as Rep;
    change(rep);
    const file = join(dataDir, `doctored-${what}.json`);
    writeFileSync(file, JSON.stringify(signReport(rep as never, skey)));
    const v = await run('monitor', ['report', '--verify', file, '--vkey', vkeyFile]);
    assert.equal(v.status, 1, `${what}: ${v.stdout}${v.stderr}`);
    assert.match(v.stdout, /^report NOT verified/, what);
    return v.stdout;
  };
  // A grant hidden, with its count lowered to match.
  assert.match(
    await doctored('hidden-grant', (rep) => {
      rep.grants = rep.grants.slice(1);
      rep.figures.find((x) => x.name === 'grants')!.value -= 1;
    }),
    /grants: the report says \d+ \(entries \d+\.\.\d+\), the log says \d+ \(entries \d+\.\.\d+\)/,
  );
  // A figure dropped.
  assert.match(
    await doctored('no-clear', (rep) => {
      rep.figures = rep.figures.filter((x) => x.name !== 'decisions.protectedInClear');
    }),
    /decisions\.protectedInClear: the report leaves it out, the log says/,
  );
  // A leak path hidden, and a violation: the report's own log record committed to them.
  assert.match(
    await doctored('hidden-leak', (rep) => {
      rep.leaks = rep.leaks.slice(1);
    }),
    /log entry \d+ \(the report's own record\): snapshot is "[0-9a-f]{64}", the report implies "[0-9a-f]{64}"/,
  );
  // Another team for a principal, to move counts between teams.
  await doctored('team', (rep) => {
    const [p] = Object.keys(rep.teams);
    rep.teams[p!] = 'somebody-else';
  });
  // A grant's review made up.
  await doctored('review', (rep) => {
    rep.grants[0]!.review = 'justified by austin-approver-a';
  });

  // Bad usage changes nothing and exits 2; a caller who may not read the records is refused.
  const noKey = await run('monitor', ['report', '--verify', out]);
  assert.equal(noKey.status, 2);
  assert.match(noKey.stderr, /--verify needs --vkey/);
  const notJson = join(dataDir, 'not.json');
  writeFileSync(notJson, 'nope');
  const bad = await run('monitor', ['report', '--verify', notJson, '--vkey', vkeyFile]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--verify .*not\.json: not JSON/);
  const stranger = await run('us-analyst', ['report', '--verify', out, '--vkey', vkeyFile]);
  assert.equal(stranger.status, 1, stranger.stdout + stranger.stderr);
  assert.match(stranger.stderr, /reading the log's records was refused/);
});
