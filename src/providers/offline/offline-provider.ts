import { randomBytes } from 'node:crypto';

import type { MonoPcm } from '../../audio/decode.js';
import { isOutputSampleRate, OUTPUT_SAMPLE_RATES, wavHeader } from '../../audio/encode.js';
import type { QualityVerdict } from '../../audio/quality.js';
import { AppError } from '../../errors.js';
import type { AudioWork } from '../../workers/audio-work.js';
import { CpuTaskError, type CpuPool } from '../../workers/cpu-pool.js';
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

import {
  espeakVoice,
  type SegmentRequest,
  type SegmentResult,
  type SynthesisPlan,
} from './render.js';
import { OFFLINE_VOICE_ID, VoiceStore, type StoredVoice } from './store.js';
import {
  buildStyleProfile,
  STYLE_MATCH_DESCRIPTION,
  type StyleProfile,
  type VoiceCalibration,
} from './style.js';

export type { SynthesisPlan } from './render.js';

export const OFFLINE_PROVIDER_NAME = 'offline';
export const OFFLINE_TARGET_MODEL = 'offline-style-v1';
export const MAX_TEXT_CHARS = 20_000;
/** Default audition text. */
export { DEFAULT_AUDITION_TEXT } from '../../config.js';

export interface OfflineVoiceProviderOptions {
  /** Directory for the voice profiles, e.g. `data/offline-voices`. */
  dir: string;
  /** Timeout for fetching `sampleUrl` when no `readSample` is given (ms, default 15 000). */
  fetchTimeoutMs?: number;
  /** Largest sample accepted (bytes, default 20 MiB). */
  maxSampleBytes?: number;
  /** The worker pool: espeak, Sonic, resampling and encoding run there. */
  cpu: CpuPool;
  /** Sample assessment (on the same pool), shared with the service so a sample is analysed once. */
  audio: AudioWork;
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
/** Pitch corrections kept (one per espeak voice and target pitch). */
const PITCH_CORRECTIONS_KEPT = 512;
/** Segments rendered ahead of the one being sent (order is kept). */
const LOOKAHEAD = 1;

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
  private readonly fetchTimeoutMs: number;
  private readonly maxSampleBytes: number;
  private readonly cpu: CpuPool;
  private readonly audio: AudioWork;
  /** espeak calibrations by voice, measured once by whichever thread got there first. */
  private readonly calibrations = new Map<string, VoiceCalibration>();
  /**
   * Pitch corrections measured on espeak's output, by espeak voice and target
   * F0: later segments and later requests with the same voice reuse them
   * rather than measuring again (the speech service sends long text one
   * group of sentences at a time).
   */
  private readonly pitchCorrections = new Map<string, number>();

  constructor(options: OfflineVoiceProviderOptions) {
    this.store = new VoiceStore(options.dir);
    this.cpu = options.cpu;
    this.audio = options.audio;
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
    const assessment = await this.audio
      .assess(bytes, undefined, input.sampleKey)
      .catch((err: unknown) => {
        throw asProviderError(err);
      });
    if (assessment.verdict !== 'good' || !assessment.analysis || !assessment.probe) {
      const reason = assessment.advice[0] ?? 'The sample cannot be used.';
      throw new ProviderError(
        'sample',
        `The sample is unusable (${assessment.verdict}): ${reason}`,
        {
          providerCode: PROVIDER_CODE[assessment.verdict],
        },
      );
    }
    // The assessment's analysis: the sample is analysed once.
    const profile = buildStyleProfile(assessment.analysis);
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
        sha256: assessment.sha256,
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

    const prosody = { rate, pitch, volume };
    const encoding = input.format === 'mp3' ? 'mp3' : 'pcm16';
    const segments = this.renderAll(
      text,
      voice.profile,
      prosody,
      input.sampleRate,
      encoding,
      input.signal,
    );
    if (input.format === 'wav') {
      // WAV needs the data size in its header, so the whole utterance is rendered first.
      const parts: Uint8Array[] = [];
      for await (const s of segments) parts.push(s.audio as Uint8Array);
      yield wavHeader(
        input.sampleRate,
        parts.reduce((n, p) => n + p.length, 0),
      );
      for (const part of parts) yield* chunk(part);
      return;
    }
    // PCM and MP3 stream as segments finish (each MP3 segment is a complete run of frames).
    for await (const s of segments) yield* chunk(s.audio as Uint8Array);
  }

