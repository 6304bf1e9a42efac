import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { onTestFailed } from 'vitest';
import type { AppDeps } from '../../src/app.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { repoRoot } from '../helpers/fixtures.js';
import { freePort } from '../helpers/spawn.js';

export const CHROMIUM = '/usr/bin/chromium';
/** How long expect.poll waits for the page (its default second is short on a loaded machine). */
export const WAIT = { timeout: 20_000 };
export const hasChromium = existsSync(CHROMIUM);
/** Screenshots of failed steps; ignored by git. */
export const artifactsDir = path.join(repoRoot, 'test', 'e2e-web', 'artifacts');

/**
 * Whether browser tests run here. In CI a missing Chromium is a failure
 * (`.ci/run` installs it); elsewhere the tests skip and say why.
 */
export function browserAvailable(): boolean {
  if (hasChromium) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: install the chromium package`);
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
  return false;
}

/** Flags for a closed network: no background fetches, no QUIC, a fake microphone. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

export interface WebServer {
  t: TestApp;
  baseUrl: string;
  close(): Promise<void>;
}

/** The whole server (offline engine, SQLite) listening on a free port. */
export async function startServer(
  env: Record<string, string> = {},
  deps: Partial<Omit<AppDeps, 'config' | 'db'>> = {},
): Promise<WebServer> {
  const t = await makeApp('sqlite', { VOICE_PROVIDER: 'offline', ...env }, deps);
  const port = await freePort();
  await t.app.listen({ port, host: '127.0.0.1' });
  return { t, baseUrl: `http://127.0.0.1:${port}`, close: () => t.close() };
}

export interface Browsing {
  browser: Browser;
  /** A fresh context (its own storage) with English or Chinese as the browser's language. */
  newPage(opts?: { locale?: string }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/**
 * Debian's Chromium. Playwright starts it with a fresh, temporary profile
 * directory (--user-data-dir) of its own and removes it on close.
 */
export async function launch(): Promise<Browsing> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 60_000,
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async newPage(opts = {}) {
      const context = await browser.newContext({
        locale: opts.locale ?? 'en-GB',
        acceptDownloads: true,
        permissions: ['microphone'],
      });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      return { context, page };
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
    },
  };
}

/**
 * Collects what the page reports that a user would not see: uncaught errors,
 * console errors (CSP violations among them).
 */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  return problems;
}

/** Keeps a screenshot of `page` when the running test fails. */
export function screenshotOnFailure(page: () => Page | undefined, name: string): void {
  onTestFailed(async () => {
    const p = page();
    if (!p) return;
    mkdirSync(artifactsDir, { recursive: true });
    const file = path.join(artifactsDir, `${name.replace(/[^A-Za-z0-9_-]+/g, '_')}.png`);
    await p.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    console.error(`screenshot of the failed step: ${file}`);
  });
}

const axeSource = readFileSync(
  path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js'),
  'utf8',
);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * Runs axe-core in the page (evaluated through the debugging protocol, so the
 * page's CSP stays on) and returns the serious and critical violations.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Expressions as strings: they run in the page, where `axe` and `document` live.
  const loaded = await page.evaluate("typeof window.axe !== 'undefined'");
  if (!loaded) await page.evaluate(axeSource);
  const violations = await page.evaluate<AxeViolation[]>(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  );
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A readable list of violations for an assertion message. */
export function describeViolations(vs: AxeViolation[]): string {
  return vs
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => JSON.stringify(n.target)).join('\n  ')}`,
    )
    .join('\n');
}
