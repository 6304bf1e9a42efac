import { createHash, randomBytes } from 'node:crypto';

import { createMp3Encoder } from 'wasm-media-encoders';

import { analyzeSpeech, type SpeechAnalysis } from '../../audio/analysis.js';
import type { MonoPcm } from '../../audio/decode.js';
import {
  encodePcm16,
  isOutputSampleRate,
  OUTPUT_SAMPLE_RATES,
  toOutputRate,
  wavHeader,
} from '../../audio/encode.js';
import { assessBytes, type QualityVerdict } from '../../audio/quality.js';
import {
  inProcessRequirements,
  ProviderError,
  type CreateVoiceInput,
  type SampleRequirements,
  type ListVoicesOptions,
  type ProviderVoice,
  type SynthesizeInput,
  type VoiceProvider,
} from '../provider.js';

import { EspeakEngine } from './espeak.js';
import { sonicTransform } from './sonic.js';
import { OFFLINE_VOICE_ID, VoiceStore, type StoredVoice } from './store.js';
import {
  buildStyleProfile,
  CALIBRATION_WPM,
  Calibrator,
  pitchForF0,
  predictF0,
  STYLE_MATCH_DESCRIPTION,
  type StyleProfile,
} from './style.js';

export const OFFLINE_PROVIDER_NAME = 'offline';
export const OFFLINE_TARGET_MODEL = 'offline-style-v1';
export const MAX_TEXT_CHARS = 20_000;
/** Default audition text. */
export const DEFAULT_AUDITION_TEXT = '今天天气怎么样？';

export interface OfflineVoiceProviderOptions {
  /** Directory for the voice profiles, e.g. `data/offline-voices`. */
  dir: string;
  /** Timeout for fetching `sampleUrl` when no `readSample` is given (ms, default 15 000). */
  fetchTimeoutMs?: number;
  /** Largest sample accepted (bytes, default 20 MiB). */
  maxSampleBytes?: number;
}

/** What one synthesis did, for logs and the service's "how close" report. */
export interface SynthesisPlan {
  voice: string;
  espeakPitch: number;
  espeakSpeed: number;
  targetF0Hz: number;
  sonicPitch: number;
  sonicSpeed: number;
}

const PROVIDER_CODE: Record<QualityVerdict, string> = {
  good: 'Audio.Good',
  too_short: 'Audio.TooShort',
  too_long: 'Audio.TooLong',
  silent: 'Audio.Silent',
  noisy: 'Audio.Noisy',
  clipped: 'Audio.Clipped',
  too_quiet: 'Audio.TooQuiet',
  not_speech: 'Audio.NotSpeech',
  corrupt: 'Audio.Corrupt',
  wrong_type: 'Audio.WrongType',
};

const CHUNK_BYTES = 32 * 1024;
const SEGMENT_CHARS = 400;
/** Sonic corrections beyond this range sound worse than a plain mismatch. */
const SONIC_PITCH_RANGE: [number, number] = [0.6, 1.7];
const ESPEAK_WPM_RANGE: [number, number] = [80, 450];

/**
 * The embedded, network-free provider. It makes a STYLE MATCH, not a clone:
 * it stores the sample's pitch and pace ({@link StyleProfile}) and speaks with
 * espeak-ng steered towards them (espeak `-p`/`-s` from a per-voice
 * calibration, then Sonic for the remaining pitch/tempo difference).
 */
export class OfflineVoiceProvider implements VoiceProvider {
  readonly name = OFFLINE_PROVIDER_NAME;
  readonly defaultTargetModel = OFFLINE_TARGET_MODEL;
  /** Shown to users wherever this engine's voices appear. */
  readonly description = STYLE_MATCH_DESCRIPTION;
  private readonly store: VoiceStore;
  private readonly engine = EspeakEngine.shared();
  private readonly calibrator: Calibrator;
  private readonly fetchTimeoutMs: number;
  private readonly maxSampleBytes: number;

  constructor(options: OfflineVoiceProviderOptions) {
    this.store = new VoiceStore(options.dir);
    this.calibrator = sharedCalibrator(this.engine);
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 15_000;
    this.maxSampleBytes = options.maxSampleBytes ?? 20 * 1024 * 1024;
  }

  /** Decodes everything in-process; makes a voice only from a sample judged good. */
  sampleRequirements(): SampleRequirements {
    return inProcessRequirements(['good'], { maxBytes: this.maxSampleBytes });
  }

