// Measuring a start of `cordon up --demo` (test/startup.slow.test.ts and bench/startup.ts): the quick
// start's first data read, the end of the background seeding, and resident memory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';

/** The quick start's read: austin-engineer, from Austin, reads demo-us-1 (its seeded grant shows the phone number). */
export async function readDemoUser(base: string, tokens: Record<string, string>): Promise<{ status: number; body: { fields?: Record<string, unknown> } }> {
  const r = await fetch(`${base}/v1/data/users/demo-us-1`, {
    headers: { authorization: `Bearer ${tokens['austin-engineer']}`, 'x-forwarded-for': '10.20.0.5' },
  });
  return { status: r.status, body: (await r.json()) as { fields?: Record<string, unknown> } };
}

/** Resident memory of process `pid` (VmRSS), in MB. */
export function residentMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/**
 * Waits until `cordon up --demo` has seeded its demo world (it writes `<data-dir>/demo/seeded.json`
 * when the background seeding ends) and returns what the marker says; throws if the process exits
 * first or `timeoutMs` passes.
 */
export async function waitForSeeding(dataDir: string, child: ChildProcess, timeoutMs: number, output: () => string = () => ''): Promise<{ users: number }> {
  const marker = join(dataDir, 'demo', 'seeded.json');
  const until = Date.now() + timeoutMs;
  while (!existsSync(marker)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cordon up exited before the demo world was seeded:\n${output()}`);
    if (Date.now() > until) throw new Error(`the demo world was not seeded within ${Math.round(timeoutMs / 1000)} s:\n${output()}`);
    await new Promise((done) => setTimeout(done, 250));
  }
  return JSON.parse(readFileSync(marker, 'utf8')) as { users: number };
}
