// The console in Debian's chromium (playwright-core) against `cordon up --demo`: what the console's
// browser tests share (test/console.test.ts, and the sweep of every page for every persona in
// test/console-pages.slow.test.ts).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startUp, type RunningUp } from './up.js';
import { ROOT } from './paths.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
export const PAGES = ['overview', 'data', 'access', 'log', 'flows', 'policy', 'findings'];
export const WIDTHS = [
  [1366, 900, 'wide'],
  [390, 844, 'narrow'],
] as const;

/** Debian's chromium, headless, as .ci/run installs it. */
export async function launchChromium(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export interface Persona {
  id: string;
  token: string;
  forwardedFor?: string;
}

export interface ConsoleRun {
  readonly up: RunningUp;
  readonly browser: Browser;
  readonly personas: Persona[];
  /** The API as `persona` (from its own site unless `from` says otherwise). */
  apiAs<T>(persona: string, path: string, from?: string): Promise<{ status: number; body: T }>;
  /** A page whose console errors and uncaught exceptions are collected (each test asserts none). */
  openConsole(width?: number, height?: number): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Starts `cordon up --demo` in a fresh data directory and chromium beside it. */
export async function startConsole(): Promise<ConsoleRun> {
  mkdirSync(join(ARTIFACTS, 'pages'), { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'cordon-console-'));
  let up: RunningUp | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    up?.child.kill('SIGINT');
    await up?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    [up, browser] = await Promise.all([startUp(dataDir), launchChromium()]);
  } catch (err) {
    await close();
    throw err;
  }
  const base = up.base;
  const personas = ((await (await fetch(`${base}/v1/demo/personas`)).json()) as { personas: Persona[] }).personas;
  const b = browser;
  return {
    up,
    browser: b,
    personas,
    async apiAs<T>(persona: string, path: string, from?: string) {
      const p = personas.find((x) => x.id === persona)!;
      const headers: Record<string, string> = { authorization: `Bearer ${p.token}` };
      const xff = from ?? p.forwardedFor;
      if (xff) headers['x-forwarded-for'] = xff;
      const r = await fetch(`${base}${path}`, { headers });
      return { status: r.status, body: (await r.json()) as T };
    },
    async openConsole(width = 1366, height = 900) {
      const page = await b.newPage({ viewport: { width, height } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/`);
      return { page, errors };
    },
    close,
  };
}

/** Acts as `persona` (the persona picker of the demo's console). */
export async function as(page: Page, persona: string): Promise<void> {
  await page.getByLabel('Persona').selectOption(persona);
}

/** Opens the console page `name` by its link. */
export async function go(page: Page, name: string): Promise<void> {
  await page.getByRole('link', { name: name[0]!.toUpperCase() + name.slice(1), exact: true }).click();
  await page.waitForFunction((h) => window.location.hash === `#/${h}`, name);
}
