// The console in a real browser (Debian's chromium through playwright-core) against `cordon up
// --demo` serving the built package: three personas see demo-us-1 as the rules say; an access
// request is made and approved by two approvers through the UI; an inclusion proof is verified in
// the browser; a leak path is highlighted on the flow map; no console errors anywhere. Every page
// is captured at 1280x800 and on a narrow screen under test-artifacts/console/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startUp, type RunningUp } from './helpers/up.js';
import { ROOT } from './helpers/paths.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const PAGES = ['overview', 'data', 'access', 'log', 'flows', 'policy', 'findings'];

let up: RunningUp;
let dataDir: string;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'cordon-console-'));
  up = await startUp(dataDir);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});
after(async () => {
  await browser?.close();
  up?.child.kill('SIGINT');
  await up?.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

/** A page whose console errors and uncaught exceptions are collected (each test asserts none). */
async function openConsole(width = 1280, height = 800): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${up.base}/`);
  return { page, errors };
}

async function as(page: Page, persona: string): Promise<void> {
  await page.getByLabel('Persona').selectOption(persona);
}

async function go(page: Page, name: string): Promise<void> {
  await page.getByRole('link', { name: name[0]!.toUpperCase() + name.slice(1), exact: true }).click();
  await page.waitForFunction((h) => window.location.hash === `#/${h}`, name);
}

/**
 * demo-us-1 as `persona` sees it: opened by its key in clear, or, for a persona that may not see the
 * uid in clear (W6), found by its username and opened by the key the list gives (its own token).
 */
async function recordAs(page: Page, persona: string, by: 'key' | 'username' = 'key'): Promise<Record<string, string>> {
  await as(page, persona);
  await go(page, 'data');
  if (by === 'key') {
    await page.getByLabel('Record key').fill('demo-us-1');
    await page.getByRole('button', { name: 'Open' }).click();
  } else {
    await page.getByLabel('Find by field').selectOption('username');
    await page.getByLabel('Find value').fill('lonestar_lens');
    await page.getByRole('button', { name: 'Find' }).click();
    const found = page.locator('ul[aria-label="Found records"] button[data-key]');
    await found.first().waitFor();
    assert.equal(await found.count(), 1);
    assert.match((await found.first().getAttribute('data-key'))!, /^tok_/);
    await found.first().click();
  }
  await page.locator('table[aria-label="Record fields"] tr[data-field]').first().waitFor();
  const rows = await page
    .locator('tr[data-field]')
    .evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-field')!, tr.getAttribute('data-disclosure')!]));
  return Object.fromEntries(rows);
}

test('three personas see demo-us-1 as the rules say, field by field', async () => {
  const { page, errors } = await openConsole();
  const beijing = await recordAs(page, 'beijing-engineer', 'username');
  assert.deepEqual(beijing, {
    uid: 'tokenized',
    username: 'clear',
    bio: 'clear',
    country: 'clear',
    phone_number: 'withheld',
    email: 'withheld',
    birthday: 'withheld',
    device_id: 'withheld',
    ip_address: 'withheld',
    created_at: 'clear',
  });
  await page.screenshot({ path: join(ARTIFACTS, 'data-beijing-engineer.png'), fullPage: true });
  const analyst = await recordAs(page, 'us-analyst', 'username');
  assert.deepEqual(analyst, {
    uid: 'tokenized',
    username: 'clear',
    bio: 'clear',
    country: 'clear',
    phone_number: 'withheld',
    email: 'withheld',
    birthday: 'withheld',
    device_id: 'withheld',
    ip_address: 'withheld',
    created_at: 'clear',
  });
  const engineer = await recordAs(page, 'austin-engineer');
  assert.deepEqual(engineer, {
    uid: 'clear',
    username: 'clear',
    bio: 'clear',
    country: 'clear',
    phone_number: 'clear',
    email: 'clear',
    birthday: 'masked',
    device_id: 'withheld',
    ip_address: 'masked',
    created_at: 'clear',
  });
  await page.screenshot({ path: join(ARTIFACTS, 'data-austin-engineer.png'), fullPage: true });
  // Withheld fields say why.
  await recordAs(page, 'beijing-engineer', 'username');
  await page.locator('tr[data-field="phone_number"] td', { hasText: 'forbidden; rules: enclave-wall' }).waitFor();
  // The uid in clear is a key no record has, for beijing-engineer.
  await page.getByLabel('Record key').fill('demo-us-1');
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('alert').filter({ hasText: 'no users record has this key' }).waitFor();
  assert.deepEqual(errors, ['Failed to load resource: the server responded with a status of 404 (Not Found)'], 'the one error is that 404');
  await page.close();
});

test('an access request is made and approved by two approvers through the UI; the grant then releases the field', async () => {
  const { page, errors } = await openConsole();
  assert.equal((await recordAs(page, 'austin-engineer'))['birthday'], 'masked');
  await go(page, 'access');
  await page.getByLabel('Request category').fill('user.demographic');
  await page.getByLabel('Request ticket').fill('SUP-900');
  await page.getByLabel('Request duration').fill('30m');
  await page.getByRole('button', { name: 'Request' }).click();
  await page.getByRole('status').filter({ hasText: 'request sent' }).waitFor();
  const row = page.locator('table[aria-label="My requests"] tr[data-request]').filter({ hasText: 'user.demographic' });
  const id = (await row.getAttribute('data-request'))!;
  assert.match(id, /^req-/);

  for (const approver of ['austin-approver-a', 'austin-approver-b']) {
    await as(page, approver);
    await go(page, 'access');
    const toDecide = page.locator(`table[aria-label="Requests to decide"] tr[data-request="${id}"]`);
    await toDecide.getByRole('button', { name: 'Approve' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `approved ${id}` })
      .waitFor();
  }
  await page.screenshot({ path: join(ARTIFACTS, 'access-approver.png'), fullPage: true });
  await as(page, 'austin-engineer');
  await go(page, 'access');
  await page.locator(`table[aria-label="My requests"] tr[data-request="${id}"]`, { hasText: 'approved' }).waitFor();
  assert.equal((await recordAs(page, 'austin-engineer'))['birthday'], 'clear');
  assert.deepEqual(errors, []);
  await page.close();
});

test('an inclusion proof is verified in the browser (WebCrypto) against the signed checkpoint', async () => {
  const { page, errors } = await openConsole();
  await as(page, 'monitor');
  await go(page, 'log');
  const first = page.locator('table[aria-label="Access records"] tr[data-index]').first();
  await first.waitFor();
  await first.getByRole('button', { name: /Open record/ }).click();
  await page.getByRole('button', { name: 'Verify inclusion in this browser' }).click();
  const v = page.getByTestId('verification');
  await v.waitFor();
  assert.equal(await v.getAttribute('data-root-matches'), 'true');
  assert.equal(await v.getAttribute('data-signature-valid'), 'true');
  assert.match((await v.textContent())!, /✓ included/);
  await page.screenshot({ path: join(ARTIFACTS, 'log-verified.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a leak path is highlighted on the flow map', async () => {
  const { page, errors } = await openConsole();
  await as(page, 'monitor');
  await go(page, 'flows');
  const leak = page.locator('[data-leak]').first();
  await leak.waitFor();
  const id = (await leak.getAttribute('data-leak'))!;
  await leak.click();
  assert.equal(await leak.getAttribute('aria-pressed'), 'true');
  const highlighted = await page.evaluate(
    () => (window as unknown as { cordonFlowGraph?: { edges(s: string): { length: number } } }).cordonFlowGraph?.edges('.highlight').length ?? 0,
  );
  const pathLength = await leak.locator('li').count();
  assert.equal(highlighted, pathLength - 1, 'every step of the chosen path is drawn in red');
  assert.equal(await page.locator('.graph').getAttribute('data-highlighted'), id);

  // Team, tool and place nodes, places with their country, readable labels, and a legend for each kind.
  const drawn = await page.evaluate(() => {
    const g = (window as unknown as { cordonFlowGraph: { nodes(): { map<T>(f: (n: { data(k: string): string; style(k: string): string }) => T): T[] } } })
      .cordonFlowGraph;
    return g.nodes().map((n) => ({ type: n.data('type'), label: n.data('label'), country: n.data('country'), fontSize: n.style('font-size') }));
  });
  const types = new Set(drawn.map((n) => n.type));
  for (const t of ['column', 'tool', 'export', 'team', 'place']) assert.ok(types.has(t), `a ${t} node is drawn`);
  assert.deepEqual(
    drawn
      .filter((n) => n.type === 'place')
      .map((n) => `${n.label}:${n.country}`)
      .sort(),
    ['SG · ap-southeast-1:SG', 'SG:SG', 'US · us-east-1:US', 'US:US'],
  );
  for (const n of drawn) {
    assert.ok(!n.label.startsWith('…'), `label ${n.label} is not cut at the start`);
    assert.equal(n.fontSize, '12px', `label ${n.label} is 12 px`);
  }
  assert.ok(drawn.some((n) => n.type === 'team' && n.label === 'platform-admins'));
  for (const kind of ['column', 'tool', 'export', 'team', 'place', 'edge-direct', 'edge-reads', 'edge-uses', 'edge-at', 'edge-highlight'])
    assert.equal(await page.locator(`[aria-label="Legend"] [data-legend="${kind}"]`).count(), 1, `the legend explains ${kind}`);

  // A click on the edge where phone numbers leave for Singapore opens its evidence: job, run id, time, producer.
  await page.locator('.graph').scrollIntoViewIfNeeded();
  const target = await page.evaluate(() => {
    const g = (
      window as unknown as {
        cordonFlowGraph: {
          edges(): { filter(f: (e: { data(k: string): string }) => boolean): { first(): { id(): string; renderedMidpoint(): { x: number; y: number } } } };
        };
      }
    ).cordonFlowGraph;
    const e = g
      .edges()
      .filter((x) => x.data('target') === 'column:s3://partner-exports-sg/contacts/daily.csv#phone')
      .first();
    return { id: e.id(), ...e.renderedMidpoint() };
  });
  const box = (await page.locator('.graph').boundingBox())!;
  await page.mouse.click(box.x + target.x, box.y + target.y);
  const evidence = page.locator('section[aria-label="Evidence"]');
  await page.waitForFunction((id) => document.querySelector('section[aria-label="Evidence"]')?.getAttribute('data-edge') === id, target.id);
  const text = (await evidence.textContent())!;
  assert.match(
    text,
    /evidence: job cordon-demo\/exports\.partner_contacts, run 0198a3b2-7c4d-7e5f-8a9b-000000000002, COMPLETE at 2026-11-20T02:00:00\.000Z, producer https:\/\/github\.com\/cordon\/demo \(flows\/lineage\.ndjson:2\)/,
  );
  assert.match(text, /run: 0198a3b2-7c4d-7e5f-8a9b-000000000002/);
  await page.screenshot({ path: join(ARTIFACTS, 'flows-leak.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the policy page shows legacy-admin's rule flagged as standing access and inert (W4); no other rule is flagged", async () => {
  const { page, errors } = await openConsole();
  await as(page, 'monitor');
  await go(page, 'policy');
  const flagged = page.locator('details[data-rule] [data-flag="standing"]');
  await flagged.first().waitFor();
  assert.equal(await flagged.count(), 1);
  const rule = page.locator('details[data-rule="legacy-admin"]');
  assert.match(
    (await rule.locator('summary').textContent())!,
    /flagged: standing access \(users\.phone_number of a US subject to legacy-admin without a grant\); inert at run time/,
  );
  await page.screenshot({ path: join(ARTIFACTS, 'policy-standing.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('every page renders without errors at 1280x800 and on a narrow screen, and is keyboard-reachable', async () => {
  for (const [width, height, tag] of [
    [1280, 800, 'wide'],
    [390, 844, 'narrow'],
  ] as const) {
    const { page, errors } = await openConsole(width, height);
    // The independent monitor may read every page (records and findings are for auditors).
    await as(page, 'monitor');
    for (const name of PAGES) {
      await go(page, name);
      await page.locator('main h2').first().waitFor();
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${tag}.png`), fullPage: true });
    }
    // Keyboard: Tab reaches the page links.
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.tagName);
    assert.ok(['SELECT', 'A', 'BUTTON', 'INPUT'].includes(focused ?? ''), `Tab focuses a control, got ${focused}`);
    assert.deepEqual(errors, [], `${tag}: ${errors.join('; ')}`);
    await page.close();
  }
});