  async createVoice(input: CreateVoiceInput): Promise<ProviderVoice> {
    if (input.targetModel !== OFFLINE_TARGET_MODEL) {
      throw new ProviderError(
        'request',
        `The offline engine only offers ${OFFLINE_TARGET_MODEL}.`,
        {
          providerCode: 'Model.Unsupported',
        },
      );
    }
    if (!/^[a-z0-9]{1,10}$/.test(input.prefix)) {
      throw new ProviderError(
        'request',
        'The voice prefix must be 1–10 lowercase letters or digits.',
        {
          providerCode: 'Prefix.Invalid',
        },
      );
    }
    input.signal?.throwIfAborted();
    const bytes = await this.readSample(input);
    input.signal?.throwIfAborted();
    const assessment = await assessBytes(bytes);
    if (assessment.verdict !== 'good' || !assessment.decoded || !assessment.probe) {
      const reason = assessment.advice[0] ?? 'The sample cannot be used.';
      throw new ProviderError(
        'sample',
        `The sample is unusable (${assessment.verdict}): ${reason}`,
        {
          providerCode: PROVIDER_CODE[assessment.verdict],
        },
      );
    }
    const profile = buildStyleProfile(analyzeSpeech(assessment.decoded));
    const id = `offline-${input.prefix}-${randomBytes(16).toString('hex')}`;
    const { probe } = assessment;
    const stored: StoredVoice = {
      schema: 1,
      id,
      prefix: input.prefix,
      targetModel: input.targetModel,
      createdAt: new Date().toISOString(),
      method: 'style-match',
      description: STYLE_MATCH_DESCRIPTION,
      profile,
      sample: {
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        container: probe.container,
        codec: probe.codec,
        sampleRate: probe.sampleRate,
        channels: probe.channels,
        durationSec: Math.round(probe.durationSec * 1000) / 1000,
        qualityScore: assessment.score,
      },
    };
    await this.store.put(stored);
    return toProviderVoice(stored);
  }

  private async readSample(input: CreateVoiceInput): Promise<Uint8Array> {
    let bytes: Uint8Array;
    if (input.readSample) {
      bytes = await input.readSample();
    } else {
      const timeout = AbortSignal.timeout(this.fetchTimeoutMs);
      const signal = input.signal ? AbortSignal.any([input.signal, timeout]) : timeout;
      let response: Response;
      try {
        response = await fetch(input.sampleUrl, { signal });
      } catch (cause) {
        input.signal?.throwIfAborted();
        throw new ProviderError('unavailable', 'The sample could not be fetched.', { cause });
      }
      if (!response.ok) {
        throw new ProviderError('sample', `The sample URL answered HTTP ${response.status}.`, {
          providerCode: 'Sample.FetchFailed',
          httpStatus: response.status,
        });
      }
      bytes = new Uint8Array(await response.arrayBuffer());
    }
    if (bytes.length > this.maxSampleBytes) {
      throw new ProviderError(
        'sample',
        `The sample is larger than ${Math.round(this.maxSampleBytes / 1048576)} MiB.`,
        {
          providerCode: 'Audio.TooLarge',
        },
      );
    }
    return bytes;
  }

  async getVoice(voiceId: string, signal?: AbortSignal): Promise<ProviderVoice> {
    return toProviderVoice(await this.mustGet(voiceId, signal));
  }

  /** The stored style profile of a voice (throws `not_found`). */
  async getProfile(voiceId: string): Promise<StyleProfile> {
    return (await this.mustGet(voiceId)).profile;
  }

  private async mustGet(voiceId: string, signal?: AbortSignal): Promise<StoredVoice> {
    signal?.throwIfAborted();
    const voice = await this.store.get(voiceId);
    if (!voice)
      throw new ProviderError('not_found', `No offline voice ${voiceId}.`, {
        providerCode: 'Voice.NotFound',
      });
    return voice;
  }

  async listVoices(opts: ListVoicesOptions): Promise<ProviderVoice[]> {
    opts.signal?.throwIfAborted();
    const pageIndex = Math.max(0, Math.floor(opts.pageIndex ?? 0));
    const pageSize = Math.max(1, Math.min(1000, Math.floor(opts.pageSize ?? 10)));
    const all = await this.store.list();
    const mine = opts.prefix === undefined ? all : all.filter((v) => v.prefix === opts.prefix);
    return mine.slice(pageIndex * pageSize, (pageIndex + 1) * pageSize).map(toProviderVoice);
  }

  async deleteVoice(voiceId: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    await this.store.delete(voiceId);
  }