  /**
   * Renders segments on the worker pool, in order, one ahead of the consumer.
   * The first segment measures espeak's actual pitch; the rest reuse its correction.
   */
  private async *renderAll(
    text: string,
    profile: StyleProfile,
    prosody: SegmentRequest['prosody'],
    outputRate: number,
    encoding: SegmentRequest['encoding'],
    signal: AbortSignal | undefined,
  ): AsyncGenerator<SegmentResult> {
    const pieces = splitText(text);
    const correctionKey = (piece: string) =>
      `${espeakVoice(piece, profile)}|${profile.f0MedianHz * prosody.pitch}`;
    const render = (piece: string, measured?: number) => {
      const calibration = this.calibrations.get(espeakVoice(piece, profile));
      const key = correctionKey(piece);
      const sonicPitch = this.pitchCorrections.get(key) ?? measured;
      return this.cpu
        .run('synth_segment', {
          text: piece,
          profile,
          prosody,
          outputRate,
          encoding,
          ...(sonicPitch === undefined ? {} : { sonicPitch }),
          ...(calibration ? { calibration } : {}),
        })
        .then((result) => {
          this.calibrations.set(result.calibration.voice, result.calibration);
          if (result.measuredSonicPitch !== undefined) {
            this.pitchCorrections.delete(key);
            this.pitchCorrections.set(key, result.measuredSonicPitch);
            while (this.pitchCorrections.size > PITCH_CORRECTIONS_KEPT) {
              this.pitchCorrections.delete(this.pitchCorrections.keys().next().value!);
            }
          }
          return result;
        })
        .catch((err: unknown) => {
          throw asProviderError(err);
        });
    };
    signal?.throwIfAborted();
    const first = await render(pieces[0]!);
    const sonicPitch = first.measuredSonicPitch;
    yield first;
    const ahead: Promise<SegmentResult>[] = [];
    let next = 1;
    const fill = () => {
      while (ahead.length <= LOOKAHEAD && next < pieces.length) {
        const p = render(pieces[next++]!, sonicPitch);
        p.catch(() => undefined); // awaited below; a failure must not be unhandled meanwhile
        ahead.push(p);
      }
    };
    fill();
    while (ahead.length) {
      signal?.throwIfAborted();
      const segment = await ahead.shift()!;
      fill();
      yield segment;
    }
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
    const parts: Float32Array[] = [];
    let plan: SynthesisPlan | undefined;
    const prosody = { rate: input.rate ?? 1, pitch: input.pitch ?? 1, volume: input.volume ?? 50 };
    for await (const segment of this.renderAll(
      text,
      voice.profile,
      prosody,
      input.sampleRate,
      'f32',
      input.signal,
    )) {
      parts.push(segment.audio as Float32Array);
      plan = segment.plan;
    }
    const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      samples.set(p, offset);
      offset += p.length;
    }
    return { samples, sampleRate: input.sampleRate, plan };
  }

  async close(): Promise<void> {}
}

function toProviderVoice(v: StoredVoice): ProviderVoice {
  return { id: v.id, status: 'ok', targetModel: v.targetModel, createdAt: v.createdAt };
}

/** Pool and assessment failures in provider terms (whose fault, when to retry). */
function asProviderError(err: unknown): unknown {
  if (err instanceof CpuTaskError) {
    return err.failure === 'memory'
      ? new ProviderError('sample', 'The sample needs too much memory to analyse.', {
          providerCode: 'Audio.TooLarge',
          cause: err,
        })
      : new ProviderError('throttled', err.message, { retryAfter: 2, cause: err });
  }
  if (err instanceof AppError) {
    return err.status === 422
      ? new ProviderError('sample', err.info ?? err.message, {
          providerCode: 'Audio.TooLarge',
          cause: err,
        })
      : new ProviderError('throttled', err.info ?? err.message, { retryAfter: 2, cause: err });
  }
  return err;
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
