/**
 * {@link VoiceProvider} for Alibaba Cloud DashScope CosyVoice, on top of the
 * enrollment client (HTTP), the create reconciler (no blind create retry)
 * and one synthesis task per call over the pooled inference WebSocket. Call
 * metrics are the instrumented wrapper's (../instrumented.ts), not this
 * class's. See README.md beside this file.
 */
import { isOutputSampleRate, OUTPUT_SAMPLE_RATES } from '../../audio/encode.js';
import {
  ProviderError,
  type AudioFormat,
  type CreateVoiceInput,
  type ListVoicesOptions,
  type ProviderVoice,
  type SampleRequirements,
  type SynthesizeInput,
  type VoiceProvider,
} from '../provider.js';
import { CreateReconciler } from './create-reconciler.js';
import {
  DEFAULT_USER_AGENT,
  EnrollmentClient,
  isVoiceDesignId,
  requestError,
  sleep,
} from './enrollment-client.js';
import { runSynthesisTask, type SynthesisRequest, type SynthesisTaskOptions } from './synthesis.js';
import { MAX_TASK_WEIGHT, splitText, textWeight } from './text.js';
import type { DashScopeLogger, DashScopeProviderOptions } from './types.js';
import { SocketPool, type SocketPoolStats } from './ws-pool.js';

export { DEFAULT_USER_AGENT, isVoiceDesignId };

/** Beijing; see README.md beside this file for the other hosts. */
export const DEFAULT_WS_URL = 'wss://dashscope.aliyuncs.com/api-ws/v1/inference';
const FORMATS: ReadonlySet<AudioFormat> = new Set(['mp3', 'wav', 'pcm']);

/**
 * Reference audio CosyVoice takes (DashScope docs): 16-bit WAV, MP3 or M4A,
 * at least 16 kHz (one error page says 24 kHz, so renditions use 24 kHz),
 * at most 10 MB and 60 s. Clipping is not among its refusals.
 */
export const DASHSCOPE_SAMPLE_REQUIREMENTS: SampleRequirements = {
  containers: ['wav', 'mp3', 'm4a'],
  wavBitDepths: [16],
  minSampleRateHz: 16_000,
  maxSampleRateHz: 48_000,
  minDurationSec: 5,
  maxDurationSec: 60,
  maxBytes: 10 * 1024 * 1024,
  rendition: { container: 'wav', sampleRate: 24_000 },
  usableVerdicts: ['good', 'clipped'],
};

export class DashScopeVoiceProvider implements VoiceProvider {
  readonly name = 'dashscope';
  readonly defaultTargetModel: string;

  private readonly client: EnrollmentClient;
  private readonly creates: CreateReconciler;
  private readonly pool: SocketPool;
  private readonly task: SynthesisTaskOptions;
  private readonly logger: DashScopeLogger | undefined;

  constructor(opts: DashScopeProviderOptions) {
    if (opts.apiKey === '') throw new TypeError('DashScopeVoiceProvider needs an apiKey');
    this.defaultTargetModel = opts.defaultTargetModel ?? 'cosyvoice-v2';
    this.logger = opts.logger;
    const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    const logger = opts.logger !== undefined ? { logger: opts.logger } : {};
    this.client = new EnrollmentClient({
      apiKey: opts.apiKey,
      userAgent,
      ...(opts.baseUrl !== undefined && { baseUrl: opts.baseUrl }),
      ...(opts.workspace !== undefined && { workspace: opts.workspace }),
      ...(opts.requestTimeoutMs !== undefined && { requestTimeoutMs: opts.requestTimeoutMs }),
      ...(opts.retries !== undefined && { retries: opts.retries }),
      ...(opts.minRetryDelayMs !== undefined && { minRetryDelayMs: opts.minRetryDelayMs }),
      ...(opts.maxRetryDelayMs !== undefined && { maxRetryDelayMs: opts.maxRetryDelayMs }),
      ...(opts.maxRetryAfterMs !== undefined && { maxRetryAfterMs: opts.maxRetryAfterMs }),
      ...(opts.listPageSize !== undefined && { listPageSize: opts.listPageSize }),
      ...(opts.fetch !== undefined && { fetch: opts.fetch }),
      ...logger,
    });
    this.creates = new CreateReconciler({
      client: this.client,
      ...(opts.createTimeoutMs !== undefined && { createTimeoutMs: opts.createTimeoutMs }),
      ...(opts.createSettleMs !== undefined && { createSettleMs: opts.createSettleMs }),
      ...(opts.createSettlePollMs !== undefined && {
        createSettlePollMs: opts.createSettlePollMs,
      }),
      ...logger,
    });
    this.pool = new SocketPool({
      url: opts.wsUrl ?? DEFAULT_WS_URL,
      apiKey: opts.apiKey,
      userAgent,
      ...(opts.workspace !== undefined && { workspace: opts.workspace }),
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      maxSockets: opts.maxSockets ?? 4,
      idleMs: opts.socketIdleMs ?? 50_000,
      ...logger,
    });
    this.task = {
      pool: this.pool,
      apiKey: opts.apiKey,
      taskStartTimeoutMs: opts.taskStartTimeoutMs ?? 10_000,
      synthesisTimeoutMs: opts.synthesisTimeoutMs ?? 600_000,
      stallTimeoutMs: opts.synthesisStallTimeoutMs ?? 30_000,
      highWaterBytes: opts.streamHighWaterBytes ?? 4 * 1024 * 1024,
      ...logger,
    };
  }

  /** The same for every CosyVoice model (the docs give one list). */
  sampleRequirements(): SampleRequirements {
    return DASHSCOPE_SAMPLE_REQUIREMENTS;
  }