  async *synthesize(input: SynthesizeInput): AsyncIterable<Uint8Array> {
    const text = input.text.trim();
    if (!text)
      throw new ProviderError('request', 'The text is empty.', { providerCode: 'Text.Empty' });
    if (input.text.length > MAX_TEXT_CHARS) {
      throw new ProviderError('request', `The text is longer than ${MAX_TEXT_CHARS} characters.`, {
        providerCode: 'Text.TooLong',
      });
    }
    if (!isOutputSampleRate(input.sampleRate)) {
      throw new ProviderError(
        'request',
        `Sample rate must be one of ${OUTPUT_SAMPLE_RATES.join(', ')} Hz.`,
        {
          providerCode: 'SampleRate.Unsupported',
        },
      );
    }
    if (input.format !== 'mp3' && input.format !== 'wav' && input.format !== 'pcm') {
      throw new ProviderError('request', `Unsupported format ${String(input.format)}.`, {
        providerCode: 'Format.Unsupported',
      });
    }
    const rate = input.rate ?? 1;
    const pitch = input.pitch ?? 1;
    const volume = input.volume ?? 50;
    if (
      !(rate >= 0.5 && rate <= 2) ||
      !(pitch >= 0.5 && pitch <= 2) ||
      !(volume >= 0 && volume <= 100)
    ) {
      throw new ProviderError('request', 'rate and pitch must be 0.5–2.0 and volume 0–100.', {
        providerCode: 'Prosody.OutOfRange',
      });
    }
    if (!OFFLINE_VOICE_ID.test(input.voiceId)) {
      throw new ProviderError('not_found', `No offline voice ${input.voiceId}.`, {
        providerCode: 'Voice.NotFound',
      });
    }
    const voice = await this.mustGet(input.voiceId, input.signal);
    if (voice.targetModel !== input.targetModel) {
      throw new ProviderError(
        'request',
        `Voice ${voice.id} was enrolled with ${voice.targetModel}, not ${input.targetModel}.`,
        { providerCode: 'Model.Mismatch' },
      );
    }

    const segments = (async function* (provider: OfflineVoiceProvider) {
      const state: SegmentState = {};
      for (const segment of splitText(text)) {
        input.signal?.throwIfAborted();
        yield await provider.renderSegment(
          segment,
          voice.profile,
          { rate, pitch, volume },
          input.sampleRate,
          state,
        );
      }
    })(this);

    if (input.format === 'pcm') {
      for await (const pcm of segments) yield* chunk(encodePcm16(pcm));
    } else if (input.format === 'mp3') {
      const encoder = await createMp3Encoder();
      encoder.configure({
        channels: 1,
        sampleRate: input.sampleRate,
        outputSampleRate: input.sampleRate,
        bitrate: input.sampleRate <= 16_000 ? 32 : 64,
      });
      for await (const pcm of segments) {
        for (let i = 0; i < pcm.length; i += 16_384) {
          const out = encoder.encode([pcm.subarray(i, i + 16_384)]);
          if (out.length) yield out.slice();
        }
      }
      const tail = encoder.finalize();
      if (tail.length) yield tail.slice();
    } else {
      // WAV needs the data size in its header, so the whole utterance is rendered first.
      const parts: Uint8Array[] = [];
      for await (const pcm of segments) parts.push(encodePcm16(pcm));
      const size = parts.reduce((n, p) => n + p.length, 0);
      yield wavHeader(input.sampleRate, size);
      for (const part of parts) yield* chunk(part);
    }
  }

  /** Renders one text segment to PCM at the output rate. */
  private async renderSegment(
    text: string,
    profile: StyleProfile,
    prosody: { rate: number; pitch: number; volume: number },
    outputRate: number,
    state: SegmentState,
  ): Promise<Float32Array> {
    const language = /[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]/.test(text)
      ? 'cmn'
      : 'en-us';
    const voice = `${language}+${profile.variant === 'female' ? 'f3' : 'm3'}`;
    const cal = await this.calibrator.get(voice);
    const targetF0 = profile.f0MedianHz * prosody.pitch;
    const espeakPitch = pitchForF0(cal, targetF0);
    const desiredWpm =
      (CALIBRATION_WPM * profile.speakingRate * prosody.rate) / cal.rateAtReference;
    const espeakSpeed = clamp(desiredWpm, ...ESPEAK_WPM_RANGE);
    const raw = await this.engine.synth({ text, voice, pitch: espeakPitch, speed: espeakSpeed });

    // Correct the pitch that espeak actually produced (measured, not predicted) when
    // there is enough voicing to measure; otherwise reuse the last correction.
    let sonicPitch = state.sonicPitch;
    if (sonicPitch === undefined) {
      const measured = measureF0(analyzeSpeech(raw), 20);
      sonicPitch = clamp(
        targetF0 / (measured ?? predictF0(cal, espeakPitch)),
        ...SONIC_PITCH_RANGE,
      );
      if (measured !== null) state.sonicPitch = sonicPitch;
    }
    const sonicSpeed = desiredWpm / espeakSpeed;
    state.lastPlan = {
      voice,
      espeakPitch,
      espeakSpeed: Math.round(espeakSpeed),
      targetF0Hz: targetF0,
      sonicPitch,
      sonicSpeed,
    };
    const shaped = await sonicTransform(raw.samples, raw.sampleRate, {
      pitch: sonicPitch,
      speed: sonicSpeed,
    });
    applyVolume(shaped, prosody.volume);
    return toOutputRate(shaped, raw.sampleRate, outputRate);
  }

