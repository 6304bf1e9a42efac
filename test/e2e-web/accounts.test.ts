// Pages for routes the accounts work adds (sessions, API keys, password,
// consent, voices made from my recordings). They run only against a server
// whose OpenAPI document lists those routes, and say so when they skip.
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, registerUser } from '../helpers/app.js';
import { fixture } from '../helpers/fixtures.js';
import {
  browserAvailable,
  describeViolations,
  launch,
  screenshotOnFailure,
  seriousViolations,
  startServer,
  WAIT,
  type Browsing,
  type WebServer,
} from './harness.js';

const NEEDED = [
  'GET /api/auth/sessions',
  'DELETE /api/auth/sessions/{}',
  'POST /api/auth/logout',
  'POST /api/auth/logout_all',
  'POST /api/auth/api_keys',
  'GET /api/auth/api_keys',
  'DELETE /api/auth/api_keys/{}',
  'POST /api/auth/change_password',
  'GET /api/file/{}/voices',
];

/** The routes this server's OpenAPI document (/docs/json) lists, as "METHOD /path/{}". */
async function serverRoutes(): Promise<Set<string>> {
  const t = await makeApp('sqlite');
  try {
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    const doc = res.json<{ paths: Record<string, Record<string, unknown>> }>();
    const out = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const m of Object.keys(ops))
        out.add(`${m.toUpperCase()} ${p.replace(/\{[^}]*\}/g, '{}')}`);
    }
    return out;
  } finally {
    await t.close();
  }
}

const routes = await serverRoutes();
const missing = NEEDED.filter((r) => !routes.has(r));
if (missing.length) {
  console.warn(
    `account page tests skipped: this server does not offer ${missing.join(', ')} (they come with the accounts work)`,
  );
}
const run = missing.length === 0 && browserAvailable();
const SPEECH_MP3 = fixture('speech/spk01_m_en_librivox.mp3');

describe.skipIf(!run)('account pages: sessions, API keys, password, consent', () => {
  let server: WebServer;
  let browsing: Browsing;
  let page: Page;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;

  const step = (name: string, fn: () => Promise<void>, timeout = 60_000) =>
    it(
      name,
      async () => {
        screenshotOnFailure(() => page, name);
        await fn();
      },
      timeout,
    );

  async function logIn(p: Page, email: string, password = 'secret123') {
    await p.goto(`${server.baseUrl}/`);
    const panel = p.getByRole('tabpanel', { name: 'Log in' });
    await panel.getByLabel('E-mail or mobile phone').fill(email);
    await panel.getByLabel('Password').fill(password);
    await panel.getByRole('button', { name: 'Log in' }).click();
    await p.getByRole('button', { name: 'Account' }).waitFor();
  }

  beforeAll(async () => {
    server = await startServer();
    browsing = await launch();
    alice = await registerUser(server.t.app, 'alice');
    bob = await registerUser(server.t.app, 'bob');
    ({ page } = await browsing.newPage());
    page.on('dialog', (d) => void d.accept());
    await logIn(page, alice.email);
  }, 120_000);

  afterAll(async () => {
    await browsing?.close();
    await server?.close();
  });

  step('lists where I am signed in and ends another session', async () => {
    const other = await browsing.newPage();
    try {
      await logIn(other.page, alice.email);
      await page.getByRole('button', { name: 'Account' }).click();
      const list = page.locator('#session-list');
      await expect.poll(() => list.getByRole('listitem').count(), WAIT).toBeGreaterThanOrEqual(2);
      expect(await list.getByText('this device').count()).toBe(1);
      const ends = list.getByRole('button', { name: /^End session on/ });
      const before = await ends.count();
      await ends.first().click();
      await page.getByText('That session has ended.').waitFor();
      await expect.poll(() => ends.count(), WAIT).toBe(before - 1);
      const vs = await seriousViolations(page);
      expect(vs, describeViolations(vs)).toEqual([]);
    } finally {
      await other.context.close();
    }
  });

  step('creates an API key shown once, lists it without the secret, revokes it', async () => {
    await page.getByLabel('Name of the new key').fill('Open WebUI');
    await page.getByRole('button', { name: 'Create key' }).click();
    const value = page.getByLabel('New API key');
    await expect.poll(() => value.inputValue(), WAIT).toMatch(/^tmb_/);
    const secret = await value.inputValue();
    const item = page.locator('#key-list').getByRole('listitem').filter({ hasText: 'Open WebUI' });
    await item.waitFor();
    expect(await page.locator('#key-list').innerText()).not.toContain(secret);
    await item.getByRole('button', { name: 'Revoke the key Open WebUI' }).click();
    await page.getByText('The key “Open WebUI” is revoked.').waitFor();
    await page.locator('#key-list').getByText('No keys yet.').waitFor();
  });

  step(
    'clones a public recording of someone else only with consent; its owner sees the voice',
    async () => {
      const bobPage = await browsing.newPage();
      try {
        bobPage.page.on('dialog', (d) => void d.accept());
        await logIn(bobPage.page, bob.email);
        await bobPage.page.getByRole('button', { name: 'Create a voice' }).click();
        await bobPage.page.getByLabel('Make the file public').check();
        const chooser = bobPage.page.waitForEvent('filechooser');
        await bobPage.page.getByRole('button', { name: /Choose an audio file/ }).click();
        await (await chooser).setFiles(SPEECH_MP3);
        await bobPage.page.getByText(`Uploaded ${path.basename(SPEECH_MP3)}`).waitFor();

        await page.getByRole('button', { name: 'My files' }).click();
        await page.getByLabel('Only my files').uncheck();
        const row = page.getByRole('listitem', { name: path.basename(SPEECH_MP3) });
        await row.getByRole('button', { name: 'Make a voice from this' }).click();
        const form = page.locator('#create-form');
        const consent = form.getByLabel(/agreed to have their voice cloned/);
        await consent.waitFor();
        // The property `required` reflects to the attribute.
        expect(await consent.getAttribute('required')).not.toBeNull();
        await form.getByLabel('Voice name (up to 50 characters)').fill('Borrowed');
        await form.getByLabel('Description').fill('with consent');
        await consent.check();
        const created = page.waitForResponse((r) => r.url().includes('/api/voice/create_voice'));
        await page.getByRole('button', { name: 'Create voice' }).click();
        expect((await created).status()).toBe(202);

        await bobPage.page.getByRole('button', { name: 'My files' }).click();
        const mine = bobPage.page.getByRole('listitem', { name: path.basename(SPEECH_MP3) });
        await mine.locator('summary', { hasText: 'Voices made from this recording' }).click();
        await mine.getByText('Borrowed').waitFor();
      } finally {
        await bobPage.context.close();
      }
    },
  );

  step('changes the password; the new one logs in', async () => {
    await page.getByRole('button', { name: 'Account' }).click();
    await page.getByLabel('Current password').fill('secret123');
    await page.getByLabel('New password (at least 6 characters)').fill('better-secret');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await logIn(page, alice.email, 'better-secret');
  });

  step('logs out everywhere', async () => {
    await page.getByRole('button', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Log out everywhere' }).click();
    await page.getByRole('heading', { name: 'Welcome to Timbre' }).waitFor();
  });
});
