// The README's quick start, timed: `cordon up --demo` on a fresh data directory (the whole demo
// world: three fixed users, 10,000 generated ones, their videos and comments), from the spawn to the
// first 200 on a data read, then its resident memory once the world is seeded and the server idles.
// Prints `startup: first 200 after N s, idle RSS M MB` (the goals: N <= 10 and M <= 350 on the
// project's machine). The time is printed, not asserted: a busy machine would make it flaky. (A busy
// port, refused before anything is opened: test/service-e2e.slow.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DEMO_USERS } from '../src/server/index.js';
import { startUp } from './helpers/up.js';
import { tempDir } from './helpers/temp.js';
import { readDemoUser, residentMb, waitForSeeding } from './helpers/startup.js';
import { assertSameHidden } from './helpers/hidden.js';

/** The goal is 350 MB; what is above it is room for a machine that runs other things. */
const RSS_CEILING_MB = 400;
/** After seeding, the server is left alone this long before its memory is read. */
const IDLE_MS = 5_000;
/** Seeding 50,000 records takes minutes on a busy two-core machine. */
const SEEDING_TIMEOUT_MS = 20 * 60_000;

test('the quick start serves its first read within seconds and idles small', { timeout: SEEDING_TIMEOUT_MS + 120_000 }, async () => {
  const dataDir = tempDir('cordon-startup-');
  const t0 = performance.now();
  // What `npm start` runs (`cordon up --demo`), on a free port and a fresh data directory.
  const up = await startUp(dataDir, ['--demo']);
  const { base, child, exited } = up;
  try {
    const first = await readDemoUser(base, up.tokens());
    const firstS = (performance.now() - t0) / 1000;
    assert.equal(first.status, 200);
    assert.equal(first.body.fields?.['username'], 'lonestar_lens');
    assertSameHidden(first.body.fields?.['phone_number'], '+15125550101', 'the seeded grant is in place at the first read');

    const seeded = await waitForSeeding(dataDir, child, SEEDING_TIMEOUT_MS, () => up.output().err);
    assert.equal(seeded.users, DEFAULT_DEMO_USERS, 'the whole demo world was seeded');
    await new Promise((done) => setTimeout(done, IDLE_MS));
    const rssMb = residentMb(child.pid!);

    console.log(`startup: first 200 after ${firstS.toFixed(1)} s, idle RSS ${Math.round(rssMb)} MB`);
    assert.ok(rssMb > 50, `${rssMb} MB is not the resident size of a node process with three PGlite stores`);
    assert.ok(rssMb <= RSS_CEILING_MB, `idle RSS ${Math.round(rssMb)} MB is over ${RSS_CEILING_MB} MB`);
    assert.equal((await readDemoUser(base, up.tokens())).status, 200, 'still serving once seeded');
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, 'Ctrl-C shuts down cleanly');
});
