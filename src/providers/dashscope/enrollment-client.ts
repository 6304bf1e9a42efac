/**
 * The HTTP side of DashScope voice enrollment
 * (`POST {base}/services/audio/tts/customization`): request building, one
 * timeout per call, retries with p-retry, and the mapping of every answer to
 * a {@link ProviderError}. It knows nothing of create adoption (that is
 * create-reconciler.ts) nor of synthesis.
 */
import pRetry, { type Options as RetryOptions } from 'p-retry';
import { ProviderError, type ProviderVoice, type ProviderVoiceStatus } from '../provider.js';
import {
  abortReason,
  describeNetworkError,
  parseRetryAfter,
  redact,
  toProviderError,
  unavailable,
} from './errors.js';
import { fetchTransport, undiciTransport, type HttpTransport } from './http-transport.js';
import type { DashScopeLogger } from './types.js';

/** Sent as `user-agent` (the SDKs send their own name and version). */
export const DEFAULT_USER_AGENT = 'timbre/1 (dashscope-client; node)';
/** Beijing; see README.md beside this file for the other hosts. */
export const DEFAULT_BASE_URL = 'https://dashscope.aliyuncs.com/api/v1';

const PREFIX_RE = /^[a-z0-9]{1,10}$/;
/** Stop walking `list_voice` pages after this many, whatever happens. */
const MAX_LIST_PAGES = 200;

export type EnrollmentAction =
  'create_voice' | 'query_voice' | 'list_voice' | 'update_voice' | 'delete_voice';

/** `output` of a successful enrollment call, untyped until read. */
export type EnrollmentOutput = Record<string, unknown>;

/** A voice as `list_voice` reports it (`createdAt` is DashScope's `gmt_create`). */
export type ListedVoice = ProviderVoice;

/**
 * Failures of a call whose request may still be running at DashScope (it
 * timed out or the connection broke after sending): a create's voice can
 * appear some time later.
 */
const mayStillRunErrors = new WeakSet<ProviderError>();
/** Failures of a call that never reached DashScope (refused, no DNS). */
const neverSentErrors = new WeakSet<ProviderError>();
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** True when the failed call may still be running server-side (timeout, reset after sending). */
export function mayStillRun(err: ProviderError): boolean {
  return mayStillRunErrors.has(err);
}

/** True when the failed call certainly never reached DashScope (refused, no DNS). */
export function neverSent(err: ProviderError): boolean {
  return neverSentErrors.has(err);
}

/**
 * Voice-design voices (`{model}-vd-{prefix}-…`) share `list_voice` with
 * clones but were never enrolled from a sample: never adopted, never
 * deleted as a leftover of ours.
 */
export function isVoiceDesignId(voiceId: string): boolean {
  return /-vd-/.test(voiceId);
}

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

