/**
 * {@link VoiceProvider} for Alibaba Cloud DashScope CosyVoice: voice
 * enrollment over HTTP (`/services/audio/tts/customization`) and synthesis
 * over the inference WebSocket. See README.md beside this file.
 */
import pRetry, { AbortError, type Options as RetryOptions } from 'p-retry';
import {
  ProviderError,
  type CreateVoiceInput,
  type ListVoicesOptions,
  type ProviderVoice,
  type ProviderVoiceStatus,
  type SampleRequirements,
  type SynthesizeInput,
  type VoiceProvider,
} from '../provider.js';
import {
  abortReason,
  describeNetworkError,
  parseRetryAfter,
  redact,
  toProviderError,
  unavailable,
} from './errors.js';
import { runSynthesisTask } from './synthesis.js';
import { MAX_TASK_WEIGHT, splitText, textWeight } from './text.js';
import type {
  DashScopeCallOutcome,
  DashScopeLogger,
  DashScopeOperation,
  DashScopeProviderOptions,
} from './types.js';
import { SocketPool, type SocketPoolStats } from './ws-pool.js';

const PREFIX_RE = /^[a-z0-9]{1,10}$/;
/** Sent as `user-agent` (the SDKs send their own name and version). */
export const DEFAULT_USER_AGENT = 'timbre/1 (dashscope-client; node)';

/**
 * Voice-design voices (`{model}-vd-{prefix}-…`) share `list_voice` with
 * clones but were never enrolled from a sample: never adopted, never
 * deleted as a leftover of ours.
 */
export function isVoiceDesignId(voiceId: string): boolean {
  return /-vd-/.test(voiceId);
}
const SAMPLE_RATES = new Set([8000, 16000, 22050, 24000, 44100, 48000]);
const FORMATS = new Set(['mp3', 'wav', 'pcm']);
/** Stop walking `list_voice` pages after this many, whatever happens. */
const MAX_LIST_PAGES = 200;

type EnrollmentAction =
  'create_voice' | 'query_voice' | 'list_voice' | 'update_voice' | 'delete_voice';

/** `output` of a successful enrollment call, untyped until read. */
type Output = Record<string, unknown>;

/**
 * Failures of a call whose request may still be running at DashScope (it
 * timed out or the connection broke after sending): a create's voice can
 * appear some time later.
 */
const mayStillRun = new WeakSet<ProviderError>();
/** Failures of a call that never reached DashScope (refused, no DNS). */
const neverSent = new WeakSet<ProviderError>();
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** A voice as `list_voice` reports it, plus where it came from. */
interface ListedVoice extends ProviderVoice {
  createdAt?: string;
}

/** What a reconciliation after a create of unknown outcome found. */
type Reconciliation =
  | { kind: 'adopted'; voice: ProviderVoice }
  | { kind: 'none' }
  | { kind: 'ambiguous'; candidates: string[] };