  /**
   * Synthesizes to PCM in one piece and reports the plan used (for tests,
   * diagnostics and the "how close" report).
   */
  async synthesizePcm(
    input: Omit<SynthesizeInput, 'format'>,
  ): Promise<MonoPcm & { plan: SynthesisPlan | undefined }> {
    const voice = await this.mustGet(input.voiceId, input.signal);
    const text = input.text.trim();
    if (!text)
      throw new ProviderError('request', 'The text is empty.', { providerCode: 'Text.Empty' });
    const state: SegmentState = {};
    const parts: Float32Array[] = [];
    for (const segment of splitText(text)) {
      parts.push(
        await this.renderSegment(
          segment,
          voice.profile,
          { rate: input.rate ?? 1, pitch: input.pitch ?? 1, volume: input.volume ?? 50 },
          input.sampleRate,
          state,
        ),
      );
    }
    const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      samples.set(p, offset);
      offset += p.length;
    }
    return { samples, sampleRate: input.sampleRate, plan: state.lastPlan };
  }

  async close(): Promise<void> {}
}

interface SegmentState {
  sonicPitch?: number;
  lastPlan?: SynthesisPlan;
}

const calibrators = new WeakMap<EspeakEngine, Calibrator>();
function sharedCalibrator(engine: EspeakEngine): Calibrator {
  let calibrator = calibrators.get(engine);
  if (!calibrator) {
    calibrator = new Calibrator(engine);
    calibrators.set(engine, calibrator);
  }
  return calibrator;
}

function toProviderVoice(v: StoredVoice): ProviderVoice {
  return { id: v.id, status: 'ok', targetModel: v.targetModel, createdAt: v.createdAt };
}

function measureF0(a: SpeechAnalysis, minVoicedSteps: number): number | null {
  return a.voicedSteps >= minVoicedSteps ? a.f0MedianHz : null;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}

/** 50 = espeak's level; 100 = +6 dB with a soft limiter; 0 = silence. */
function applyVolume(samples: Float32Array, volume: number): void {
  const gain = volume / 50;
  const knee = 0.8;
  for (let i = 0; i < samples.length; i++) {
    const y = samples[i]! * gain;
    const a = Math.abs(y);
    samples[i] =
      a <= knee ? y : Math.sign(y) * (knee + (0.99 - knee) * Math.tanh((a - knee) / (0.99 - knee)));
  }
}

/**
 * Splits text at sentence ends (and, for very long sentences, at commas or
 * spaces) into segments of at most {@link SEGMENT_CHARS} characters, so long
 * texts stream and no single espeak call grows without bound.
 */
export function splitText(text: string): string[] {
  const sentences = text.match(/[^.!?。！？；;\n]+[.!?。！？；;\n]*/g) ?? [text];
  const segments: string[] = [];
  let current = '';
  const push = (s: string) => {
    const t = s.trim();
    if (t) segments.push(t);
  };
  for (const sentence of sentences) {
    if (current.length + sentence.length <= SEGMENT_CHARS) {
      current += sentence;
      continue;
    }
    push(current);
    let rest = sentence;
    while (rest.length > SEGMENT_CHARS) {
      const window = rest.slice(0, SEGMENT_CHARS);
      const cut = Math.max(
        window.lastIndexOf(','),
        window.lastIndexOf('，'),
        window.lastIndexOf(' '),
      );
      const at = cut > SEGMENT_CHARS / 2 ? cut + 1 : SEGMENT_CHARS;
      push(rest.slice(0, at));
      rest = rest.slice(at);
    }
    current = rest;
  }
  push(current);
  return segments;
}

function* chunk(bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += CHUNK_BYTES) yield bytes.subarray(i, i + CHUNK_BYTES);
}
