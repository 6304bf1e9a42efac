import type { QualityVerdict } from '../audio/quality.js';

/**
 * The voice-provider port: what Timbre needs from anything that can clone a
 * voice from a sample and speak text with it. Implementations live beside
 * this file (`dashscope/`, `offline/`); a double lives in `test/doubles/`.
 *
 * Every method throws {@link ProviderError} for failures it can classify, so
 * the service layer can tell whose fault a failure is without knowing which
 * provider it talks to.
 */

/** Provider-side lifecycle of a cloned voice. */
export type ProviderVoiceStatus = 'deploying' | 'ok' | 'undeployed';

export interface ProviderVoice {
  /** The provider's opaque voice id (DashScope: `{model}-{prefix}-{suffix}`). */
  id: string;
  status: ProviderVoiceStatus;
  targetModel?: string;
  createdAt?: string;
}

export interface CreateVoiceInput {
  /** A URL the provider can GET to fetch the reference audio. */
  sampleUrl: string;
  /**
   * In-process access to the same bytes. Providers that run inside Timbre
   * (the offline engine) read these instead of fetching their own URL;
   * cloud providers ignore it.
   */
  readSample?: () => Promise<Uint8Array>;
  /**
   * A stable identity of the sample bytes (same key ⇒ same bytes, e.g. the
   * blob key). In-process providers reuse an analysis already made under it.
   */
  sampleKey?: string;
  targetModel: string;
  /** `^[a-z0-9]{1,10}$`; lets us find our voices again (see `listVoices`). */
  prefix: string;
  /**
   * The provider voices the caller knows exist under `prefix` right now (it
   * has just looked, or knows none can). Given, a provider that needs such
   * a list before creating uses it instead of asking again.
   */
  existingVoiceIds?: readonly string[];
  signal?: AbortSignal;
}

export interface ListVoicesOptions {
  prefix?: string;
  /** 0-based. */
  pageIndex?: number;
  pageSize?: number;
  signal?: AbortSignal;
}

export type AudioFormat = 'mp3' | 'wav' | 'pcm';

export interface SynthesizeInput {
  voiceId: string;
  /** Must equal the model the voice was enrolled with. */
  targetModel: string;
  text: string;
  format: AudioFormat;
  /** Hz: 8000, 16000, 22050, 24000, 44100 or 48000. */
  sampleRate: number;
  /** 0.5–2.0, 1 = normal. */
  rate?: number;
  /** 0.5–2.0, 1 = normal. */
  pitch?: number;
  /** 0–100, 50 = normal. */
  volume?: number;
  signal?: AbortSignal;
}

/** Containers Timbre accepts for samples (its own canonical extensions). */
export type SampleContainer = 'wav' | 'mp3' | 'm4a' | 'ogg' | 'aac' | 'flac';

/** Quality verdicts, as audio/quality.ts gives them (a type only: the port loads no audio code). */
export type SampleVerdict = QualityVerdict;

/**
 * What a provider takes as reference audio for one target model. Timbre
 * hands the provider the upload itself when it fits, else a rendition it
 * transcodes to `rendition` (stored beside the sample, served through the
 * same signed link).
 */
export interface SampleRequirements {
  /** Containers taken as they are. */
  containers: readonly SampleContainer[];
  /** For WAV: accepted PCM widths in bits (e.g. `[16]`). */
  wavBitDepths: readonly number[];
  /** Hz, inclusive. */
  minSampleRateHz: number;
  maxSampleRateHz: number;
  /** Seconds of audio, inclusive. */
  minDurationSec: number;
  maxDurationSec: number;
  /** Largest file taken, in bytes. */
  maxBytes: number;
  /** What to transcode to when the upload does not fit: 16-bit mono WAV at `sampleRate` Hz. */
  rendition: { container: 'wav'; sampleRate: number };
  /**
   * Quality verdicts this provider makes a voice from. A sample judged
   * anything else is refused before any provider call; one judged usable
   * must never fail creation for a sample reason.
   */
  usableVerdicts: readonly SampleVerdict[];
}

/** Every container Timbre accepts as an upload. */
export const ALL_SAMPLE_CONTAINERS: readonly SampleContainer[] = [
  'wav',
  'mp3',
  'm4a',
  'ogg',
  'aac',
  'flac',
];

/**
 * Requirements of a provider that decodes anything Timbre accepts in-process
 * and makes a voice only from a sample judged one of `usableVerdicts`.
 */
export function inProcessRequirements(
  usableVerdicts: readonly SampleVerdict[],
  limits: { maxBytes: number; maxDurationSec?: number; minDurationSec?: number },
): SampleRequirements {
  return {
    containers: ALL_SAMPLE_CONTAINERS,
    wavBitDepths: [8, 16, 24, 32],
    minSampleRateHz: 8000,
    maxSampleRateHz: 192_000,
    minDurationSec: limits.minDurationSec ?? 0,
    maxDurationSec: limits.maxDurationSec ?? 3600,
    maxBytes: limits.maxBytes,
    rendition: { container: 'wav', sampleRate: 24_000 },
    usableVerdicts,
  };
}

export interface VoiceProvider {
  /** Stored on the voice row (`provider` column). */
  readonly name: string;
  /** The model used when the caller names none. */
  readonly defaultTargetModel: string;

  /** What this provider accepts as a sample for `targetModel`. */
  sampleRequirements(targetModel: string): SampleRequirements;

  /**
   * Enrols a voice. NOT idempotent at the provider: implementations must not
   * blindly retry a create whose outcome is unknown (see DashScope client).
   */
  createVoice(input: CreateVoiceInput): Promise<ProviderVoice>;
  /** Throws ProviderError kind `not_found` for an unknown id. */
  getVoice(voiceId: string, signal?: AbortSignal): Promise<ProviderVoice>;
  /** Voices whose id carries `prefix`, one page (0-based index). */
  listVoices(opts: ListVoicesOptions): Promise<ProviderVoice[]>;
  /** Idempotent: deleting an unknown voice resolves. */
  deleteVoice(voiceId: string, signal?: AbortSignal): Promise<void>;
  /** Audio in `format` as chunks in playback order; the first carries any header. */
  synthesize(input: SynthesizeInput): AsyncIterable<Uint8Array>;
  /** Releases sockets, timers and workers. */
  close?(): Promise<void>;
}

/**
 * Whose fault a provider failure is:
 * - `sample`: the reference audio is unusable (user can fix it) → 422
 * - `request`: we sent something invalid (unknown voice, text too long…) → 400
 * - `not_found`: the voice does not exist at the provider → 404
 * - `auth`: key invalid, no access, account in arrears → 502
 * - `quota`: the account's voice quota is full → 503
 * - `throttled`: rate limited; retried, then 503 with Retry-After
 * - `unavailable`: provider down, 5xx, timeout, network → retried, then 502/503
 */
export type ProviderErrorKind =
  'sample' | 'request' | 'not_found' | 'auth' | 'quota' | 'throttled' | 'unavailable';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly details: {
      /** The provider's own error code, e.g. `Audio.AudioShortError`. */
      providerCode?: string;
      httpStatus?: number;
      requestId?: string;
      /** Seconds, when the provider said when to come back. */
      retryAfter?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
  }

  /** Transient failures worth another try (never for create without a check). */
  get retryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'unavailable';
  }
}
