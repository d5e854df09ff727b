// The standing-access review on the demo policy and on temp copies changed to produce each flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { loadPolicy, type Policy } from '../policy/index.js';
import { formatStandingReview, standingAccessReview, type Reach, type StandingReview } from './review.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));

const US_PROTECTED = [
  'user.contact.email',
  'user.contact.phone_number',
  'user.content.draft',
  'user.content.private',
  'user.demographic.date_of_birth',
  'user.device.device_id',
  'user.device.ip_address',
];
const ROW_PROTECTED = ['user.contact.email', 'user.contact.phone_number', 'user.content.draft', 'user.content.private', 'user.demographic.date_of_birth'];

function load(dir: string): Policy {
  const r = loadPolicy(dir);
  assert.deepEqual(r.issues, []);
  if (!r.ok) throw new Error(`policy ${dir} did not load`);
  return r.policy;
}

/** Reviews a temp copy of the demo policy after `edit` changed it. */
function reviewCopy(edit: (dir: string) => void): StandingReview {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-review-'));
  try {
    cpSync(DEMO, dir, { recursive: true });
    edit(dir);
    return standingAccessReview(load(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function editFile(path: string, change: (text: string) => string): void {
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  assert.notEqual(after, before, `${path} changed`);
  writeFileSync(path, after);
}

function editDirectory(dir: string, change: (doc: ReturnType<typeof parseDocument>) => void): void {
  editFile(join(dir, 'directory.yaml'), (text) => {
    const doc = parseDocument(text);
    change(doc);
    return doc.toString();
  });
}

const kinds = (r: StandingReview) => r.flags.map((f) => `${f.kind} ${f.principal}`);
const reachesOf = (r: StandingReview, id: string, grant: boolean): readonly Reach[] => {
  const p = r.principals.find((x) => x.id === id);
  assert.ok(p, `principal ${id}`);
  return grant ? p.reachesWithGrant : p.reaches;
};
const entries = (jurisdiction: string, categories: readonly string[]) => categories.map((category) => ({ jurisdiction, category }));
const everywhere = (jurisdiction: string, categories: readonly string[], countries: readonly string[]) =>
  entries(jurisdiction, categories).map((e) => ({ ...e, countries }));

test('the universe is every catalog category that is protected in a jurisdiction', () => {
  const r = standingAccessReview(load(DEMO));
  // comments.body (user.content.comment) is absent: cordon's taxonomy puts it under user.content.public.
  assert.deepEqual(r.universe, [...entries('EU', US_PROTECTED), ...entries('ROW', ROW_PROTECTED), ...entries('US', US_PROTECTED)]);
});

test('the demo: legacy-admin is a master admin with standing access, employed outside the US enclave', () => {
  const policy = load(DEMO);
  const r = standingAccessReview(policy);
  // legacy.cedar permits everything to legacy-admin; only enclave-wall (enclave.cedar) holds it back,
  // so it reaches each jurisdiction's protected data from that enclave's countries: US data from the
  // four US sites, EU data from dublin (IE is an eu enclave country), ROW data from every mapped
  // country (the global enclave allows US, IE and CN). Never from an unknown network. Every
  // protected category of all three: a master admin. With reach to US data from inside the US, it is
  // staff of the us enclave (the one an approver group serves), whose employer is cordon-us, not its
  // parent-co. The enclave staff (austin-*) reach nothing protected without a grant, and the rest
  // reach nothing protected at all.
  assert.deepEqual(kinds(r), ['master_admin legacy-admin', 'standing_access legacy-admin', 'staff_outside_enclave legacy-admin', 'standing_rule legacy-admin']);
  assert.deepEqual(r.flags[0]!.details, { jurisdictions: ['EU', 'ROW', 'US'], inert: true });
  assert.deepEqual(reachesOf(r, 'legacy-admin', false), [
    ...everywhere('EU', US_PROTECTED, ['IE']),
    ...everywhere('ROW', ROW_PROTECTED, ['CN', 'IE', 'US']),
    ...everywhere('US', US_PROTECTED, ['US']),
  ]);
  assert.equal(r.flags[2]!.message, 'legacy-admin is outside the enclave it serves: staff of the us enclave, but employer parent-co, not cordon-us.');
  assert.equal(r.ok, false);
  assert.equal(r.policyVersion, policy.versionHash);
});

test('the demo: austin-engineer reaches nothing protected without a grant, and US data with one only from the US', () => {
  const r = standingAccessReview(load(DEMO));
  assert.deepEqual(reachesOf(r, 'austin-engineer', false), []);
  // enclave-grant-clear needs a grant and a country of the data's enclave: US data only from US places.
  assert.deepEqual(
    reachesOf(r, 'austin-engineer', true).filter((x) => x.jurisdiction === 'US'),
    everywhere('US', US_PROTECTED, ['US']),
  );
  for (const id of ['beijing-engineer', 'monitor', 'recsys-service', 'us-analyst']) {
    assert.deepEqual([reachesOf(r, id, false), reachesOf(r, id, true)], [[], []], id);
  }
  const staff = r.teams.find((t) => t.team === 'enclave-staff');
  assert.deepEqual(staff, { team: 'enclave-staff', members: ['austin-approver-a', 'austin-approver-b', 'austin-engineer'], reaches: [] });
  assert.deepEqual(r.teams.find((t) => t.team === 'platform-admins')?.reaches, reachesOf(r, 'legacy-admin', false));
});

test('the text report lists what each principal reaches, the flags and a summary', () => {
  const r = standingAccessReview(load(DEMO));
  const text = formatStandingReview(r);
  for (const f of r.flags) assert.ok(text.includes(f.message), f.message);
  assert.match(text, /^legacy-admin +platform-admins +person +EU 7\/7 from IE; ROW 5\/5 from CN,IE,US; US 7\/7 from US +EU 7\/7/m);
  assert.match(text, /^austin-engineer +enclave-staff +person +- +EU 7\/7 from IE; ROW 5\/5 from CN,IE,US; US 7\/7 from US$/m);
  assert.equal(text.split('\n').at(-1), '4 flags: 1 master_admin, 1 standing_access, 1 staff_outside_enclave, 1 standing_rule');
});

test('without the legacy rule nothing is flagged', () => {
  const r = reviewCopy((dir) => rmSync(join(dir, 'rules/legacy.cedar')));
  assert.deepEqual(r.flags, []);
  assert.equal(r.ok, true);
  assert.deepEqual(reachesOf(r, 'legacy-admin', false), []);
  assert.equal(formatStandingReview(r).split('\n').at(-1), 'no flags');
});

test('without the enclave wall legacy-admin reaches protected data from outside each enclave', () => {
  const r = reviewCopy((dir) => editFile(join(dir, 'rules/enclave.cedar'), (t) => t.slice(0, t.indexOf('// The wall:'))));
  assert.deepEqual(kinds(r), [
    'master_admin legacy-admin',
    'standing_access legacy-admin',
    'outside_enclave legacy-admin',
    'staff_outside_enclave legacy-admin',
    'standing_rule legacy-admin',
  ]);
  const outside = r.flags[2]!;
  const places = (outside.details['places'] as { jurisdiction: string; country: string; site: string; categories: string[]; withoutGrant: boolean }[]).map(
    (p) => `${p.jurisdiction} ${p.country} ${p.site} ${p.categories.length} ${p.withoutGrant}`,
  );
  // Every mapped place and the unknown one, minus those inside the data's enclave.
  assert.deepEqual(places, [
    'EU CN beijing 7 true',
    'EU US austin 7 true',
    'EU US localhost 7 true',
    'EU US san-jose 7 true',
    'EU US us-east-dc 7 true',
    'EU unknown unknown 7 true',
    'ROW unknown unknown 5 true',
    'US CN beijing 7 true',
    'US IE dublin 7 true',
    'US unknown unknown 7 true',
  ]);
  assert.equal(
    outside.message,
    "legacy-admin reaches protected data from outside its enclave's countries: EU from CN (beijing), US (austin), US (localhost), US (san-jose), US (us-east-dc), unknown (unknown); ROW from unknown (unknown); US from CN (beijing), IE (dublin), unknown (unknown).",
  );
  // The enclave staff's grant rule still checks the country itself.
  assert.deepEqual(
    reachesOf(r, 'austin-engineer', true).filter((x) => x.jurisdiction === 'US'),
    everywhere('US', US_PROTECTED, ['US']),
  );
});

test('enclave staff whose manager works abroad for another employer are flagged', () => {
  const r = reviewCopy((dir) =>
    editDirectory(dir, (doc) => {
      doc.setIn(
        ['principals', 'beijing-manager'],
        doc.createNode({ kind: 'person', team: 'parent-engineering', employer: 'parent-co', work_country: 'CN', site: 'beijing', clearance: 1 }),
      );
      doc.setIn(['principals', 'austin-engineer', 'manager'], 'beijing-manager');
    }),
  );
  assert.deepEqual(kinds(r), [
    'master_admin legacy-admin',
    'standing_access legacy-admin',
    'reporting_line_outside austin-engineer',
    'staff_outside_enclave legacy-admin',
    'standing_rule legacy-admin',
  ]);
  const line = r.flags[2]!;
  assert.equal(
    line.message,
    'austin-engineer has a reporting line outside the enclave it serves: staff of the us enclave, reports to beijing-manager (employer parent-co, not cordon-us and works in CN, not in US).',
  );
  assert.deepEqual(line.details, {
    managers: [
      {
        enclave: 'us',
        roles: ['staff'],
        manager: 'beijing-manager',
        employer: 'parent-co',
        workCountry: 'CN',
        reasons: ['employer parent-co, not cordon-us', 'works in CN, not in US'],
      },
    ],
  });
});

test('approvers are checked too, and a manager cycle ends the walk', () => {
  const r = reviewCopy((dir) => {
    rmSync(join(dir, 'rules/legacy.cedar'));
    editDirectory(dir, (doc) => {
      doc.setIn(['principals', 'austin-approver-a', 'manager'], 'austin-approver-b');
      doc.setIn(['principals', 'austin-approver-b', 'manager'], 'monitor');
      doc.setIn(['principals', 'monitor', 'manager'], 'austin-approver-a');
    });
  });
  // monitor works in the US but for trusted-auditor: outside the us enclave's employer cordon-us.
  assert.deepEqual(kinds(r), [
    'reporting_line_outside austin-approver-a',
    'reporting_line_outside austin-approver-b',
    'reporting_line_outside austin-engineer',
  ]);
  assert.deepEqual(
    r.flags.map((f) => (f.details['managers'] as { manager: string; roles: string[] }[]).map((m) => `${m.manager} ${m.roles.join('+')}`)),
    [['monitor approver (enclave-approvers)+staff'], ['monitor approver (enclave-approvers)+staff'], ['monitor staff']],
  );
});