export function mapVoiceStatus(status: unknown): ProviderVoiceStatus | undefined {
  switch (status) {
    case 'DEPLOYING':
      return 'deploying';
    case 'OK':
      return 'ok';
    case 'UNDEPLOYED':
      return 'undeployed';
    default:
      return undefined;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function requestError(message: string): ProviderError {
  return new ProviderError('request', message);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

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

  /** The same for every CosyVoice model (the docs give one list). */
  sampleRequirements(): SampleRequirements {
    return DASHSCOPE_SAMPLE_REQUIREMENTS;
  }

  private readonly apiKey: string;
  private readonly endpoint: string;
  private readonly workspace: string | undefined;
  private readonly requestTimeoutMs: number;
  private readonly createTimeoutMs: number;
  private readonly createSettlePollMs: number;
  private readonly userAgent: string;
  private readonly taskStartTimeoutMs: number;
  private readonly synthesisTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly retries: number;
  private readonly minRetryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly listPageSize: number;
  private readonly createSettleMs: number;
  private readonly highWaterBytes: number;
  private readonly logger: DashScopeLogger | undefined;
  private readonly onCall: DashScopeProviderOptions['onCall'];
  private readonly fetchImpl: typeof fetch;
  private readonly pool: SocketPool;
  /**
   * Voice ids this instance has returned from createVoice, so that two
   * concurrent creates never adopt the same voice. Bounded.
   */
  private readonly claimed = new Set<string>();
  /**
   * Baselines of creates whose outcome stayed unknown, by prefix + sample URL,
   * so a later create of the same sample first looks for the voice the earlier
   * attempt may have made (in-process only).
   */
  private readonly unresolved = new Map<string, Set<string>>();

  constructor(opts: DashScopeProviderOptions) {
    if (opts.apiKey === '') throw new TypeError('DashScopeVoiceProvider needs an apiKey');
    this.apiKey = opts.apiKey;
    const baseUrl = (opts.baseUrl ?? 'https://dashscope.aliyuncs.com/api/v1').replace(/\/+$/, '');
    this.endpoint = `${baseUrl}/services/audio/tts/customization`;
    this.workspace = opts.workspace;
    this.defaultTargetModel = opts.defaultTargetModel ?? 'cosyvoice-v2';
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.createTimeoutMs = opts.createTimeoutMs ?? 120_000;
    this.createSettlePollMs = opts.createSettlePollMs ?? 5_000;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.taskStartTimeoutMs = opts.taskStartTimeoutMs ?? 10_000;
    this.synthesisTimeoutMs = opts.synthesisTimeoutMs ?? 600_000;
    this.stallTimeoutMs = opts.synthesisStallTimeoutMs ?? 30_000;
    this.retries = opts.retries ?? 3;
    this.minRetryDelayMs = opts.minRetryDelayMs ?? 500;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 8_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.listPageSize = opts.listPageSize ?? 10;
    this.createSettleMs = opts.createSettleMs ?? 180_000;
    this.highWaterBytes = opts.streamHighWaterBytes ?? 4 * 1024 * 1024;
    this.logger = opts.logger;
    this.onCall = opts.onCall;
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.pool = new SocketPool({
      url: opts.wsUrl ?? 'wss://dashscope.aliyuncs.com/api-ws/v1/inference',
      apiKey: opts.apiKey,
      userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
      ...(opts.workspace !== undefined && { workspace: opts.workspace }),
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      maxSockets: opts.maxSockets ?? 4,
      idleMs: opts.socketIdleMs ?? 50_000,
      ...(opts.logger !== undefined && { logger: opts.logger }),
    });
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
  async createVoice(input: CreateVoiceInput): Promise<ProviderVoice> {
    return this.instrument('create', () => this.doCreate(input));
  }

  /** @throws ProviderError `not_found` for an unknown id. */
  async getVoice(voiceId: string, signal?: AbortSignal): Promise<ProviderVoice> {
    return this.instrument('query', () =>
      this.withRetry(() => this.queryOnce(voiceId, signal), signal),
    );
  }

  /** One page of voices (0-based), filtered by prefix at DashScope. */
  async listVoices(opts: ListVoicesOptions): Promise<ProviderVoice[]> {
    const page = await this.instrument('list', () =>
      this.withRetry(
        () => this.listPage(opts.prefix, opts.pageIndex ?? 0, opts.pageSize ?? 10, opts.signal),
        opts.signal,
      ),
    );
    // Clones only: voice-design voices are not ours to adopt or delete.
    return page.filter((v) => !isVoiceDesignId(v.id));
  }

  /** Idempotent: an unknown voice resolves. */
  async deleteVoice(voiceId: string, signal?: AbortSignal): Promise<void> {
    return this.instrument('delete', () => this.deleteQuiet(voiceId, signal));
  }

  /**
   * Re-enrols an existing voice from new audio (`update_voice`). Not part of
   * the port; whether the voice returns to `deploying` is unverified, so poll
   * {@link getVoice} afterwards.
   * @throws ProviderError `not_found`, `sample`, and the usual transport kinds.
   */
  async updateVoice(voiceId: string, sampleUrl: string, signal?: AbortSignal): Promise<void> {
    return this.instrument('update', async () => {
      await this.withRetry(
        () => this.post('update_voice', { voice_id: voiceId, url: sampleUrl }, signal),
        signal,
      );
    });
  }

  private async doCreate(input: CreateVoiceInput): Promise<ProviderVoice> {
    const { prefix, sampleUrl, signal } = input;
    const targetModel = input.targetModel === '' ? this.defaultTargetModel : input.targetModel;
    if (!PREFIX_RE.test(prefix)) {
      throw requestError('The voice prefix must be 1–10 lowercase letters or digits.');
    }
    const key = `${prefix}\u0000${sampleUrl}`;
    const earlier = this.unresolved.get(key);
    // Ids that existed before our first attempt; any other id with our
    // prefix that appears later may be ours.
    const baseline = earlier ?? new Set((await this.listAll(prefix, signal)).map((v) => v.id));
    if (earlier !== undefined) {
      // An earlier call could not tell whether it created the voice; look first.
      const found = await this.reconcile(prefix, sampleUrl, baseline, signal);
      if (found.kind === 'adopted') {
        this.unresolved.delete(key);
        return this.claim({ ...found.voice, targetModel });
      }
      if (found.kind === 'ambiguous') throw this.ambiguousCreate(found.candidates);
      this.unresolved.delete(key);
    }

    let uncertainAttempts = 0;
    const result = await pRetry(async (): Promise<{ voice: ProviderVoice; adopted: boolean }> => {
      try {
        const output = await this.post(
          'create_voice',
          { target_model: targetModel, prefix, url: sampleUrl },
          signal,
          this.createTimeoutMs,
        );
        const id = str(output.voice_id);
        if (id === undefined) {
          // 200 without an id: something was probably created; treat as unknown.
          throw unavailable('DashScope accepted the create but returned no voice_id.');
        }
        return { voice: { id, status: 'deploying', targetModel }, adopted: false };
      } catch (err) {
        // Throttling refuses the request, so a plain retry is safe; anything
        // but `unavailable` is a definite answer.
        if (!(err instanceof ProviderError) || err.kind !== 'unavailable') throw err;
        if (neverSent.has(err)) throw err; // nothing reached DashScope: plain retry
        uncertainAttempts++;
        this.logger?.warn(
          {
            prefix,
            kind: err.kind,
            code: err.details.providerCode,
            status: err.details.httpStatus,
          },
          'DashScope create_voice outcome unknown; checking for the voice before any retry',
        );
        let found: Reconciliation;
        try {
          // A timed-out request may still be running server-side: keep
          // looking for its voice until it must have landed, and only then
          // decide that nothing was created (a new create before that could
          // enrol the same sample twice).
          const settleUntil =
            mayStillRun.has(err) && this.createSettleMs > 0 ? Date.now() + this.createSettleMs : 0;
          for (;;) {
            found = await this.reconcile(prefix, sampleUrl, baseline, signal);
            const left = settleUntil - Date.now();
            if (found.kind !== 'none' || left <= 0) break;
            await sleep(Math.min(this.createSettlePollMs, left), signal);
          }
        } catch (checkErr) {
          if (signal?.aborted === true) throw checkErr;
          this.unresolved.set(key, baseline);
          throw new AbortError(
            unavailable(
              'DashScope did not confirm the voice creation and the outcome could not be checked; it will be looked for on the next attempt.',
              checkErr,
            ),
          );
        }
        if (found.kind === 'adopted')
          return { voice: { ...found.voice, targetModel }, adopted: true };
        if (found.kind === 'ambiguous') {
          this.unresolved.set(key, baseline);
          throw new AbortError(this.ambiguousCreate(found.candidates));
        }
        throw err; // Nothing was created: safe to retry.
      }
    }, this.retryOptions(signal));

    if (uncertainAttempts > 0 && !result.adopted) {
      // An earlier attempt may have created a voice after we looked: remove
      // such duplicates (same prefix and sample URL, new since the baseline).
      await this.sweepDuplicates(prefix, sampleUrl, baseline, result.voice.id, signal);
    }
    if (result.adopted) {
      this.logger?.info(
        { voiceId: result.voice.id },
        'adopted the voice created by an unconfirmed attempt',
      );
    }
    return this.claim(result.voice);
  }

  private claim(voice: ProviderVoice): ProviderVoice {
    this.claimed.add(voice.id);
    if (this.claimed.size > 10_000) {
      const oldest = this.claimed.values().next();
      if (oldest.done !== true) this.claimed.delete(oldest.value);
    }
    return voice;
  }

  private ambiguousCreate(candidates: string[]): ProviderError {
    this.logger?.error({ candidates }, 'cannot tell which new DashScope voice a create made');
    return unavailable(
      `DashScope did not confirm the voice creation and ${candidates.length} new voices with this prefix cannot be told apart; not retrying to avoid duplicates.`,
    );
  }

  /**
   * Looks for the voice an unconfirmed create made: a voice with our prefix
   * that is not in `baseline`, not claimed by another create here, and whose
   * `resource_link` is our sample URL. Several such voices are duplicates of
   * ours: the newest is adopted and the rest deleted. A lone new voice whose
   * link cannot be read is adopted; new voices with another link are someone
   * else's and are left alone.
   */
  private async reconcile(
    prefix: string,
    sampleUrl: string,
    baseline: Set<string>,
    signal?: AbortSignal,
  ): Promise<Reconciliation> {
    const fresh = (await this.listAll(prefix, signal)).filter(
      (v) => !baseline.has(v.id) && !this.claimed.has(v.id),
    );
    if (fresh.length === 0) return { kind: 'none' };
    const ours: ListedVoice[] = [];
    const unverifiable: ListedVoice[] = [];
    for (const voice of fresh) {
      let link: string | undefined;
      try {
        link = str(
          (
            await this.withRetry(
              () => this.post('query_voice', { voice_id: voice.id }, signal),
              signal,
            )
          ).resource_link,
        );
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'not_found') continue;
        throw err;
      }
      if (link === undefined) unverifiable.push(voice);
      else if (link === sampleUrl) ours.push(voice);
    }
    if (ours.length > 0) {
      const [newest, ...extras] = newestFirst(ours);
      if (newest === undefined) return { kind: 'none' };
      for (const extra of extras) {
        this.logger?.warn(
          { voiceId: extra.id, kept: newest.id },
          'deleting a duplicate voice from a retried create',
        );
        await this.deleteQuiet(extra.id, signal).catch((err: unknown) => {
          this.logger?.error(
            { voiceId: extra.id, err: String(err) },
            'could not delete a duplicate voice',
          );
        });
      }
      return { kind: 'adopted', voice: newest };
    }
    if (unverifiable.length === 1 && fresh.length === 1 && unverifiable[0] !== undefined) {
      return { kind: 'adopted', voice: unverifiable[0] };
    }
    if (unverifiable.length === 0) return { kind: 'none' };
    return { kind: 'ambiguous', candidates: unverifiable.map((v) => v.id) };
  }

  private async sweepDuplicates(
    prefix: string,
    sampleUrl: string,
    baseline: Set<string>,
    keep: string,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      const fresh = (await this.listAll(prefix, signal)).filter(
        (v) => v.id !== keep && !baseline.has(v.id) && !this.claimed.has(v.id),
      );
      for (const voice of fresh) {
        const output = await this.withRetry(
          () => this.post('query_voice', { voice_id: voice.id }, signal),
          signal,
        );
        if (str(output.resource_link) === sampleUrl) {
          this.logger?.warn(
            { voiceId: voice.id, kept: keep },
            'deleting a duplicate voice from a retried create',
          );
          await this.deleteQuiet(voice.id, signal);
        }
      }
    } catch (err) {
      // The voice we return is fine; a leftover duplicate only costs quota.
      this.logger?.warn(
        { err: String(err) },
        'could not check for duplicate voices after a retried create',
      );
    }
  }

  private async queryOnce(voiceId: string, signal?: AbortSignal): Promise<ProviderVoice> {
    if (voiceId === '') throw requestError('The voice id is empty.');
    const output = await this.post('query_voice', { voice_id: voiceId }, signal);
    if (output.status === undefined && output.resource_link === undefined) {
      // The Java SDK reads a 200 without these fields as "not found".
      throw new ProviderError('not_found', 'The voice does not exist at DashScope.');
    }
    const status = mapVoiceStatus(output.status);
    if (status === undefined) {
      throw unavailable(`DashScope reported an unknown voice status (${String(output.status)}).`);
    }
    const targetModel = str(output.target_model);
    const createdAt = str(output.gmt_create);
    return {
      id: voiceId,
      status,
      ...(targetModel !== undefined && { targetModel }),
      ...(createdAt !== undefined && { createdAt }),
    };
  }

  private async listPage(
    prefix: string | undefined,
    pageIndex: number,
    pageSize: number,
    signal?: AbortSignal,
  ): Promise<ListedVoice[]> {
    if (prefix !== undefined && prefix !== '' && !PREFIX_RE.test(prefix)) {
      throw requestError('The voice prefix must be 1–10 lowercase letters or digits.');
    }
    if (!Number.isInteger(pageIndex) || pageIndex < 0)
      throw requestError('pageIndex must be an integer ≥ 0.');
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw requestError('pageSize must be an integer ≥ 1.');
    const output = await this.post(
      'list_voice',
      {
        ...(prefix !== undefined && prefix !== '' && { prefix }),
        page_index: pageIndex,
        page_size: pageSize,
      },
      signal,
    );
    const items: unknown = output.voice_list ?? [];
    if (!Array.isArray(items))
      throw unavailable('DashScope answered list_voice without a voice_list.');
    const voices: ListedVoice[] = [];
    for (const item of items as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const record = item as Record<string, unknown>;
      const id = str(record.voice_id);
      const status = mapVoiceStatus(record.status);
      if (id === undefined || status === undefined) {
        this.logger?.warn(
          { item: JSON.stringify(item).slice(0, 200) },
          'skipping an unreadable voice_list item',
        );
        continue;
      }
      const createdAt = str(record.gmt_create);
      voices.push({ id, status, ...(createdAt !== undefined && { createdAt }) });
    }
    return voices;
  }

  /**
   * Every voice with `prefix`, walking pages until an empty one (there is no
   * total count, and the largest page size the service honours is unverified,
   * so a short page does not prove it was the last).
   */
  private async listAll(prefix: string, signal?: AbortSignal): Promise<ListedVoice[]> {
    const seen = new Map<string, ListedVoice>();
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const voices = await this.withRetry(
        () => this.listPage(prefix, page, this.listPageSize, signal),
        signal,
      );
      let added = 0;
      for (const v of voices) {
        if (!seen.has(v.id)) {
          seen.set(v.id, v);
          added++;
        }
      }
      if (voices.length === 0 || added === 0) break;
    }
    return [...seen.values()].filter((v) => !isVoiceDesignId(v.id));
  }

  private async deleteQuiet(voiceId: string, signal?: AbortSignal): Promise<void> {
    if (voiceId === '') throw requestError('The voice id is empty.');
    try {
      await this.withRetry(() => this.post('delete_voice', { voice_id: voiceId }, signal), signal);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') return;
      throw err;
    }
  }

  /**
   * One enrollment call: a single attempt with the request timeout, mapped to
   * ProviderError. A caller abort rethrows the caller's reason as is.
   */
  private async post(
    action: EnrollmentAction,
    fields: Record<string, unknown>,
    signal?: AbortSignal,
    timeoutMs = this.requestTimeoutMs,
  ): Promise<Output> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`,
      'Content-Type': 'application/json',
      'user-agent': this.userAgent,
    };
    if (this.workspace !== undefined) headers['X-DashScope-WorkSpace'] = this.workspace;
    let status: number;
    let text: string;
    let retryAfterHeader: string | null;
    try {
      const res = await this.fetchImpl(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'voice-enrollment', input: { action, ...fields } }),
        signal: combined,
      });
      status = res.status;
      retryAfterHeader = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason;
      if (timeout.aborted) {
        const e = unavailable(`DashScope did not answer ${action} within ${timeoutMs} ms.`, err);
        mayStillRun.add(e);
        throw e;
      }
      const code = describeNetworkError(err);
      const e = unavailable(redact(`Could not reach DashScope (${code}).`, this.apiKey), err);
      (NOT_SENT_CODES.has(code) ? neverSent : mayStillRun).add(e);
      throw e;
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const record =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
    const requestId = str(record?.request_id);
    if (status < 200 || status >= 300) {
      const retryAfter = parseRetryAfter(retryAfterHeader);
      if (record === undefined) {
        // Not DashScope's JSON (a proxy, a gateway page): trust only the clearest statuses.
        const byStatus = status === 401 || status === 403 || status === 429 || status === 430;
        if (!byStatus) {
          throw new ProviderError(
            'unavailable',
            `DashScope answered HTTP ${status} with a body that is not JSON.`,
            {
              httpStatus: status,
              providerCode: 'Unknown',
            },
          );
        }
      }
      throw toProviderError(
        {
          httpStatus: status,
          ...(str(record?.code) !== undefined
            ? { code: str(record?.code) }
            : record === undefined && { code: 'Unknown' }),
          ...(str(record?.message) !== undefined && { message: str(record?.message) }),
          ...(requestId !== undefined && { requestId }),
          ...(retryAfter !== undefined && { retryAfter }),
        },
        this.apiKey,
      );
    }
    if (record === undefined) {
      throw new ProviderError(
        'unavailable',
        `DashScope answered ${action} with a body that is not JSON.`,
        {
          httpStatus: status,
          providerCode: 'Unknown',
        },
      );
    }
    const output = record.output;
    if (typeof output !== 'object' || output === null) {
      return {};
    }
    return output as Output;
  }

  private withRetry<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return pRetry(fn, this.retryOptions(signal));
  }

  private retryOptions(signal?: AbortSignal): RetryOptions {
    return {
      retries: this.retries,
      factor: 2,
      minTimeout: this.minRetryDelayMs,
      maxTimeout: this.maxRetryDelayMs,
      randomize: true,
      ...(signal !== undefined && { signal }),
      shouldRetry: ({ error }) => {
        if (!(error instanceof ProviderError) || !error.retryable) return false;
        const retryAfter = error.details.retryAfter;
        return retryAfter === undefined || retryAfter * 1000 <= this.maxRetryAfterMs;
      },
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (!(error instanceof ProviderError) || !error.retryable || retriesLeft <= 0) return;
        const retryAfter = error.details.retryAfter;
        this.logger?.debug(
          {
            kind: error.kind,
            code: error.details.providerCode,
            attemptNumber,
            retriesLeft,
            retryAfter,
          },
          'retrying DashScope call',
        );
        // Honour Retry-After on top of the backoff p-retry adds itself.
        if (
          retryAfter !== undefined &&
          retryAfter > 0 &&
          retryAfter * 1000 <= this.maxRetryAfterMs
        ) {
          await sleep(retryAfter * 1000, signal);
        }
      },
    };
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
  synthesize(input: SynthesizeInput): AsyncIterable<Uint8Array> {
    return this.synthesizeStream(input);
  }

  private async *synthesizeStream(
    input: SynthesizeInput,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const started = performance.now();
    let outcome: DashScopeCallOutcome = 'aborted';
    try {
      const request = this.synthesisRequest(input);
      for (let attempt = 0; ; attempt++) {
        let yielded = false;
        try {
          for await (const frame of runSynthesisTask(
            {
              pool: this.pool,
              apiKey: this.apiKey,
              taskStartTimeoutMs: this.taskStartTimeoutMs,
              synthesisTimeoutMs: this.synthesisTimeoutMs,
              stallTimeoutMs: this.stallTimeoutMs,
              highWaterBytes: this.highWaterBytes,
              ...(this.logger !== undefined && { logger: this.logger }),
            },
            request,
          )) {
            yielded = true;
            yield frame;
          }
          outcome = 'ok';
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
              : this.minRetryDelayMs;
          await sleep(Math.min(delay, this.maxRetryAfterMs), input.signal);
        }
      }
    } catch (err) {
      outcome = this.outcomeOf(err, input.signal);
      throw err;
    } finally {
      this.report('synthesize', outcome, performance.now() - started);
    }
  }

  private synthesisRequest(input: SynthesizeInput): Parameters<typeof runSynthesisTask>[1] {
    if (input.voiceId === '') throw requestError('The voice id is empty.');
    if (!FORMATS.has(input.format))
      throw requestError(`Unsupported audio format ${String(input.format)}.`);
    if (!SAMPLE_RATES.has(input.sampleRate)) {
      throw requestError(
        `Unsupported sample rate ${input.sampleRate} Hz: use 8000, 16000, 22050, 24000, 44100 or 48000.`,
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
      model: input.targetModel === '' ? this.defaultTargetModel : input.targetModel,
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

  /** Closes every synthesis socket; in-flight syntheses fail with `unavailable`. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  // ------------------------------------------------------------------ metrics

  private async instrument<T>(
    op: DashScopeOperation,
    fn: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const started = performance.now();
    try {
      const result = await fn();
      this.report(op, 'ok', performance.now() - started);
      return result;
    } catch (err) {
      this.report(op, this.outcomeOf(err, signal), performance.now() - started);
      throw err;
    }
  }

  private outcomeOf(err: unknown, signal?: AbortSignal): DashScopeCallOutcome {
    if (err instanceof ProviderError) return err.kind;
    if (signal?.aborted === true || (err instanceof Error && err.name === 'AbortError'))
      return 'aborted';
    return 'unavailable';
  }

  private report(op: DashScopeOperation, outcome: DashScopeCallOutcome, durationMs: number): void {
    try {
      this.onCall?.(op, outcome, durationMs);
    } catch (err) {
      this.logger?.warn({ err: String(err) }, 'onCall hook threw');
    }
  }
}

function newestFirst(voices: ListedVoice[]): ListedVoice[] {
  // gmt_create is "YYYY-MM-DD HH:MM:SS", so strings sort by time; on a tie the
  // later list position wins.
  return voices
    .map((v, i) => ({ v, i }))
    .sort((a, b) => {
      const byTime = (b.v.createdAt ?? '').localeCompare(a.v.createdAt ?? '');
      return byTime !== 0 ? byTime : b.i - a.i;
    })
    .map(({ v }) => v);
}
