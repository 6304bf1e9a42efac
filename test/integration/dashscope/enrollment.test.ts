/**
 * The DashScope provider's enrollment calls against the emulator, over real
 * sockets: the emulator downloads samples from a local fixture server.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../../emulator/server.js';
import {
  DashScopeVoiceProvider,
  type DashScopeProviderOptions,
} from '../../../src/providers/dashscope/index.js';
import { InstrumentedProvider } from '../../../src/providers/instrumented.js';
import {
  ProviderError,
  type ProviderVoice,
  type VoiceProvider,
} from '../../../src/providers/provider.js';
import {
  makeWav,
  readWavSamples,
  startFixtureServer,
  startLossyProxy,
  type FixtureServer,
  type LossyProxy,
} from './helpers.js';

const KEY = 'sk-integration-key-0001';
const GOOD = 'speech/spk02_m_en_jfk_16k_mono.wav';

let emu: EmulatorHandle;
let files: FixtureServer;
let proxy: LossyProxy;
const providers: DashScopeVoiceProvider[] = [];
const calls: string[] = [];

function provider(extra: Partial<DashScopeProviderOptions> = {}): DashScopeVoiceProvider {
  const p = new DashScopeVoiceProvider({
    apiKey: KEY,
    baseUrl: emu.httpBaseUrl,
    wsUrl: emu.wsUrl,
    requestTimeoutMs: 5000,
    createTimeoutMs: 5000,
    retries: 3,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    createSettleMs: 0,
    ...extra,
  });
  providers.push(p);
  return p;
}

/** `p` as the app wires it: measured by the instrumented wrapper, outcomes into `calls`. */
function measured(p: DashScopeVoiceProvider): VoiceProvider {
  return new InstrumentedProvider(p, (op, outcome) => calls.push(`${op}:${outcome}`));
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

function create(p: DashScopeVoiceProvider, rel = GOOD, prefix = 'itest'): Promise<ProviderVoice> {
  return p.createVoice({ sampleUrl: files.url(rel), targetModel: 'cosyvoice-v2', prefix });
}

beforeAll(async () => {
  files = await startFixtureServer();
  emu = await startEmulator({ port: 0, keys: [KEY], deployDelayMs: 300 });
  proxy = await startLossyProxy(emu.httpBaseUrl);
});
afterAll(async () => {
  await proxy.close();
  await emu.close();
  await files.close();
});
beforeEach(() => {
  emu.reset();
  emu.configure({ deployDelayMs: 300, quota: 1000, audioErrorHttpStatus: 400 });
  calls.length = 0;
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('DashScope enrollment against the emulator', () => {
  it('creates a voice that deploys: deploying, then ok', async () => {
    const p = provider();
    const voice = await create(p);
    expect(voice.id).toMatch(/^cosyvoice-v2-itest-[0-9a-f]{32}$/);
    expect(voice.status).toBe('deploying');
    expect((await p.getVoice(voice.id)).status).toBe('deploying');
    let status = 'deploying';
    const until = Date.now() + 3000;
    while (status === 'deploying' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await p.getVoice(voice.id)).status;
    }
    expect(status).toBe('ok');
    const info = await p.getVoice(voice.id);
    expect(info.targetModel).toBe('cosyvoice-v2');
    expect(info.createdAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(emu.stats().http.byAction.create_voice).toBe(1);
  });

  it('reports a voice whose review failed as undeployed', async () => {
    const p = provider();
    const voice = await create(p);
    emu.setVoiceStatus(voice.id, 'UNDEPLOYED');
    expect((await p.getVoice(voice.id)).status).toBe('undeployed');
  });

  it('accepts MP3 and M4A samples', async () => {
    const p = provider();
    await create(p, 'speech/spk02_m_en_jfk.mp3');
    await create(p, 'speech/spk01_m_en_librivox.m4a');
    expect(emu.voices()).toHaveLength(2);
  });

  it('lists voices by prefix, page by page', async () => {
    // Long enough that none of the three finishes deploying while we list, however slow the machine.
    emu.configure({ deployDelayMs: 60_000 });
    const p = provider();
    const a1 = await create(p, GOOD, 'aa');
    const a2 = await create(p, GOOD, 'aa');
    await create(p, GOOD, 'bb');
    const aa = await p.listVoices({ prefix: 'aa' });
    expect(aa.map((v) => v.id).sort()).toEqual([a1.id, a2.id].sort());
    expect(aa.every((v) => v.status === 'deploying')).toBe(true);
    const page0 = await p.listVoices({ prefix: 'aa', pageIndex: 0, pageSize: 1 });
    const page1 = await p.listVoices({ prefix: 'aa', pageIndex: 1, pageSize: 1 });
    const page2 = await p.listVoices({ prefix: 'aa', pageIndex: 2, pageSize: 1 });
    expect([...page0, ...page1].map((v) => v.id).sort()).toEqual([a1.id, a2.id].sort());
    expect(page2).toEqual([]);
    expect(await p.listVoices({})).toHaveLength(3);
  });

  it('queries an unknown voice as not_found', async () => {
    const err = await failure(
      provider().getVoice('cosyvoice-v2-itest-00000000000000000000000000000000'),
    );
    expect(err.kind).toBe('not_found');
    expect(err.details.providerCode).toBe('BadRequest.ResourceNotExist');
  });

  it('deletes a voice, and deleting it again resolves', async () => {
    const p = provider();
    const voice = await create(p);
    await p.deleteVoice(voice.id);
    expect(emu.voices()).toHaveLength(0);
    await p.deleteVoice(voice.id);
    expect((await failure(p.getVoice(voice.id))).kind).toBe('not_found');
    expect(emu.stats().http.byAction.delete_voice).toBe(2);
  });

  it('updates a voice from a new sample', async () => {
    const p = provider();
    const voice = await create(p);
    emu.setVoiceStatus(voice.id, 'OK');
    await p.updateVoice(voice.id, files.url('speech/spk01_m_en_librivox_16k_mono.wav'));
    expect(emu.voices()[0]?.resource_link).toBe(
      files.url('speech/spk01_m_en_librivox_16k_mono.wav'),
    );
    expect((await failure(p.updateVoice('cosyvoice-v2-itest-nope', files.url(GOOD)))).kind).toBe(
      'not_found',
    );
  });

  it('rejects a bad prefix without calling DashScope', async () => {
    const err = await failure(create(provider(), GOOD, 'Not-OK'));
    expect(err.kind).toBe('request');
    expect(emu.stats().http.total).toBe(0);
  });
});

describe('DashScope sample errors against the emulator', () => {
  let speech: Int16Array;
  beforeAll(async () => {
    speech = await readWavSamples(GOOD);
  });

  const cases: [string, string, RegExp, () => string][] = [
    [
      'a silent sample',
      'Audio.AudioSilentError',
      /silent or contains too little speech/,
      () => files.url('bad/silence_10s.wav'),
    ],
    [
      'a text file named .wav',
      'BadRequest.UnsupportedFileFormat',
      /not in a supported format: use 16-bit WAV, MP3 or M4A/,
      () => files.url('bad/text_renamed.wav'),
    ],
    [
      'a PNG named .mp3',
      'BadRequest.UnsupportedFileFormat',
      /not in a supported format/,
      () => files.url('bad/png_renamed.mp3'),
    ],
    [
      'a WAV with broken sizes',
      'Audio.DecoderError',
      /could not be decoded/,
      () => files.url('bad/wrong_header_sizes.wav'),
    ],
    [
      'a 3-second sample',
      'Audio.AudioShortError',
      /too short: the provider needs at least 5 seconds/,
      () => files.put('short.wav', makeWav(speech, 16000, 3)),
    ],
    [
      'an 8 kHz sample',
      'Audio.AudioRateError',
      /sample rate .* not supported: record it at 16 kHz or more/,
      () => files.put('8k.wav', makeWav(speech, 8000, 10)),
    ],
    [
      'an 11 MB sample',
      'Audio.FileSizeExceed',
      /too large: the provider accepts files of at most 10 MB/,
      () => files.put('big.wav', makeWav(speech, 48000, 120)),
    ],
  ];

  it.each(cases)(
    'rejects %s as kind sample (%s) with a useful message',
    async (_name, code, message, url) => {
      const p = provider();
      const err = await failure(
        p.createVoice({ sampleUrl: url(), targetModel: 'cosyvoice-v2', prefix: 'bad' }),
      );
      expect(err.kind).toBe('sample');
      expect(err.details.providerCode).toBe(code);
      expect(err.message).toMatch(message);
      expect(err.message).toContain('DashScope:');
      expect(emu.stats().http.byAction.create_voice).toBe(1); // a definite 4xx is not retried
      expect(emu.voices()).toHaveLength(0);
    },
  );

  it('maps the odd HTTP 430 to sample as well', async () => {
    emu.configure({ audioErrorHttpStatus: 430 });
    const err = await failure(create(provider(), 'bad/silence_10s.wav'));
    expect(err.kind).toBe('sample');
    expect(err.details.httpStatus).toBe(430);
  });

  it('reports an unreachable sample URL as unavailable, keeping the provider message', async () => {
    const p = provider({ retries: 1 });
    const err = await failure(create(p, 'speech/does-not-exist.wav'));
    expect(err.kind).toBe('unavailable');
    expect(err.details.providerCode).toBe('InternalError');
    expect(err.message).toContain('audio url returned HTTP 404');
    expect(emu.voices()).toHaveLength(0);
  });
});

describe('DashScope account errors against the emulator', () => {
  it('reports a bad key as auth, without the key in the message', async () => {
    const bad = 'sk-wrong-0123456789';
    const p = provider({ apiKey: bad });
    const err = await failure(p.listVoices({}));
    expect(err.kind).toBe('auth');
    expect(err.details.httpStatus).toBe(401);
    expect(err.message).toMatch(/DashScope API key was rejected/);
    expect(err.message).not.toContain(bad);
    expect(JSON.stringify(err.details)).not.toContain(bad);
    expect(emu.stats().http.unauthorized).toBe(1); // not retried
  });

  it('reports a full voice quota as quota', async () => {
    emu.configure({ quota: 1 });
    const p = provider();
    await create(p);
    const err = await failure(create(p));
    expect(err.kind).toBe('quota');
    expect(err.message).toMatch(/voice quota is full/);
    expect(emu.stats().http.byAction.create_voice).toBe(2);
  });

  it('retries a 429 Throttling.AllocationQuota as a rate limit, and reads the 400 one as the quota', async () => {
    const p = provider();
    emu.injectFault({
      target: 'http',
      kind: 'status',
      status: 429,
      code: 'Throttling.AllocationQuota',
      action: 'create_voice',
      times: 2,
    });
    const voice = await create(p);
    expect(emu.stats().http.byAction.create_voice).toBe(3);
    expect(emu.voices().map((v) => v.voice_id)).toEqual([voice.id]);
    emu.injectFault({
      target: 'http',
      kind: 'status',
      status: 400,
      code: 'Throttling.AllocationQuota',
      action: 'create_voice',
    });
    expect((await failure(create(p))).kind).toBe('quota');
  });

  it('reports access denied and arrears as auth', async () => {
    const p = provider();
    emu.injectFault({
      target: 'http',
      kind: 'status',
      status: 403,
      code: 'AccessDenied.Unpurchased',
    });
    expect((await failure(p.listVoices({}))).kind).toBe('auth');
    emu.injectFault({
      target: 'http',
      kind: 'status',
      status: 400,
      code: 'Arrearage',
      message: 'Access denied, please make sure your account is in good standing.',
    });
    const err = await failure(p.listVoices({}));
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/arrears/);
  });
});

describe('DashScope retries against the emulator', () => {
  it('rides out a 429 storm on reads', async () => {
    const p = measured(provider());
    emu.injectFault({ target: 'http', kind: 'throttling', times: 3, action: 'list_voice' });
    expect(await p.listVoices({ prefix: 'x' })).toEqual([]);
    expect(emu.stats().http.byAction.list_voice).toBe(4);
    expect(calls).toEqual(['list:ok']);
  });

  it('retries a throttled create (refused, so safe) and makes one voice', async () => {
    const p = provider();
    emu.injectFault({ target: 'http', kind: 'throttling', times: 2, action: 'create_voice' });
    await create(p);
    expect(emu.stats().http.byAction.create_voice).toBe(3);
    expect(emu.voices()).toHaveLength(1);
  });

  it('gives up on a 5xx storm beyond the retry budget with unavailable', async () => {
    const p = provider({ retries: 2 });
    const voice = await create(p);
    emu.injectFault({ target: 'http', kind: 'internal-error', times: 10, action: 'query_voice' });
    const err = await failure(p.getVoice(voice.id));
    expect(err.kind).toBe('unavailable');
    expect(err.details.httpStatus).toBe(500);
    expect(emu.stats().http.byAction.query_voice).toBe(3);
  });

  it('treats ModelUnavailable and non-JSON gateway pages as unavailable, and retries them', async () => {
    const p = provider();
    emu.injectFault({ target: 'http', kind: 'model-unavailable', action: 'list_voice' });
    emu.injectFault({ target: 'http', kind: 'non-json', action: 'list_voice' });
    expect(await p.listVoices({})).toEqual([]);
    expect(emu.stats().http.byAction.list_voice).toBe(3);

    const q = provider({ retries: 0 });
    emu.injectFault({ target: 'http', kind: 'non-json', action: 'list_voice' });
    const err = await failure(q.listVoices({}));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/not JSON/);
  });

  it('times out a hanging provider as unavailable', async () => {
    const p = provider({ requestTimeoutMs: 150, retries: 1 });
    emu.injectFault({ target: 'http', kind: 'hang', times: 2, action: 'list_voice' });
    const started = Date.now();
    const err = await failure(p.listVoices({}));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/did not answer list_voice within 150 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports outcomes through the instrumented wrapper', async () => {
    const p = measured(provider());
    const voice = await p.createVoice({
      sampleUrl: files.url(GOOD),
      targetModel: 'cosyvoice-v2',
      prefix: 'itest',
    });
    await p.getVoice(voice.id);
    await p.deleteVoice(voice.id);
    await p.getVoice(voice.id).catch(() => undefined);
    expect(calls).toEqual(['create:ok', 'query:ok', 'delete:ok', 'query:not_found']);
  });
});

describe('DashScope create with an unknown outcome, against the emulator', () => {
  function viaProxy(extra: Partial<DashScopeProviderOptions> = {}): DashScopeVoiceProvider {
    return provider({ baseUrl: proxy.baseUrl, ...extra });
  }

  it('adopts the voice when the emulator created it but the answer never came (timeout)', async () => {
    const p = viaProxy({ requestTimeoutMs: 1500, createTimeoutMs: 1500 });
    proxy.loseCreates('hang');
    const voice = await create(p);
    expect(proxy.lost()).toBe(1);
    expect(emu.stats().http.byAction.create_voice).toBe(1);
    expect(emu.voices().map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('adopts the voice when the connection broke after the emulator created it', async () => {
    const p = viaProxy();
    proxy.loseCreates('reset');
    const before = proxy.lost();
    const voice = await create(p);
    expect(proxy.lost()).toBe(before + 1);
    expect(emu.stats().http.byAction.create_voice).toBe(1);
    expect(emu.voices().map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('adopts a voice that lands after the timeout, by waiting before it looks', async () => {
    // The emulator answers late: it only starts creating after our timeout.
    const p = provider({ createTimeoutMs: 200, createSettleMs: 1000, createSettlePollMs: 100 });
    emu.injectFault({ target: 'http', kind: 'latency', ms: 400, action: 'create_voice' });
    const voice = await create(p);
    expect(emu.stats().http.byAction.create_voice).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(emu.voices().map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('asks list_voice before creating only when the caller does not say what exists', async () => {
    const p = provider();
    await create(p);
    expect(emu.stats().http.byAction.list_voice).toBe(1);
    const known = await p.createVoice({
      sampleUrl: files.url(GOOD),
      targetModel: 'cosyvoice-v2',
      prefix: 'itest2',
      existingVoiceIds: [],
    });
    expect(emu.stats().http.byAction.list_voice).toBe(1);
    expect(emu.voices().map((v) => v.voice_id)).toContain(known.id);
  });

  it('retries when a hung create made nothing, and ends with exactly one voice', async () => {
    const p = provider({ createTimeoutMs: 200, createSettleMs: 50 });
    emu.injectFault({ target: 'http', kind: 'hang', action: 'create_voice' });
    const voice = await create(p);
    expect(emu.stats().http.byAction.create_voice).toBe(2);
    expect(emu.voices().map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('waits for a create slower than the old 15 s request timeout: one call, one voice', async () => {
    // Scaled down: other calls time out after 200 ms, a create after 3 s.
    const p = provider({ requestTimeoutMs: 200, createTimeoutMs: 3000 });
    emu.injectFault({ target: 'http', kind: 'latency', ms: 800, action: 'create_voice' });
    const voice = await create(p);
    expect(emu.stats().http.byAction.create_voice).toBe(1);
    expect(emu.voices().map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('after a create timeout, keeps looking until the create must have landed: never a second voice', async () => {
    // The voice appears 1.5 s after a create that timed out at 200 ms; a
    // single look (the old behaviour) would miss it and enrol again.
    const p = provider({ createTimeoutMs: 200, createSettleMs: 4000, createSettlePollMs: 100 });
    emu.injectFault({ target: 'http', kind: 'latency', ms: 1500, action: 'create_voice' });
    const voice = await create(p);
    await new Promise((r) => setTimeout(r, 500));
    expect(emu.stats().http.byAction.create_voice).toBe(1);
    expect(emu.voices().map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('retries after a 5xx that made nothing, and ends with exactly one voice', async () => {
    const p = provider();
    emu.injectFault({ target: 'http', kind: 'internal-error', times: 2, action: 'create_voice' });
    const voice = await create(p);
    expect(emu.stats().http.byAction.create_voice).toBe(3);
    expect(emu.voices().map((v) => v.voice_id)).toEqual([voice.id]);
  });

  it('leaves voices of other samples with the same prefix alone', async () => {
    const p = viaProxy({ requestTimeoutMs: 1500, createTimeoutMs: 1500 });
    const other = await create(provider(), 'speech/spk01_m_en_librivox_16k_mono.wav');
    proxy.loseCreates('reset');
    const voice = await create(p);
    const ids = emu.voices().map((v) => v.voice_id);
    expect(ids).toHaveLength(2);
    expect(ids).toContain(other.id);
    expect(ids).toContain(voice.id);
    expect(emu.stats().http.byAction.create_voice).toBe(2);
  });
});
