// Every page of the console for every persona of the demo, in Debian's chromium at 1366 px and
// 390 px: each renders with its requests answered and no console error or uncaught exception, Tab
// reaches a control, and each is captured under test-artifacts/console/pages/ (PERSONA-PAGE-wide.jpg
// and -narrow.jpg) for people to look at. In the slow suite: 10 personas × 7 pages × 2 widths.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, PAGES, WIDTHS, as, go, startConsole, type ConsoleRun } from './helpers/console-browser.js';

let run: ConsoleRun;
before(async () => {
  run = await startConsole();
});
after(async () => {
  await run?.close();
});

test('every page renders for every persona without console errors at 1366 and 390 px, and is keyboard-reachable', async () => {
  const { personas } = run;
  assert.ok(personas.length >= 8, `the demo's personas: ${personas.map((p) => p.id).join(', ')}`);
  for (const [width, height, tag] of WIDTHS) {
    const { page, errors } = await run.openConsole(width, height);
    for (const persona of personas) {
      await as(page, persona.id);
      for (const name of PAGES) {
        await go(page, name);
        await page.locator('main h2').first().waitFor();
        // Loaded: the page's own requests answered (nothing says Loading… any more).
        await page.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading…'));
        await page.screenshot({ path: join(ARTIFACTS, 'pages', `${persona.id}-${name}-${tag}.jpg`), fullPage: true, type: 'jpeg', quality: 70 });
      }
      assert.deepEqual(errors, [], `${persona.id} (${tag}): ${errors.join('; ')}`);
    }
    // Keyboard: Tab reaches the page links.
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.tagName);
    assert.ok(['SELECT', 'A', 'BUTTON', 'INPUT'].includes(focused ?? ''), `Tab focuses a control, got ${focused}`);
    await page.close();
  }
});
