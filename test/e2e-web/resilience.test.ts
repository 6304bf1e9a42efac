import path from 'node:path';
import type { Page } from 'playwright-core';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import {
  browserAvailable,
  launch,
  screenshotOnFailure,
  startServer,
  type Browsing,
  type WebServer,
} from './harness.js';

const run = browserAvailable();
const SPEECH_MP3 = fixture('speech/spk01_m_en_librivox.mp3');

// No worker runs here, so a created voice stays pending and the library keeps
// refreshing; access tokens live 2 s, so the page keeps trading refresh tokens.
describe.skipIf(!run)('the web page while voices are pending and tokens expire', () => {
  let server: WebServer;
  let browsing: Browsing;
  let page: Page;

  const step = (name: string, fn: () => Promise<void>, timeout = 60_000) =>
    it(
      name,
      async () => {
        screenshotOnFailure(() => page, name);
        await fn();
      },
      timeout,
    );

  const stored = (key: 'access_token' | 'refresh_token' | 'user_id') =>
    page.evaluate<string>(`JSON.parse(localStorage.getItem('timbre.session')).${key}`);

  beforeAll(async () => {
    server = await startServer({ JWT_ACCESS_TTL_SEC: '2' }, { runWorker: false });
    // A worker counts as alive (creations are accepted) but runs nothing: voices stay pending.
    await server.t.app.services.heartbeats.start();
    browsing = await launch();
    ({ page } = await browsing.newPage());
    page.on('dialog', (d) => void d.accept());
  }, 120_000);

  afterAll(async () => {
    await browsing?.close();
    await server?.close();
  });

  step('registers, uploads and asks for a voice that stays pending', async () => {
    await page.goto(`${server.baseUrl}/`);
    await page.getByRole('tab', { name: 'Register' }).click();
    await page.getByLabel('User name (up to 18 characters)').fill('carol');
    await page
      .getByRole('tabpanel', { name: 'Register' })
      .getByLabel('E-mail or mobile phone')
      .fill(`carol.${Date.now()}@example.com`);
    await page.getByLabel('Password (at least 6 characters)', { exact: true }).fill('secret123');
    await page.getByRole('button', { name: 'Create account' }).click();
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: /Choose an audio file/ }).click();
    await (await chooser).setFiles(SPEECH_MP3);
    await page.getByText(`Uploaded ${path.basename(SPEECH_MP3)}`).waitFor();
    const form = page.locator('#create-form');
    await form.getByLabel('Voice name (up to 50 characters)').fill('Waiting');
    await form.getByLabel('Description').fill('never made here');
    await page.getByRole('button', { name: 'Create voice' }).click();
    await page.locator('#create-progress').getByText('Waiting for a worker…').waitFor();
  });

  step('trades an expired access token for a new pair without the user noticing', async () => {
    const before = await stored('access_token');
    const refreshBefore = await stored('refresh_token');
    await page.waitForTimeout(3000);
    const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'));
    await page.getByRole('button', { name: 'My files' }).click();
    expect((await refreshed).status()).toBe(200);
    await page.getByRole('listitem', { name: path.basename(SPEECH_MP3) }).waitFor();
    expect(await stored('access_token')).not.toBe(before);
    expect(await stored('refresh_token')).not.toBe(refreshBefore);
    expect(await page.getByRole('button', { name: 'Log out', exact: true }).isVisible()).toBe(true);
  });

  step(
    'keeps typing, an open Edit panel and the focus through library refreshes',
    async () => {
      // A ready voice beside the pending one, so a card has text to speak.
      const at = new Date(Date.now() - 60_000).toISOString();
      await server.t.db.db
        .insertInto('voices')
        .values({
          id: uuidv7(),
          voice_name: 'Ready one',
          voice_gender: 'female',
          voice_description: '',
          is_public: 0,
          sample_file_id: uuidv7(),
          audition_file_id: null,
          call_name: null,
          provider: 'offline',
          target_model: 'offline',
          status: 'ready',
          error_info: null,
          error_status: null,
          quality: null,
          created_by: await stored('user_id'),
          created_at: at,
          updated_at: at,
        })
        .execute();
      let listings = 0;
      page.on('response', (r) => {
        if (r.url().endsWith('/api/voice/get_voices') && r.status() === 200) listings += 1;
      });
      await page.getByRole('button', { name: 'Voice library' }).click();
      const ready = page.getByRole('article', { name: 'Ready one' });
      const pending = page.getByRole('article', { name: 'Waiting' });
      await ready.waitFor();
      await pending.getByText('Still queued').waitFor();

      await ready.getByLabel('Text for this voice to speak').fill('Half a sentence');
      await pending.locator('summary', { hasText: /^Edit$/ }).click();
      const name = pending.getByLabel('Voice name (up to 50 characters)');
      await name.fill('Waiting, renamed');
      await name.press('End');
      await page.keyboard.type(' still typing');
      const seen = listings;
      await expect
        .poll(() => listings, { timeout: 15_000, interval: 250 })
        .toBeGreaterThanOrEqual(seen + 2);
      await page.keyboard.type('!');

      expect(await name.inputValue()).toBe('Waiting, renamed still typing!');
      expect(
        await name.evaluate((el) => {
          const doc = (el as unknown as { ownerDocument: { activeElement: unknown } })
            .ownerDocument;
          return doc.activeElement === el;
        }),
      ).toBe(true);
      expect(await pending.locator('details').first().getAttribute('open')).not.toBeNull();
      expect(await ready.getByLabel('Text for this voice to speak').inputValue()).toBe(
        'Half a sentence',
      );
    },
    60_000,
  );
});
