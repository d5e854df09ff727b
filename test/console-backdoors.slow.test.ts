// The console's flow page shows the backdoors the databases' own audit trails reveal, and says when
// that view is stale: `cordon up --demo` on a copy of the demo policy whose cordon.yaml flows.audit
// reads a csvlog for enclave_us (one legacy dashboard read of phone_number) and one for enclave_eu
// that cannot be read. In a real browser (Debian's chromium through playwright-core).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startUp, type RunningUp } from './helpers/up.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const CHROMIUM = '/usr/bin/chromium';
/** One csvlog record as PostgreSQL 15 writes it with pgaudit (made here; no real value in it). */
const RECORD =
  '2026-12-03 13:47:21.119 UTC,"legacy_dashboard","cordon_test",6599,"10.20.0.7:33138",6b1172e9.19c7,8,"BIND",2026-12-03 13:47:21 UTC,4/7,0,LOG,00000,' +
  '"AUDIT: SESSION,6,1,READ,SELECT,TABLE,public.ds_users,""select phone_number from ds_users where key = \'u-1\'"",<not logged>",,,,,,,,,"grafana","client backend",,0\n';

let up: RunningUp;
let browser: Browser;
let missing: string;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  const dir = tempDir('cordon-console-backdoors-');
  const policy = join(dir, 'policy');
  cpSync(DEMO_POLICY, policy, { recursive: true });
  const csvlog = join(dir, 'us.csv');
  missing = join(dir, 'eu.csv');
  writeFileSync(csvlog, RECORD);
  const yaml = join(policy, 'cordon.yaml');
  writeFileSync(
    yaml,
    `${readFileSync(yaml, 'utf8')}  audit:\n    - { store: enclave_us, csvlog: "${csvlog}" }\n    - { store: enclave_eu, csvlog: "${missing}" }\n`,
  );
  up = await startUp(join(dir, 'data'), ['--demo', '--demo-users', '0', '--policy', policy]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});
after(async () => {
  await browser?.close();
  up?.child.kill('SIGINT');
  await up?.exited;
});

test('the flow page lists the backdoor and says the view is stale while a trail cannot be read', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${up.base}/`);
  await page.getByLabel('Persona').selectOption('monitor');
  await page.getByRole('link', { name: 'Flows', exact: true }).click();
  const item = page.locator('[data-backdoor]');
  await item.first().waitFor();
  assert.equal(await item.count(), 1);
  assert.equal(await item.getAttribute('data-backdoor'), 'legacy_dashboard');
  const text = ((await item.textContent()) ?? '').replace(/\s+/g, ' ');
  assert.match(
    text,
    /^role "legacy_dashboard" read enclave_us public\.ds_users \(key, phone_number\) from 10\.20\.0\.7:33138 at 2026-12-03T13:47:21\.119Z — protected: phone_number \(US\)/,
  );
  assert.match(text, /select phone_number from ds_users where key = \$1 — .*us\.csv:1$/);
  assert.ok(!text.includes("'u-1'"), 'the literal is not shown');
  const stale = page.locator('[data-backdoors-stale]');
  assert.equal(await stale.getAttribute('role'), 'alert');
  assert.equal(
    ((await stale.textContent()) ?? '').replace(/, last read never\)$/, ')'),
    `The backdoor view is stale: enclave_eu (cannot read ${missing}: ENOENT)`,
  );
  assert.deepEqual(errors, []);
  await page.close();
});
