import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { analyzeSpeech } from '../../../src/audio/analysis.js';
import { decodeAudio } from '../../../src/audio/decode.js';
import { encodeWav } from '../../../src/audio/encode.js';
import { probeAudio } from '../../../src/audio/probe.js';
import {
  compareToProfile,
  DEFAULT_AUDITION_TEXT,
  OfflineVoiceProvider,
  semitones,
  type StyleProfile,
} from '../../../src/providers/offline/index.js';
import {
  ProviderError,
  type AudioFormat,
  type ProviderVoice,
} from '../../../src/providers/provider.js';
import { AudioWork } from '../../../src/workers/audio-work.js';
import { CpuPool } from '../../../src/workers/cpu-pool.js';
import { fixture, hasSharedData, sharedDataDir } from '../../helpers/fixtures.js';

const MODEL = 'offline-style-v1';
const ENGLISH = 'The weather is lovely today, shall we go for a walk in the park?';

let dir: string;
let provider: OfflineVoiceProvider;
let cpu: CpuPool;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'offline-voices-'));
  cpu = new CpuPool({ threads: 2, maxQueue: 16, taskTimeoutMs: 60_000, taskMemoryMb: 256 });
  provider = new OfflineVoiceProvider({
    dir,
    cpu,
    audio: new AudioWork(cpu, { maxSampleSec: 120 }),
  });
});
afterAll(async () => {
  await provider.close();
  await cpu.close();
  await rm(dir, { recursive: true, force: true });
});

async function create(file: string, prefix = 'test'): Promise<ProviderVoice> {
  const bytes = new Uint8Array(await readFile(file));
  return provider.createVoice({
    sampleUrl: 'http://unused.invalid/',
    readSample: async () => bytes,
    targetModel: MODEL,
    prefix,
  });
}