  /** Connection counters of the synthesis socket pool. */
  poolStats(): SocketPoolStats {
    return this.pool.stats();
  }

  // ---------------------------------------------------------------- enrollment

  /**
   * Enrols a voice from `sampleUrl`; the new voice is usually `deploying`.
   *
   * Never blindly retried: a create answered with throttling (refused) is
   * retried; one whose outcome is unknown (timeout, network error, 5xx) is
   * followed by a look at the voices carrying our prefix, and the voice the
   * attempt made is adopted if there is one (see README, "create adoption").
   * @throws ProviderError `sample`, `request`, `auth`, `quota`, `throttled`, `unavailable`.
   */
  createVoice(input: CreateVoiceInput): Promise<ProviderVoice> {
    return this.creates.create({
      prefix: input.prefix,
      sampleUrl: input.sampleUrl,
      targetModel: this.modelOr(input.targetModel),
      ...(input.existingVoiceIds !== undefined && { existingVoiceIds: input.existingVoiceIds }),
      ...(input.signal !== undefined && { signal: input.signal }),
    });
  }

  /** @throws ProviderError `not_found` for an unknown id. */
  getVoice(voiceId: string, signal?: AbortSignal): Promise<ProviderVoice> {
    return this.client.query(voiceId, signal);
  }

  /** One page of voices (0-based), filtered by prefix at DashScope. */
  async listVoices(opts: ListVoicesOptions): Promise<ProviderVoice[]> {
    const page = await this.client.listPage(
      opts.prefix,
      opts.pageIndex ?? 0,
      opts.pageSize ?? 10,
      opts.signal,
    );
    // Clones only: voice-design voices are not ours to adopt or delete.
    return page.filter((v) => !isVoiceDesignId(v.id));
  }

  /** Idempotent: an unknown voice resolves. */
  deleteVoice(voiceId: string, signal?: AbortSignal): Promise<void> {
    return this.client.delete(voiceId, signal);
  }

  /**
   * Re-enrols an existing voice from new audio (`update_voice`). Not part of
   * the port; whether the voice returns to `deploying` is unverified, so poll
   * {@link getVoice} afterwards.
   * @throws ProviderError `not_found`, `sample`, and the usual transport kinds.
   */
  updateVoice(voiceId: string, sampleUrl: string, signal?: AbortSignal): Promise<void> {
    return this.client.update(voiceId, sampleUrl, signal);
  }

  // ----------------------------------------------------------------- synthesis

  /**
   * Streams audio in `format` (for WAV/MP3 the first chunk carries the header).
   * A transient failure before any audio is retried once on a new connection;
   * after audio has been yielded nothing is retried.
   * @throws ProviderError `request` (empty or too long text, bad parameters,
   *   unknown voice or a voice of another model), `auth`, `throttled`,
   *   `unavailable` (timeouts, dropped connection).
   */
  async *synthesize(input: SynthesizeInput): AsyncGenerator<Uint8Array, void, undefined> {
    const request = this.synthesisRequest(input);
    for (let attempt = 0; ; attempt++) {
      let yielded = false;
      try {
        for await (const frame of runSynthesisTask(this.task, request)) {
          yielded = true;
          yield frame;
        }
        return;
      } catch (err) {
        const retry =
          !yielded &&
          attempt === 0 &&
          err instanceof ProviderError &&
          err.retryable &&
          input.signal?.aborted !== true;
        if (!retry) throw err;
        this.logger?.warn(
          { kind: err.kind, code: err.details.providerCode },
          'retrying DashScope synthesis once',
        );
        const delay =
          err.details.retryAfter !== undefined
            ? err.details.retryAfter * 1000
            : this.client.minRetryDelayMs;
        await sleep(Math.min(delay, this.client.maxRetryAfterMs), input.signal);
      }
    }
  }

  private synthesisRequest(input: SynthesizeInput): SynthesisRequest {
    if (input.voiceId === '') throw requestError('The voice id is empty.');
    if (!FORMATS.has(input.format))
      throw requestError(`Unsupported audio format ${String(input.format)}.`);
    if (!isOutputSampleRate(input.sampleRate)) {
      throw requestError(
        `Unsupported sample rate ${input.sampleRate} Hz: use one of ${OUTPUT_SAMPLE_RATES.join(', ')}.`,
      );
    }
    const rate = input.rate ?? 1;
    const pitch = input.pitch ?? 1;
    const volume = input.volume ?? 50;
    if (!(rate >= 0.5 && rate <= 2)) throw requestError('rate must be between 0.5 and 2.');
    if (!(pitch >= 0.5 && pitch <= 2)) throw requestError('pitch must be between 0.5 and 2.');
    if (!(volume >= 0 && volume <= 100)) throw requestError('volume must be between 0 and 100.');
    if (input.text.trim() === '') throw requestError('The text to speak is empty.');
    const weight = textWeight(input.text);
    if (weight > MAX_TASK_WEIGHT) {
      throw requestError(
        `The text is too long: ${weight} characters where DashScope accepts at most ${MAX_TASK_WEIGHT} per request (a CJK ideograph counts as 2).`,
      );
    }
    return {
      model: this.modelOr(input.targetModel),
      voice: input.voiceId,
      format: input.format,
      sampleRate: input.sampleRate,
      volume: Math.round(volume),
      rate,
      pitch,
      chunks: splitText(input.text),
      ...(input.signal !== undefined && { signal: input.signal }),
    };
  }

  /** Closes every synthesis socket (in-flight syntheses fail with `unavailable`) and the HTTP connections. */
  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.client.close()]);
  }

  private modelOr(targetModel: string): string {
    return targetModel === '' ? this.defaultTargetModel : targetModel;
  }
}
