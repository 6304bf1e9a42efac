import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import {
  browserAvailable,
  describeViolations,
  launch,
  screenshotOnFailure,
  seriousViolations,
  startServer,
  watchProblems,
  WAIT,
  type Browsing,
  type WebServer,
} from './harness.js';

const run = browserAvailable();
const SPEECH_MP3 = fixture('speech/spk01_m_en_librivox.mp3');
const SPEECH_FLAC = fixture('speech/spk01_m_en_librivox.flac');
const SPEECH_WAV = fixture('speech/spk01_m_en_librivox_16k_mono.wav');
const PNG = fixture('images/sample_256x256.png');
const PNG_AS_MP3 = fixture('bad/png_renamed.mp3');
const READY_MS = 120_000;

/** The committed 16-bit WAV with every sample scaled down: speech far below −40 dBFS. */
function quietWav(dir: string): string {
  const buf = Buffer.from(readFileSync(SPEECH_WAV));
  for (let i = 44; i + 1 < buf.length; i += 2)
    buf.writeInt16LE(Math.round(buf.readInt16LE(i) * 0.004), i);
  const out = path.join(dir, 'quiet-take.wav');
  writeFileSync(out, buf);
  return out;
}

describe.skipIf(!run)('the web page in Chromium', () => {
  let server: WebServer;
  let browsing: Browsing;
  let alice: { context: BrowserContext; page: Page };
  let page: Page;
  let problems: string[];
  let tmp: string;
  const email = (who: string) => `${who}.${Date.now()}@example.com`;
  const aliceEmail = email('alice');
  const bobEmail = email('bob');

  const step = (name: string, fn: () => Promise<void>, timeout = 60_000) =>
    it(
      name,
      async () => {
        screenshotOnFailure(() => page, name);
        await fn();
      },
      timeout,
    );

  async function expectAccessible(where: string) {
    const vs = await seriousViolations(page);
    expect(vs, `${where}:\n${describeViolations(vs)}`).toEqual([]);
  }

  async function register(p: Page, username: string, mail: string) {
    await p.goto(`${server.baseUrl}/`);
    await p.getByRole('tab', { name: 'Register' }).click();
    await p.getByLabel('User name (up to 18 characters)').fill(username);
    await p
      .getByRole('tabpanel', { name: 'Register' })
      .getByLabel('E-mail or mobile phone')
      .fill(mail);
    await p.getByLabel('Password (at least 6 characters)', { exact: true }).fill('secret123');
    await p.getByRole('button', { name: 'Create account' }).click();
    await expect
      .poll(() => p.getByRole('button', { name: 'Voice library' }).isVisible(), WAIT)
      .toBe(true);
  }

  async function uploadThroughDropZone(file: string) {
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: /Choose an audio file/ }).click();
    await (await chooser).setFiles(file);
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'timbre-web-'));
    server = await startServer({ JOB_CONCURRENCY: '2' });
    browsing = await launch();
    alice = await browsing.newPage({ locale: 'en-GB' });
    page = alice.page;
    problems = watchProblems(page);
    page.on('dialog', (d) => void d.accept());
  }, 120_000);

  afterAll(async () => {
    await browsing?.close();
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  step('serves the page under a strict Content-Security-Policy; /docs still renders', async () => {
    const res = await page.goto(`${server.baseUrl}/`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await expect
      .poll(() => page.getByRole('heading', { name: 'Welcome to Timbre' }).isVisible(), WAIT)
      .toBe(true);
    await expectAccessible('log-in form');

    const docs = await browsing.newPage();
    await docs.page.goto(`${server.baseUrl}/docs`);
    await docs.page.waitForSelector('.swagger-ui .info .title', { timeout: 30_000 });
    expect(await docs.page.locator('.swagger-ui .info .title').innerText()).toContain('Timbre');
    await docs.context.close();
  });

  step('the Log in / Register tabs say which is selected and follow the arrow keys', async () => {
    const login = page.getByRole('tab', { name: 'Log in' });
    const reg = page.getByRole('tab', { name: 'Register' });
    expect(await login.getAttribute('aria-selected')).toBe('true');
    await login.focus();
    await page.keyboard.press('ArrowRight');
    expect(await reg.getAttribute('aria-selected')).toBe('true');
    expect(await login.getAttribute('aria-selected')).toBe('false');
    expect(await page.getByRole('tabpanel', { name: 'Register' }).isVisible()).toBe(true);
    expect(await page.evaluate('document.activeElement.id')).toBe('tab-register');
    await page.keyboard.press('ArrowLeft');
    expect(await login.getAttribute('aria-selected')).toBe('true');
  });

  step('registers and lands on “Create a voice”', async () => {
    await register(page, 'alice', aliceEmail);
    expect(
      await page.getByRole('button', { name: 'Create a voice' }).getAttribute('aria-current'),
    ).toBe('page');
    await expectAccessible('create view');
  });

  step('refuses a PNG in the audio drop zone, before and after upload', async () => {
    const uploads: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/file/upload')) uploads.push(r.url());
    });
    await uploadThroughDropZone(PNG);
    await expect
      .poll(
        () => page.getByRole('alert').filter({ hasText: 'That is not an audio file' }).count(),
        WAIT,
      )
      .toBe(1);
    expect(uploads).toEqual([]);
    // A PNG named .mp3 gets past the name check; the server's answer still says no.
    const refused = page.waitForResponse((r) => r.url().includes('/api/file/upload'));
    await uploadThroughDropZone(PNG_AS_MP3);
    expect((await refused).status()).toBe(415);
    await expect
      .poll(() =>
        page
          .getByRole('alert')
          .filter({ hasText: /does not match|not an audio/ })
          .count(),
      )
      .toBe(1);
    expect(await page.getByRole('button', { name: 'Listen' }).isVisible()).toBe(false);
  });

  step('uploads a sample and shows its quality as words, with a named meter', async () => {
    await uploadThroughDropZone(SPEECH_MP3);
    await expect
      .poll(() => page.getByText('Uploaded spk01_m_en_librivox.mp3').isVisible(), WAIT)
      .toBe(true);
    await page.getByRole('button', { name: 'Check sample quality' }).click();
    const meter = page.getByRole('meter', { name: /Quality score: \d+ of 100/ });
    await meter.waitFor();
    expect(Number(await meter.getAttribute('value'))).toBeGreaterThan(50);
    expect(await page.locator('#quality').innerText()).toMatch(/Good sample|Usable for cloning/);
    await expectAccessible('quality panel');
  });

  step(
    'creates a voice, follows it to ready and plays the audition',
    async () => {
      const form = page.locator('#create-form');
      await form.getByLabel('Voice name (up to 50 characters)').fill('Narrator');
      await form.getByLabel('Gender').selectOption({ label: 'Male' });
      await form.getByLabel('Description').fill('Calm reader');
      await page.getByRole('button', { name: 'Create voice' }).click();
      await page.getByText('Your voice is ready.').waitFor({ timeout: READY_MS });
      const audition = page.waitForResponse((r) => /\/api\/voice\/[^/]+\/audition$/.test(r.url()));
      await page.locator('#create-progress').getByRole('button', { name: 'Play audition' }).click();
      expect((await audition).status()).toBe(200);
      await expect
        .poll(() => page.locator('#create-progress audio').getAttribute('src'), WAIT)
        .toMatch(/^blob:/);
    },
    READY_MS + 30_000,
  );

  step(
    'the library lists newest first and speaks with the chosen settings, then downloads',
    async () => {
      await page.getByRole('button', { name: 'Voice library' }).click();
      expect(await page.getByLabel('Order').inputValue()).toBe('newest');
      const card = page.getByRole('article', { name: 'Narrator' });
      await card.waitFor();
      await card.locator('summary', { hasText: 'Voice settings' }).click();
      await card.getByLabel('Format').selectOption('wav');
      await card.getByLabel('Sample rate').selectOption('16000');
      await card.getByLabel('Speed').fill('1.5');
      await card.getByLabel('Text for this voice to speak').fill('Hello from the test.');
      const synth = page.waitForRequest((r) => r.url().endsWith('/synthesize'));
      await card.getByRole('button', { name: 'Speak' }).click();
      const body = (await synth).postDataJSON();
      expect(body).toMatchObject({
        text: 'Hello from the test.',
        format: 'wav',
        sample_rate: 16000,
        rate: 1.5,
      });
      await expect.poll(() => card.locator('audio').getAttribute('src'), WAIT).toMatch(/^blob:/);

      const download = page.waitForEvent('download');
      await card.getByRole('button', { name: 'Download' }).click();
      const d = await download;
      expect(d.suggestedFilename()).toBe('Narrator.wav');
      const saved = path.join(tmp, 'speech.wav');
      await d.saveAs(saved);
      const bytes = readFileSync(saved);
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect(bytes.readUInt32LE(24)).toBe(16000);
      await expectAccessible('library');
    },
  );

  step('edits a voice in place', async () => {
    const card = page.getByRole('article', { name: 'Narrator' });
    await card.locator('summary', { hasText: /^Edit$/ }).click();
    await card.getByLabel('Voice name (up to 50 characters)').fill('Narrator Two');
    await card.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('article', { name: 'Narrator Two' }).getByText('Saved.').waitFor();
  });

  step('shares with a second user, who sees it, then revokes', async () => {
    const bob = await browsing.newPage();
    try {
      await register(bob.page, 'bob', bobEmail);
      const card = page.getByRole('article', { name: 'Narrator Two' });
      await card.locator('summary', { hasText: /^Share$/ }).click();
      await card.getByLabel('Share with (their e-mail or phone)').fill(bobEmail);
      await card.getByRole('button', { name: 'Share', exact: true }).click();
      await card.getByText('Shared with bob.').waitFor();

      await bob.page.getByRole('button', { name: 'Voice library' }).click();
      const seen = bob.page.getByRole('article', { name: 'Narrator Two' });
      await seen.waitFor();
      expect(await seen.getByText('Shared with you').isVisible()).toBe(true);
      // Not the owner: no owner tools.
      expect(await seen.getByRole('button', { name: /Delete voice/ }).count()).toBe(0);

      await card.getByRole('button', { name: 'Revoke for bob' }).click();
      await card.getByText('No longer shared with bob.').waitFor();
      await bob.page.getByRole('button', { name: 'Search' }).click();
      await expect
        .poll(() => bob.page.getByRole('article', { name: 'Narrator Two' }).count(), WAIT)
        .toBe(0);
    } finally {
      await bob.context.close();
    }
  });

  step(
    'creates several voices at once, each with its own gender',
    async () => {
      await page.getByRole('button', { name: 'Create a voice' }).click();
      await uploadThroughDropZone(SPEECH_FLAC);
      await page.getByText('Uploaded spk01_m_en_librivox.flac').waitFor();
      const batch = page.locator('#batch-form');
      await batch.getByRole('checkbox', { name: 'spk01_m_en_librivox.mp3' }).check();
      await batch.getByRole('checkbox', { name: 'spk01_m_en_librivox.flac' }).check();
      await batch.getByLabel('Voice name for spk01_m_en_librivox.mp3').fill('Batch A');
      await batch.getByLabel('Voice name for spk01_m_en_librivox.flac').fill('Batch B');
      await batch.getByLabel('Description for all').fill('Made together');
      // A missing gender is asked for, not defaulted.
      await batch.getByLabel('Gender for spk01_m_en_librivox.mp3').selectOption('female');
      await page.getByRole('button', { name: 'Create the ticked voices' }).click();
      await batch.getByText('Choose a gender for each ticked sample.').waitFor();
      await batch.getByLabel('Gender for spk01_m_en_librivox.flac').selectOption('other');
      await page.getByRole('button', { name: 'Create the ticked voices' }).click();
      await batch.getByText('2 of 2 voices are being made.').waitFor();
      const progress = page.locator('#batch-progress');
      await expect
        .poll(() => progress.getByText('Your voice is ready.').count(), {
          timeout: READY_MS,
          interval: 1000,
        })
        .toBe(2);

      const token = await page.evaluate<string>(
        "JSON.parse(localStorage.getItem('timbre.session')).access_token",
      );
      const mine = await server.t.app.inject({
        method: 'GET',
        url: '/api/voice/my_voices',
        headers: { authorization: `Bearer ${token}` },
      });
      const genders = Object.fromEntries(
        mine
          .json()
          .voices.map((v: { voice_name: string; voice_gender: string }) => [
            v.voice_name,
            v.voice_gender,
          ]),
      );
      expect(genders).toMatchObject({ 'Batch A': 'female', 'Batch B': 'other' });
    },
    READY_MS * 2,
  );

  step(
    'shows quality codes as words in both languages, follows the switch and remembers it',
    async () => {
      await uploadThroughDropZone(quietWav(tmp));
      await page.getByText('Uploaded quiet-take.wav').waitFor();
      await page.getByRole('button', { name: 'Check sample quality' }).click();
      await page.locator('#quality').getByText('Too quiet', { exact: true }).waitFor();
      await page.getByLabel('Language').selectOption('zh');
      await page.getByRole('button', { name: '音色库' }).waitFor();
      expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
      await page.getByRole('button', { name: '检测样本质量' }).click();
      await page.locator('#quality').getByText('音量太小', { exact: true }).waitFor();
      expect(await page.locator('body').innerText()).not.toContain('too_quiet');
      await expectAccessible('Chinese create view');
      await page.reload();
      await page.getByRole('button', { name: '创建音色' }).first().waitFor();
      await page.getByLabel('语言').selectOption('en');
      await page.getByRole('button', { name: 'Voice library' }).waitFor();
    },
  );

  step('picks Chinese from the browser’s languages on a first visit', async () => {
    const zh = await browsing.newPage({ locale: 'zh-CN' });
    try {
      await zh.page.goto(`${server.baseUrl}/`);
      await zh.page.getByRole('heading', { name: '欢迎使用 Timbre' }).waitFor();
      expect(await zh.page.getByRole('tab', { name: '注册' }).isVisible()).toBe(true);
    } finally {
      await zh.context.close();
    }
  });

  step(
    'records from the microphone with a level meter, uploads the take and checks it',
    async () => {
      await page.getByRole('button', { name: 'Create a voice' }).click();
      await page.getByRole('button', { name: 'Record with the microphone' }).click();
      const level = page.getByRole('meter', { name: 'Input level' });
      await expect
        .poll(() => level.evaluate((el) => (el as unknown as { value: number }).value), {
          timeout: 10_000,
        })
        .toBeGreaterThan(0);
      await page.waitForTimeout(6000);
      await page.getByRole('button', { name: 'Stop recording' }).click();
      await page.getByText(/^Uploaded recording-.*\.wav/).waitFor({ timeout: 30_000 });
      await page.getByRole('meter', { name: /Quality score/ }).waitFor({ timeout: 30_000 });
      expect(await page.locator('#sample-info').innerText()).toMatch(/wav|pcm/i);
    },
    90_000,
  );

  step('a failed voice offers Delete only; deleting a voice removes its card', async () => {
    const userId = await page.evaluate<string>(
      "JSON.parse(localStorage.getItem('timbre.session')).user_id",
    );
    const at = new Date().toISOString();
    await server.t.db.db
      .insertInto('voices')
      .values({
        id: uuidv7(),
        voice_name: 'Broken',
        voice_gender: 'male',
        voice_description: '',
        is_public: 0,
        sample_file_id: uuidv7(),
        audition_file_id: null,
        call_name: null,
        provider: 'offline',
        target_model: 'offline',
        status: 'failed',
        error_info: 'sample judged too_quiet',
        error_status: 422,
        quality: null,
        created_by: userId,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await page.getByRole('button', { name: 'Voice library' }).click();
    const broken = page.getByRole('article', { name: 'Broken' });
    await broken.waitFor();
    expect(await broken.getByText('Creation failed').isVisible()).toBe(true);
    expect(await broken.innerText()).not.toContain('too_quiet');
    expect(await broken.getByText('Too quiet', { exact: false }).count()).toBeGreaterThan(0);
    expect(await broken.locator('summary', { hasText: /^Edit$/ }).isVisible()).toBe(false);
    expect(await broken.locator('summary', { hasText: /^Share$/ }).isVisible()).toBe(false);
    await broken.getByRole('button', { name: 'Delete voice Broken' }).click();
    await expect.poll(() => page.getByRole('article', { name: 'Broken' }).count(), WAIT).toBe(0);

    await page
      .getByRole('article', { name: 'Narrator Two' })
      .getByRole('button', { name: 'Delete voice Narrator Two' })
      .click();
    await expect
      .poll(() => page.getByRole('article', { name: 'Narrator Two' }).count(), WAIT)
      .toBe(0);
    await page.getByText('Deleted “Narrator Two”.').waitFor();
  });

  step('files and account pages pass the accessibility check', async () => {
    await page.getByRole('button', { name: 'My files' }).click();
    await page.getByRole('listitem', { name: 'spk01_m_en_librivox.mp3' }).waitFor();
    await expectAccessible('files');
    await page.getByRole('button', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await expectAccessible('account');
  });

  step('logs out, and the page reported no errors or policy violations on the way', async () => {
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.getByRole('heading', { name: 'Welcome to Timbre' }).waitFor();
    expect(await page.evaluate("localStorage.getItem('timbre.session')")).toBeNull();
    // The PNG-as-MP3 upload answers 4xx or the app's own messages; nothing else.
    expect(problems.filter((p) => !/status of 4\d\d/.test(p))).toEqual([]);
  });
});