async function speak(voiceId: string, text: string, format: AudioFormat, sampleRate = 24000) {
  const chunks: Uint8Array[] = [];
  for await (const c of provider.synthesize({
    voiceId,
    targetModel: MODEL,
    text,
    format,
    sampleRate,
  }))
    chunks.push(c);
  return new Uint8Array(Buffer.concat(chunks));
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('OfflineVoiceProvider', () => {
  let male: ProviderVoice;
  let maleProfile: StyleProfile;
  const outputF0: Record<string, number> = {};

  beforeAll(async () => {
    male = await create(fixture('speech/spk01_m_en_librivox.flac'));
    maleProfile = await provider.getProfile(male.id);
  });

  it('enrols a usable sample as an id-stable, immediately ready style profile on disk', async () => {
    expect(male.id).toMatch(/^offline-test-[0-9a-f]{32}$/);
    expect(male).toMatchObject({ status: 'ok', targetModel: MODEL });
    expect(await provider.getVoice(male.id)).toEqual(male);
    const stored = JSON.parse(await readFile(path.join(dir, `${male.id}.json`), 'utf8')) as {
      method: string;
    };
    expect(stored.method).toBe('style-match');
    expect(maleProfile.variant).toBe('male');
    expect(maleProfile.f0MedianHz).toBeGreaterThan(85);
    expect(maleProfile.f0MedianHz).toBeLessThan(125);
    expect(provider.description).toMatch(/not a neural voice clone/);
  });

  it.each(['wav', 'mp3'] as const)(
    'speaks the Chinese audition text as %s near the sample pitch',
    async (format) => {
      const bytes = await speak(male.id, DEFAULT_AUDITION_TEXT, format);
      expect((await probeAudio(bytes)).container).toBe(format);
      const pcm = await decodeAudio(bytes);
      expect(pcm.sampleRate).toBe(24000);
      expect(pcm.durationSec).toBeGreaterThan(0.8);
      expect(pcm.durationSec).toBeLessThan(6);
      const out = analyzeSpeech(pcm);
      expect(out.voicedRatio).toBeGreaterThan(0.2);
      expect(Math.abs(semitones(out.f0MedianHz!, maleProfile.f0MedianHz))).toBeLessThan(2.5);
      outputF0.male = out.f0MedianHz!;
    },
  );

  it('speaks English at the sample pitch and pace and reports how close it came', async () => {
    const pcm = await decodeAudio(await speak(male.id, ENGLISH, 'wav', 16000));
    expect(pcm.durationSec).toBeGreaterThan(2);
    expect(pcm.durationSec).toBeLessThan(8);
    const report = compareToProfile(maleProfile, pcm);
    expect(Math.abs(report.pitchErrorSemitones!)).toBeLessThan(2.5);
    expect(report.rateRatio).toBeGreaterThan(0.7);
    expect(report.rateRatio).toBeLessThan(1.4);
  });

  it('applies rate and volume and streams raw PCM', async () => {
    const base = {
      voiceId: male.id,
      targetModel: MODEL,
      text: ENGLISH,
      format: 'pcm' as const,
      sampleRate: 16000,
    };
    const collect = async (extra: object) => {
      const chunks: Uint8Array[] = [];
      for await (const c of provider.synthesize({ ...base, ...extra })) chunks.push(c);
      const bytes = Buffer.concat(chunks);
      return Float32Array.from(
        { length: bytes.length / 2 },
        (_, i) => bytes.readInt16LE(i * 2) / 32768,
      );
    };
    const normal = await collect({});
    const fastQuiet = await collect({ rate: 2, volume: 25 });
    expect(fastQuiet.length / normal.length).toBeLessThan(0.7);
    const peak = (x: Float32Array) => x.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak(fastQuiet) / peak(normal)).toBeCloseTo(0.5, 1);
    // the raw stream is the same audio the WAV path wraps
    expect((await probeAudio(encodeWav(normal, 16000))).durationSec).toBeCloseTo(
      normal.length / 16000,
      2,
    );
  });

  it.runIf(hasSharedData)(
    'makes a female sample speak clearly higher than a male one',
    async () => {
      const female = await create(
        path.join(sharedDataDir, 'speech/spk03_f_en_allison_a.flac'),
        'fem',
      );
      const profile = await provider.getProfile(female.id);
      expect(profile.variant).toBe('female');
      const out = analyzeSpeech(
        await decodeAudio(await speak(female.id, DEFAULT_AUDITION_TEXT, 'mp3')),
      );
      expect(Math.abs(semitones(out.f0MedianHz!, profile.f0MedianHz))).toBeLessThan(2.5);
      const maleF0 = outputF0.male ?? maleProfile.f0MedianHz;
      expect(semitones(out.f0MedianHz!, maleF0)).toBeGreaterThan(5);
      expect(await provider.listVoices({ prefix: 'fem' })).toEqual([
        await provider.getVoice(female.id),
      ]);
    },
  );

  it.each([
    ['bad/silence_10s.wav', 'Audio.Silent'],
    ['bad/white_noise_10s.wav', 'Audio.Noisy'],
    ['bad/tone_sweep_10s.wav', 'Audio.NotSpeech'],
    ['bad/text_renamed.wav', 'Audio.WrongType'],
    ['images/sample_256x256.png', 'Audio.WrongType'],
    ['bad/corrupt_truncated.mp3', 'Audio.Corrupt'],
  ])('rejects %s as an unusable sample', async (file, code) => {
    const error = await rejection(create(fixture(file)));
    expect(error.kind).toBe('sample');
    expect(error.details.providerCode).toBe(code);
    expect(error.message.length).toBeGreaterThan(20);
  });

  it('rejects a sample that is too short', async () => {
    const pcm = await decodeAudio(
      new Uint8Array(await readFile(fixture('speech/spk01_m_en_librivox_16k_mono.wav'))),
    );
    const short = encodeWav(pcm.samples.subarray(0, 2 * pcm.sampleRate), pcm.sampleRate);
    const error = await rejection(
      provider.createVoice({
        sampleUrl: 'x',
        readSample: async () => short,
        targetModel: MODEL,
        prefix: 'test',
      }),
    );
    expect(error.kind).toBe('sample');
    expect(error.message).toMatch(/Record at least 10 seconds/);
  });

  it('refuses other models and bad prefixes as request errors', async () => {
    const bytes = new Uint8Array(0);
    const wrongModel = await rejection(
      provider.createVoice({
        sampleUrl: 'x',
        readSample: async () => bytes,
        targetModel: 'cosyvoice-v2',
        prefix: 'test',
      }),
    );
    expect(wrongModel.kind).toBe('request');
    const badPrefix = await rejection(
      provider.createVoice({
        sampleUrl: 'x',
        readSample: async () => bytes,
        targetModel: MODEL,
        prefix: 'Bad-Prefix',
      }),
    );
    expect(badPrefix.kind).toBe('request');
  });

  it('reports unknown voices as not_found', async () => {
    const unknown = `offline-test-${'0'.repeat(32)}`;
    expect((await rejection(provider.getVoice(unknown))).kind).toBe('not_found');
    expect((await rejection(speak(unknown, 'hello', 'wav'))).kind).toBe('not_found');
    expect((await rejection(speak('../../etc/passwd', 'hello', 'wav'))).kind).toBe('not_found');
  });

  it('rejects empty, over-long and mis-modelled synthesis requests', async () => {
    expect((await rejection(speak(male.id, '   ', 'wav'))).kind).toBe('request');
    expect((await rejection(speak(male.id, 'a'.repeat(20_001), 'wav'))).kind).toBe('request');
    expect((await rejection(speak(male.id, 'hello', 'wav', 11025))).kind).toBe('request');
    const wrongModel = provider.synthesize({
      voiceId: male.id,
      targetModel: 'other',
      text: 'hi',
      format: 'wav',
      sampleRate: 24000,
    });
    const error = await rejection(
      (async () => {
        for await (const _ of wrongModel) break;
      })(),
    );
    expect(error.kind).toBe('request');
  });

  it('lists voices by prefix with paging and deletes idempotently', async () => {
    const second = await create(fixture('speech/spk02_m_en_jfk.flac'), 'page');
    const third = await create(fixture('speech/spk02_m_en_jfk.ogg'), 'page');
    const page0 = await provider.listVoices({ prefix: 'page', pageIndex: 0, pageSize: 1 });
    const page1 = await provider.listVoices({ prefix: 'page', pageIndex: 1, pageSize: 1 });
    expect([...page0, ...page1].map((v) => v.id).sort()).toEqual([second.id, third.id].sort());
    expect(await provider.listVoices({ prefix: 'page', pageIndex: 2, pageSize: 1 })).toEqual([]);
    await provider.deleteVoice(second.id);
    await provider.deleteVoice(second.id);
    await provider.deleteVoice(`offline-page-${'f'.repeat(32)}`);
    expect((await rejection(provider.getVoice(second.id))).kind).toBe('not_found');
    expect((await provider.listVoices({ prefix: 'page' })).map((v) => v.id)).toEqual([third.id]);
  });
});
