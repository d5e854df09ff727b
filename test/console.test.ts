// The console in a real browser (Debian's chromium through playwright-core) against `cordon up
// --demo` serving the built package: three personas see demo-us-1 as the rules say, and the Data
// page names the grant that shows austin-engineer the phone number; an access request is made and
// approved by two approvers through the UI; every Overview chart label equals the API's number and
// links to the records behind it; the Log page filters to one principal and opens a record in
// place with its inclusion proof verified in the browser; a leak path is highlighted on the flow
// map; the header shows the policy version and checkpoint. No console errors for any persona on
// any page, with every page captured for every persona at 1366 px and 390 px under
// test-artifacts/console/, is test/console-pages.slow.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { RunningUp } from './helpers/up.js';
import { ARTIFACTS, WIDTHS, as, go, startConsole, type ConsoleRun } from './helpers/console-browser.js';

let run: ConsoleRun;
let up: RunningUp;
const apiAs = <T>(persona: string, path: string, from?: string) => run.apiAs<T>(persona, path, from);
const openConsole = (width?: number, height?: number) => run.openConsole(width, height);

before(async () => {
  run = await startConsole();
  ({ up } = run);
});
after(async () => {
  await run?.close();
});

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
  await page.locator('tr[data-field="phone_number"] td', { hasText: '(forbidden); rules: enclave-wall' }).waitFor();
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

