import { describe, expect, it } from 'vitest';
import {
  DashScopeVoiceProvider,
  type DashScopeProviderOptions,
} from '../../../src/providers/dashscope/index.js';
import { InstrumentedProvider } from '../../../src/providers/instrumented.js';
import { ProviderError } from '../../../src/providers/provider.js';
import { FakeEnrollment } from './fake-enrollment.js';

const URL_A = 'http://samples.test/a.wav';
const URL_B = 'http://samples.test/b.wav';

function provider(
  fake: FakeEnrollment,
  extra: Partial<DashScopeProviderOptions> = {},
): DashScopeVoiceProvider {
  return new DashScopeVoiceProvider({
    apiKey: fake.key,
    baseUrl: 'http://dashscope.test/api/v1',
    fetch: fake.fetch,
    requestTimeoutMs: 100,
    createTimeoutMs: 100,
    createSettlePollMs: 20,
    retries: 3,
    minRetryDelayMs: 1,
    maxRetryDelayMs: 5,
    listPageSize: 2,
    createSettleMs: 0,
    ...extra,
  });
}

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('DashScope createVoice: never a blind retry', () => {
  it('creates once when the first attempt succeeds', async () => {
    const fake = new FakeEnrollment();
    const voice = await provider(fake).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(voice.status).toBe('deploying');
    expect(voice.id).toMatch(/^cosyvoice-v2-abc-/);
    expect(fake.count('create_voice')).toBe(1);
  });

  it('adopts the voice a timed-out create made instead of creating another', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('create-then-hang');
    const voice = await provider(fake).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(fake.voices).toHaveLength(1);
    expect(voice.id).toBe(fake.voices[0]?.voice_id);
    expect(fake.count('create_voice')).toBe(1);
  });

  it('adopts after a 5xx that came back after the voice was made', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('create-then-500');
    const voice = await provider(fake).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(fake.voices.map((v) => v.voice_id)).toEqual([voice.id]);
    expect(fake.count('create_voice')).toBe(1);
  });

  it('ignores voices that existed before, across several list pages', async () => {
    const fake = new FakeEnrollment();
    const old = [fake.add('abc', URL_A), fake.add('abc', URL_A), fake.add('abc', URL_A)];
    fake.createScript.push('create-then-hang');
    const voice = await provider(fake).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(old.map((v) => v.voice_id)).not.toContain(voice.id);
    expect(fake.voices).toHaveLength(4);
  });

  it('does not adopt a concurrent voice made from another sample; retries the create instead', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('hang', 'ok');
    const p = provider(fake);
    const pending = p.createVoice({ sampleUrl: URL_A, targetModel: 'cosyvoice-v2', prefix: 'abc' });
    // someone else's voice with the same prefix appears while ours hangs
    setTimeout(() => fake.add('abc', URL_B), 20);
    const voice = await pending;
    expect(fake.count('create_voice')).toBe(2);
    expect(fake.voices).toHaveLength(2);
    expect(fake.voices.find((v) => v.voice_id === voice.id)?.resource_link).toBe(URL_A);
  });

  it('retries the create when nothing was made (5xx before creating)', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('500', 'network', 'ok');
    const voice = await provider(fake).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(fake.count('create_voice')).toBe(3);
    expect(fake.voices.map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('retries a throttled create without looking (the request was refused)', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('429', '429', 'ok');
    const p = provider(fake);
    await p.createVoice({ sampleUrl: URL_A, targetModel: 'cosyvoice-v2', prefix: 'abc' });
    expect(fake.count('create_voice')).toBe(3);
    // only the baseline list, no reconciliation lists
    expect(fake.count('list_voice')).toBe(1);
  });

  it('gives up with unavailable after the retry budget, having made nothing', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('500', '500', '500', '500', '500');
    const err = await rejection(
      provider(fake, { retries: 2 }).createVoice({
        sampleUrl: URL_A,
        targetModel: 'cosyvoice-v2',
        prefix: 'abc',
      }),
    );
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('audio preprocess server error');
    expect(fake.count('create_voice')).toBe(3);
    expect(fake.voices).toHaveLength(0);
  });

  it('keeps the newest of several duplicates from its own attempts and deletes the rest', async () => {
    const fake = new FakeEnrollment();
    fake.delayMs = 150; // attempt 1's voice appears only after we looked and retried
    fake.createScript.push('create-later-then-hang', 'create-then-hang');
    const voice = await provider(fake, { requestTimeoutMs: 100, createTimeoutMs: 100 }).createVoice(
      {
        sampleUrl: URL_A,
        targetModel: 'cosyvoice-v2',
        prefix: 'abc',
      },
    );
    expect(fake.count('create_voice')).toBe(2);
    expect(fake.count('delete_voice')).toBe(1);
    expect(fake.voices.map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('waits for a timed-out create to land before deciding nothing was made', async () => {
    const fake = new FakeEnrollment();
    fake.delayMs = 150; // the server finishes the create after our 100 ms timeout
    fake.createScript.push('create-later-then-hang');
    const voice = await provider(fake, { createTimeoutMs: 100, createSettleMs: 150 }).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(fake.count('create_voice')).toBe(1);
    expect(fake.voices.map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('retries a create that never left (connection refused) without looking or waiting', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('network', 'ok');
    const started = Date.now();
    await provider(fake, { createSettleMs: 10_000 }).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.count('create_voice')).toBe(2);
    expect(fake.count('list_voice')).toBe(1);
  });

  it('after a retried create succeeds, removes a late voice of the earlier attempt', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('hang', 'ok');
    // attempt 1's voice lands just as attempt 2 is sent
    fake.beforeCreate = (n) => {
      if (n === 2) fake.add('abc', URL_A);
    };
    const voice = await provider(fake).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(fake.voices.map((v) => v.voice_id)).toEqual([voice.id]);
    expect(fake.count('delete_voice')).toBe(1);
  });

  it('deletes a duplicate found while adopting', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('create-then-hang');
    const p = provider(fake);
    // Simulate an earlier attempt of this same call whose voice showed up late:
    // two new voices with our prefix and sample appear during the call.
    const pending = p.createVoice({ sampleUrl: URL_A, targetModel: 'cosyvoice-v2', prefix: 'abc' });
    setTimeout(() => fake.add('abc', URL_A), 10);
    const voice = await pending;
    expect(fake.voices.map((v) => v.voice_id)).toEqual([voice.id]);
    expect(fake.count('delete_voice')).toBe(1);
  });

  it('adopts a lone new voice whose sample link cannot be read', async () => {
    const fake = new FakeEnrollment();
    fake.hideResourceLink = true;
    fake.createScript.push('create-then-hang');
    const voice = await provider(fake).createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(fake.voices.map((v) => v.voice_id)).toEqual([voice.id]);
    expect(fake.count('create_voice')).toBe(1);
  });

  it('refuses to guess between several unverifiable new voices, and does not retry', async () => {
    const fake = new FakeEnrollment();
    fake.hideResourceLink = true;
    fake.createScript.push('create-then-hang');
    const p = provider(fake);
    const pending = p.createVoice({ sampleUrl: URL_A, targetModel: 'cosyvoice-v2', prefix: 'abc' });
    setTimeout(() => fake.add('abc', URL_B), 10);
    const err = await rejection(pending);
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/cannot be told apart/);
    expect(fake.count('create_voice')).toBe(1);
    expect(fake.voices).toHaveLength(2);
  });

  it('when the check itself fails, does not retry and looks again on the next call', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('create-then-hang');
    const p = provider(fake, { retries: 1 });
    const pending = p.createVoice({ sampleUrl: URL_A, targetModel: 'cosyvoice-v2', prefix: 'abc' });
    // baseline list ok; then the reconciliation list fails twice (1 retry)
    fake.otherScript.push('ok', '500', '500');
    const err = await rejection(pending);
    expect(err.kind).toBe('unavailable');
    expect(fake.count('create_voice')).toBe(1);
    const again = await p.createVoice({
      sampleUrl: URL_A,
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(fake.count('create_voice')).toBe(1);
    expect(fake.voices.map((v) => v.voice_id)).toEqual([again.id]);
  });

  it('does not let two concurrent creates adopt the same voice', async () => {
    const fake = new FakeEnrollment();
    fake.createScript.push('ok', 'create-then-hang');
    const p = provider(fake);
    const [a, b] = await Promise.all([
      p.createVoice({ sampleUrl: URL_A, targetModel: 'cosyvoice-v2', prefix: 'abc' }),
      p.createVoice({ sampleUrl: URL_A, targetModel: 'cosyvoice-v2', prefix: 'abc' }),
    ]);
    expect(a.id).not.toBe(b.id);
    expect(fake.voices).toHaveLength(2);
  });

  it('rejects a bad prefix before calling DashScope', async () => {
    const fake = new FakeEnrollment();
    const err = await rejection(
      provider(fake).createVoice({
        sampleUrl: URL_A,
        targetModel: 'cosyvoice-v2',
        prefix: 'Bad-Prefix',
      }),
    );
    expect(err.kind).toBe('request');
    expect(fake.calls).toHaveLength(0);
  });
});