/** A non-empty string, else undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function requestError(message: string): ProviderError {
  return new ProviderError('request', message);
}

/** Throws `request` unless `prefix` is what DashScope takes (`^[a-z0-9]{1,10}$`). */
export function checkPrefix(prefix: string): void {
  if (!PREFIX_RE.test(prefix)) {
    throw requestError('The voice prefix must be 1–10 lowercase letters or digits.');
  }
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

export interface EnrollmentClientOptions {
  apiKey: string;
  /** Default {@link DEFAULT_BASE_URL}. */
  baseUrl?: string;
  /** Sent as `X-DashScope-WorkSpace` when set. */
  workspace?: string;
  /** Per call, default 15,000 ms (create_voice passes its own). */
  requestTimeoutMs?: number;
  /** Retries after the first attempt, default 3. */
  retries?: number;
  /** Default 500 ms; doubles each retry, with jitter (×1–2). */
  minRetryDelayMs?: number;
  /** Default 8,000 ms. */
  maxRetryDelayMs?: number;
  /** Longest `Retry-After` waited in-process, default 60,000 ms. */
  maxRetryAfterMs?: number;
  /** Voices per page when walking every page, default 10. */
  listPageSize?: number;
  /** Default {@link DEFAULT_USER_AGENT}. */
  userAgent?: string;
  logger?: DashScopeLogger;
  /** A fetch-shaped function to send calls with (test doubles); default undici's request(). */
  fetch?: typeof fetch;
}

/**
 * One client per API key. Every public method is retried on `throttled` and
 * `unavailable` except {@link send}, which is a single attempt (create_voice
 * must never be retried blindly). A cancellation through the caller's signal
 * rethrows the signal's reason as is.
 */
export class EnrollmentClient {
  readonly apiKey: string;
  readonly minRetryDelayMs: number;
  readonly maxRetryAfterMs: number;
  private readonly endpoint: string;
  private readonly workspace: string | undefined;
  private readonly requestTimeoutMs: number;
  private readonly retries: number;
  private readonly maxRetryDelayMs: number;
  private readonly listPageSize: number;
  private readonly userAgent: string;
  private readonly logger: DashScopeLogger | undefined;
  private readonly transport: HttpTransport;

  constructor(opts: EnrollmentClientOptions) {
    this.apiKey = opts.apiKey;
    const baseUrl = (opts.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.endpoint = `${baseUrl}/services/audio/tts/customization`;
    this.workspace = opts.workspace;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.retries = opts.retries ?? 3;
    this.minRetryDelayMs = opts.minRetryDelayMs ?? 500;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 8_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.listPageSize = opts.listPageSize ?? 10;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.logger = opts.logger;
    this.transport = opts.fetch ? fetchTransport(opts.fetch) : undiciTransport();
  }

  /** Closes the kept-alive connections. */
  close(): Promise<void> {
    return this.transport.close();
  }

  /** `query_voice`. @throws ProviderError `not_found` for an unknown id. */
  query(voiceId: string, signal?: AbortSignal): Promise<ProviderVoice> {
    return this.withRetry(() => this.queryOnce(voiceId, signal), signal);
  }

  private async queryOnce(voiceId: string, signal?: AbortSignal): Promise<ProviderVoice> {
    if (voiceId === '') throw requestError('The voice id is empty.');
    const output = await this.send('query_voice', { voice_id: voiceId }, signal);
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

  /** The URL a voice was enrolled from (`resource_link`), if DashScope gives one. */
  async enrolledUrl(voiceId: string, signal?: AbortSignal): Promise<string | undefined> {
    return str((await this.retried('query_voice', { voice_id: voiceId }, signal)).resource_link);
  }

  /** One page (0-based) of `list_voice`, voice-design voices included. */
  listPage(
    prefix: string | undefined,
    pageIndex: number,
    pageSize: number,
    signal?: AbortSignal,
  ): Promise<ListedVoice[]> {
    return this.withRetry(() => this.listPageOnce(prefix, pageIndex, pageSize, signal), signal);
  }

  private async listPageOnce(
    prefix: string | undefined,
    pageIndex: number,
    pageSize: number,
    signal?: AbortSignal,
  ): Promise<ListedVoice[]> {
    if (prefix !== undefined && prefix !== '') checkPrefix(prefix);
    if (!Number.isInteger(pageIndex) || pageIndex < 0)
      throw requestError('pageIndex must be an integer ≥ 0.');
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw requestError('pageSize must be an integer ≥ 1.');
    const output = await this.send(
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
   * Every cloned voice with `prefix`, walking pages until an empty one (there
   * is no total count, and the largest page size the service honours is
   * unverified, so a short page does not prove it was the last).
   */
  async listAll(prefix: string, signal?: AbortSignal): Promise<ListedVoice[]> {
    const seen = new Map<string, ListedVoice>();
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const voices = await this.listPage(prefix, page, this.listPageSize, signal);
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

  /** `update_voice`: re-enrols `voiceId` from `sampleUrl`. */
  async update(voiceId: string, sampleUrl: string, signal?: AbortSignal): Promise<void> {
    await this.retried('update_voice', { voice_id: voiceId, url: sampleUrl }, signal);
  }

  /** `delete_voice`; idempotent: an unknown voice resolves. */
  async delete(voiceId: string, signal?: AbortSignal): Promise<void> {
    if (voiceId === '') throw requestError('The voice id is empty.');
    try {
      await this.retried('delete_voice', { voice_id: voiceId }, signal);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') return;
      throw err;
    }
  }

  /** {@link send} under the retry policy. */
  private retried(
    action: EnrollmentAction,
    fields: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<EnrollmentOutput> {
    return this.withRetry(() => this.send(action, fields, signal), signal);
  }

  /**
   * One enrollment call: a single attempt with the request timeout (or
   * `timeoutMs`), mapped to ProviderError. A failure that left the request
   * possibly running is marked for {@link mayStillRun}; one that never left,
   * for {@link neverSent}. A caller abort rethrows the caller's reason as is.
   */
  async send(
    action: EnrollmentAction,
    fields: Record<string, unknown>,
    signal?: AbortSignal,
    timeoutMs = this.requestTimeoutMs,
  ): Promise<EnrollmentOutput> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`,
      'Content-Type': 'application/json',
      'user-agent': this.userAgent,
    };
    if (this.workspace !== undefined) headers['X-DashScope-WorkSpace'] = this.workspace;
    let answer;
    try {
      answer = await this.transport.post(this.endpoint, {
        headers,
        body: JSON.stringify({ model: 'voice-enrollment', input: { action, ...fields } }),
        signal: combined,
      });
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason;
      if (timeout.aborted) {
        const e = unavailable(`DashScope did not answer ${action} within ${timeoutMs} ms.`, err);
        mayStillRunErrors.add(e);
        throw e;
      }
      const code = describeNetworkError(err);
      const e = unavailable(redact(`Could not reach DashScope (${code}).`, this.apiKey), err);
      (NOT_SENT_CODES.has(code) ? neverSentErrors : mayStillRunErrors).add(e);
      throw e;
    }
    return this.read(action, answer.status, answer.text, answer.retryAfter);
  }

  /** The `output` of a 2xx JSON answer, else the ProviderError the answer means. */
  private read(
    action: EnrollmentAction,
    status: number,
    text: string,
    retryAfterHeader: string | null,
  ): EnrollmentOutput {
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
            { httpStatus: status, providerCode: 'Unknown' },
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
        { httpStatus: status, providerCode: 'Unknown' },
      );
    }
    const output = record.output;
    if (typeof output !== 'object' || output === null) return {};
    return output as EnrollmentOutput;
  }

  /** `fn` under the retry policy (throttled/unavailable, Retry-After honoured). */
  withRetry<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return pRetry(fn, this.retryOptions(signal));
  }

  /** The retry policy, for callers that run their own p-retry loop (create). */
  retryOptions(signal?: AbortSignal): RetryOptions {
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
}