test("the Data page names the grant that shows austin-engineer demo-us-1's phone number: its id, reason, ticket and expiry, as the API gives them", async () => {
  const { page, errors } = await openConsole();
  const api = await apiAs<{ released: Record<string, { grant: { id: string; reason: string; ticket: string; expiresAt: string } | null }> }>(
    'austin-engineer',
    '/v1/data/users/demo-us-1',
  );
  assert.equal(api.status, 200);
  const grant = api.body.released['phone_number']?.grant;
  assert.ok(grant, 'the API names the grant');
  assert.match(grant.id, /^grant-/);
  assert.deepEqual([grant.reason, grant.ticket], ['USER_SUPPORT', 'DEMO-1']);
  const mine = await apiAs<{ grants: { id: string; expiresAt: string }[] }>('austin-engineer', '/v1/access/grants?mine=true');
  assert.equal(mine.body.grants.find((g) => g.id === grant.id)?.expiresAt, grant.expiresAt, 'the grant the broker holds');
  for (const [width, height, tag] of WIDTHS) {
    await page.setViewportSize({ width, height });
    assert.equal((await recordAs(page, 'austin-engineer'))['phone_number'], 'clear');
    const why = page.locator('tr[data-field="phone_number"] [data-grant]');
    assert.equal(await why.getAttribute('data-grant'), grant.id);
    const text = (await why.textContent())!;
    assert.ok(text.includes(`grant ${grant.id}`) && text.includes('reason USER_SUPPORT') && text.includes('ticket DEMO-1'), `the grant is named (${tag})`);
    assert.ok(text.includes(new Date(grant.expiresAt).getUTCFullYear().toString()), 'its expiry is shown');
    assert.ok(await why.isVisible());
    // A public field in clear says so, and that no grant was needed.
    assert.match((await page.locator('tr[data-field="username"] td').last().textContent())!, /^clear by rule .*; no grant needed$/);
    await page.screenshot({ path: join(ARTIFACTS, `data-grant-${tag}.png`), fullPage: true });
  }
  // beijing-engineer sees no grant anywhere on the page.
  await recordAs(page, 'beijing-engineer', 'username');
  assert.equal(await page.locator('[data-grant]').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('every Overview chart label equals the API value, legible beside its bar, at 1366 and 390 px; each links to the records behind it', async () => {
  // Decisions of every outcome a read has: released (each persona from its site) and refused (from a place the map does not know).
  for (const p of ['austin-engineer', 'us-analyst', 'beijing-engineer']) assert.equal((await apiAs(p, '/v1/data/users?limit=5')).status, 200);
  const found = await apiAs<{ items: { key: string }[] }>('beijing-engineer', '/v1/data/users?filter.username=lonestar_lens');
  const key = found.body.items[0]!.key;
  assert.equal((await apiAs('beijing-engineer', `/v1/data/users/${encodeURIComponent(key)}`, '203.0.113.9')).status, 403);
  const { page, errors } = await openConsole();
  await as(page, 'monitor');
  for (const [width, height, tag] of WIDTHS) {
    await page.setViewportSize({ width, height });
    await go(page, 'policy');
    await go(page, 'overview');
    await page.locator('[data-chart="outcome"] li[data-key]').first().waitFor();
    const api = (await apiAs<{ decisions: Record<string, Record<string, number>> }>('monitor', '/v1/console/overview')).body.decisions;
    assert.ok((api['byOutcome']!['refused'] ?? 0) >= 1 && (api['byOutcome']!['released'] ?? 0) >= 1, 'both outcomes are there to draw');
    for (const [chart, key] of [
      ['disclosure', 'byDisclosure'],
      ['country', 'byCountry'],
      ['outcome', 'byOutcome'],
    ] as const) {
      const shown = await page.locator(`[data-chart="${chart}"] li[data-key]`).evaluateAll((lis) =>
        lis.map((li) => {
          const label = li.querySelector('.label')!;
          const n = li.querySelector('.n') as HTMLElement;
          const track = li.querySelector('.track')!.getBoundingClientRect();
          const fill = li.querySelector('.fill')!.getBoundingClientRect();
          const box = n.getBoundingClientRect();
          const fig = li.closest('figure')!.getBoundingClientRect();
          return {
            key: li.getAttribute('data-key')!,
            label: label.textContent,
            count: n.textContent,
            // Legible: the whole number is drawn beside the bar, inside its card and the window, not clipped.
            beside: box.left >= track.right - 0.5,
            inside: box.left >= fig.left && box.right <= fig.right && box.right <= window.innerWidth,
            unclipped: n.scrollWidth <= n.clientWidth + 1 && box.width > 0,
            labelInside: label.getBoundingClientRect().left >= fig.left,
            // The bar is drawn, as long as its share of the longest.
            share: fill.width / track.width,
          };
        }),
      );
      assert.deepEqual(
        Object.fromEntries(shown.map((s) => [s.label, Number(s.count)])),
        api[key],
        `${chart} (${tag}): the labels and numbers on screen are the API's`,
      );
      const max = Math.max(...shown.map((s) => Number(s.count)));
      for (const s of shown) {
        assert.equal(s.key, s.label);
        assert.ok(
          Math.abs(s.share - Number(s.count) / max) < 0.05,
          `${chart} ${s.key} (${tag}): the bar is ${s.share.toFixed(2)} of the longest, its count ${s.count}/${max}`,
        );
        assert.deepEqual([s.beside, s.inside, s.unclipped, s.labelInside], [true, true, true, true], `${chart} ${s.key} (${tag}) is legible`);
      }
    }
    await page.screenshot({ path: join(ARTIFACTS, `overview-charts-${tag}.png`), fullPage: true });
  }
  // Drill-down: the refused count opens the Log page filtered to those records, and there are as many as the chart says.
  await page.setViewportSize({ width: 1366, height: 900 });
  const refused = Number(await page.locator('[data-chart="outcome"] li[data-key="refused"] .n').textContent());
  await page.locator('[data-chart="outcome"] li[data-key="refused"] a').click();
  await page.waitForFunction(() => window.location.hash.startsWith('#/log?'));
  const hash = new URLSearchParams((await page.evaluate(() => window.location.hash)).split('?')[1]);
  assert.deepEqual([hash.get('outcome'), hash.get('kind')], ['refused', 'access_record']);
  await page.getByTestId('active-filters').waitFor();
  const rows = page.locator('table[aria-label="Access records"] tr[data-index]');
  await rows.first().waitFor();
  assert.equal(await rows.count(), refused, 'as many records behind the count as it says');
  for (const t of await rows.locator('td:nth-child(4)').allTextContents()) assert.match(t, / · refused · /);
  await page.screenshot({ path: join(ARTIFACTS, 'log-drilldown-refused.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the Log page filters to one principal (server-side), pages, and opens a record in place whose inclusion proof verifies in the browser, at 1366 and 390 px', async () => {
  const { page, errors } = await openConsole();
  await as(page, 'monitor');
  for (const [width, height, tag] of WIDTHS) {
    await page.setViewportSize({ width, height });
    await go(page, 'log');
    await page.getByLabel('Principal').fill('austin-engineer');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.getByTestId('active-filters').filter({ hasText: 'principal = austin-engineer' }).waitFor();
    assert.match(await page.evaluate(() => window.location.hash), /^#\/log\?principal=austin-engineer$/);
    const rows = page.locator('table[aria-label="Access records"] tr[data-index]');
    await rows.first().waitFor();
    const api = await apiAs<{ records: { index: number; record: { principal: string } }[] }>(
      'monitor',
      `/v1/log/records?principal=austin-engineer&limit=50&before=${Number.MAX_SAFE_INTEGER}`,
    );
    const shownIndexes = (await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-index'))))).slice(0, api.body.records.length);
    assert.deepEqual(
      shownIndexes,
      api.body.records.map((r) => r.index),
      'the rows are the API page, newest first',
    );
    assert.ok(api.body.records.every((r) => r.record.principal === 'austin-engineer'));
    // Open the third row: it opens right under it, not at the bottom of the page.
    const target = rows.nth(Math.min(2, (await rows.count()) - 1));
    const index = Number(await target.getAttribute('data-index'));
    await target.getByRole('button', { name: `Open record ${index}` }).click();
    const opened = page.locator(`tr[data-index="${index}"] + tr[data-opened="${index}"]`);
    await opened.waitFor();
    assert.match((await opened.locator('pre').textContent())!, /"principal": "austin-engineer"/);
    await opened.getByRole('button', { name: 'Verify inclusion in this browser' }).click();
    const v = opened.getByTestId('verification');
    await v.waitFor();
    assert.equal(await v.getAttribute('data-root-matches'), 'true');
    assert.equal(await v.getAttribute('data-signature-valid'), 'true');
    assert.match((await v.textContent())!, /✓ included/);
    await page.screenshot({ path: join(ARTIFACTS, `log-filtered-verified-${tag}.png`), fullPage: true });
    // Paging: Older then Newer comes back to the same first row.
    const first = await rows.first().getAttribute('data-index');
    const older = page.getByRole('button', { name: 'Older' });
    if (await older.isEnabled()) {
      await older.click();
      await page.getByTestId('page-number').filter({ hasText: 'page 2' }).waitFor();
      await page.getByRole('button', { name: 'Newer' }).click();
      await page.getByTestId('page-number').filter({ hasText: 'page 1' }).waitFor();
      await rows.first().waitFor();
      assert.equal(await rows.first().getAttribute('data-index'), first);
    }
    await page.getByRole('button', { name: 'Clear' }).click();
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('the header shows the policy version, the checkpoint size and age and its witnesses; dark mode is honoured', async () => {
  const { page, errors } = await openConsole();
  const info = (await (await fetch(`${up.base}/v1/console/info`)).json()) as { policyVersion: string };
  const status = page.getByTestId('status');
  await status.getByTestId('checkpoint-size').waitFor();
  assert.equal(await status.getByTestId('policy-version').textContent(), info.policyVersion.slice(0, 12));
  const size = Number(await status.getByTestId('checkpoint-size').textContent());
  const note = await (await fetch(`${up.base}/log/checkpoint`)).text();
  assert.ok(size <= Number(note.split('\n')[1]) && size > 0, 'the size of a signed checkpoint');
  assert.match((await status.getByTestId('checkpoint-age').textContent())!, /^\d+(s|m \d\ds|h \d\dm)$/);
  const witnesses = note
    .split('\n')
    .filter((l) => l.startsWith('— ') && !l.startsWith(`— ${note.split('\n')[0]} `))
    .map((l) => l.split(' ')[1]);
  assert.equal(await status.getByTestId('cosigners').textContent(), witnesses.length ? `cosigned by ${witnesses.join(', ')}` : 'no witness cosignature');
  const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal(await background(), 'rgb(246, 247, 249)');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await background(), 'rgb(15, 18, 22)');
  await as(page, 'monitor');
  await page.locator('main h2').first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'overview-dark.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