describe('DashScope enrollment calls', () => {
  it('maps statuses and reports unknown voices as not_found', async () => {
    const fake = new FakeEnrollment();
    const v = fake.add('abc', URL_A);
    const p = provider(fake);
    expect((await p.getVoice(v.voice_id)).status).toBe('deploying');
    v.status = 'OK';
    expect(await p.getVoice(v.voice_id)).toMatchObject({
      status: 'ok',
      targetModel: 'cosyvoice-v2',
    });
    v.status = 'UNDEPLOYED';
    expect((await p.getVoice(v.voice_id)).status).toBe('undeployed');
    expect((await rejection(p.getVoice('cosyvoice-v2-abc-nope'))).kind).toBe('not_found');
  });

  it('deletes idempotently', async () => {
    const fake = new FakeEnrollment();
    const v = fake.add('abc', URL_A);
    const p = provider(fake);
    await p.deleteVoice(v.voice_id);
    await p.deleteVoice(v.voice_id);
    expect(fake.voices).toHaveLength(0);
  });

  it('retries throttled and failing reads, honouring Retry-After', async () => {
    const fake = new FakeEnrollment();
    fake.add('abc', URL_A);
    fake.retryAfter = 0.2;
    fake.otherScript.push('429', '500', 'ok');
    const started = Date.now();
    const list = await provider(fake).listVoices({ prefix: 'abc' });
    expect(list).toHaveLength(1);
    expect(fake.count('list_voice')).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('does not wait for a Retry-After beyond its limit: throttled with retryAfter', async () => {
    const fake = new FakeEnrollment();
    fake.retryAfter = 120;
    fake.otherScript.push('429');
    const err = await rejection(provider(fake).listVoices({ prefix: 'abc' }));
    expect(err.kind).toBe('throttled');
    expect(err.details.retryAfter).toBe(120);
    expect(fake.count('list_voice')).toBe(1);
  });

  it('treats a non-JSON gateway page as unavailable', async () => {
    const fake = new FakeEnrollment();
    fake.otherScript.push('html', 'html', 'html', 'html');
    const err = await rejection(provider(fake).listVoices({}));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/not JSON/);
  });

  it('times out a hanging call as unavailable', async () => {
    const hang: typeof fetch = (_u, init) =>
      new Promise((_r, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
      );
    const p = new DashScopeVoiceProvider({
      apiKey: 'k-123456',
      fetch: hang,
      requestTimeoutMs: 50,
      retries: 1,
      minRetryDelayMs: 1,
    });
    const err = await rejection(p.getVoice('x'));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/did not answer query_voice within 50 ms/);
  });

  it('rethrows the caller abort as is, and reports it as aborted', async () => {
    const hang: typeof fetch = (_u, init) =>
      new Promise((_r, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
      );
    const calls: string[] = [];
    const p = new InstrumentedProvider(
      new DashScopeVoiceProvider({ apiKey: 'k-123456', fetch: hang }),
      (op, outcome) => calls.push(`${op}:${outcome}`),
    );
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const err: unknown = await p.getVoice('x', ac.signal).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ProviderError);
    expect((err as Error).name).toBe('AbortError');
    expect(calls).toEqual(['query:aborted']);
  });

  it('reports each port call, with its outcome, through the instrumented wrapper', async () => {
    const fake = new FakeEnrollment();
    const calls: string[] = [];
    const p = new InstrumentedProvider(provider(fake), (op, outcome, seconds) =>
      calls.push(`${op}:${outcome}:${seconds >= 0}`),
    );
    const v = await p.createVoice({ sampleUrl: URL_A, targetModel: 'cosyvoice-v2', prefix: 'abc' });
    await p.getVoice(v.id);
    await p.deleteVoice(v.id);
    await p.getVoice(v.id).catch(() => undefined);
    expect(calls).toEqual([
      'create:ok:true',
      'query:ok:true',
      'delete:ok:true',
      'query:not_found:true',
    ]);
  });

  it('says the key was rejected without saying the key', async () => {
    const fake = new FakeEnrollment('the-right-key');
    const p = new DashScopeVoiceProvider({
      apiKey: 'sk-wrong-key-42',
      fetch: fake.fetch,
      retries: 0,
    });
    const err = await rejection(p.listVoices({}));
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/API key was rejected/);
    expect(err.message).not.toContain('sk-wrong-key-42');
  });
});
