/**
 * Turns DashScope failures (HTTP error bodies, WebSocket `task-failed`
 * events, upgrade rejections, timeouts, network errors) into
 * {@link ProviderError}s with a kind the service layer can act on and a
 * message a user can understand. Messages never contain the API key.
 */
import { ProviderError, type ProviderErrorKind } from '../provider.js';

/** What we know about one failed DashScope exchange. */
export interface DashScopeFailure {
  /** HTTP status (enrollment, or a rejected WebSocket upgrade). Absent for task-failed. */
  httpStatus?: number;
  /** DashScope `code` (HTTP body) or `error_code` (task-failed). */
  code?: string;
  /** DashScope `message` / `error_message`, shown to users in parentheses. */
  message?: string;
  requestId?: string;
  /** Seconds, from a `Retry-After` header. */
  retryAfter?: number;
  cause?: unknown;
}

/** Plain-language explanations of the documented sample errors. */
const SAMPLE_MESSAGES: Record<string, string> = {
  'Audio.AudioShortError':
    'The sample is too short: the provider needs at least 5 seconds of continuous, clear speech (10–20 seconds recommended).',
  'Audio.AudioSilentError':
    'The sample is silent or contains too little speech: record at least 5 seconds of clear speech without long pauses.',
  'Audio.DecoderError':
    'The sample could not be decoded: the file may be corrupt or use an unsupported encoding (use 16-bit WAV, MP3 or M4A).',
  'Audio.AudioRateError':
    'The sample rate of the sample is not supported: record it at 16 kHz or more.',
  'Audio.FileSizeExceed': 'The sample is too large: the provider accepts files of at most 10 MB.',
  'BadRequest.UnsupportedFileFormat':
    'The sample is not in a supported format: use 16-bit WAV, MP3 or M4A audio.',
};

const AUTH_MESSAGES: Record<string, string> = {
  InvalidApiKey: 'The DashScope API key was rejected (check the key and its region).',
  Arrearage:
    'The DashScope account is in arrears: the provider refuses requests until the overdue payment is settled.',
};

function providerSaid(f: DashScopeFailure): string {
  const parts = [f.code, f.message].filter((p): p is string => typeof p === 'string' && p !== '');
  return parts.length === 0 ? '' : ` (DashScope: ${parts.join(': ')})`;
}

/** Decides the kind; exported for the table test. Code beats status. */
export function classifyDashScopeFailure(f: DashScopeFailure): ProviderErrorKind {
  const code = f.code ?? '';
  const status = f.httpStatus;
  if (code.startsWith('Audio.') || code === 'BadRequest.UnsupportedFileFormat' || status === 430) {
    return 'sample';
  }
  if (
    code === 'InvalidApiKey' ||
    code === 'Arrearage' ||
    code.includes('AccessDenied') ||
    status === 401 ||
    status === 403
  ) {
    return 'auth';
  }
  // The same code means two things: with HTTP 400 the 1,000-voice quota is
  // full; with 429 it is a rate limit, retried like any throttling.
  if (code === 'Throttling.AllocationQuota' && status !== 429) return 'quota';
  if (code.startsWith('Throttling') || status === 429) return 'throttled';
  if (code === 'BadRequest.ResourceNotExist') return 'not_found';
  if (
    code === 'ModelUnavailable' ||
    code.startsWith('InternalError') ||
    code === 'CLIENT_ERROR' ||
    (status !== undefined && (status >= 500 || status === 408))
  ) {
    return 'unavailable';
  }
  if (
    code === 'InvalidParameter' ||
    code.startsWith('BadRequest') ||
    /\b418\b/.test(f.message ?? '')
  ) {
    return 'request';
  }
  if (status !== undefined && status >= 400 && status < 500) return 'request';
  // A task-failed with a code we do not know, or a 200 we could not read.
  return 'unavailable';
}

function messageFor(kind: ProviderErrorKind, f: DashScopeFailure): string {
  const code = f.code ?? '';
  const said = providerSaid(f);
  switch (kind) {
    case 'sample': {
      const known = SAMPLE_MESSAGES[code];
      if (known !== undefined) return `${known}${said}`;
      return `The provider could not use the sample${said}.`;
    }
    case 'auth': {
      const known = AUTH_MESSAGES[code];
      if (known !== undefined) return known;
      if (code.includes('AccessDenied') || f.httpStatus === 403) {
        return `The DashScope account has no access to this model or service${said}.`;
      }
      return 'The DashScope API key was rejected.';
    }
    case 'quota':
      return 'The DashScope voice quota is full (1000 cloned voices per account): delete unused voices to free a slot.';
    case 'throttled':
      return `DashScope is rate limiting requests; try again later${said}.`;
    case 'not_found':
      return `The voice does not exist at DashScope${said}.`;
    case 'request':
      return `DashScope rejected the request as invalid${said}.`;
    case 'unavailable': {
      const status = f.httpStatus === undefined ? '' : ` with HTTP ${f.httpStatus}`;
      return `DashScope failed${status}${said}.`;
    }
  }
}

/** Builds the ProviderError for a failure, scrubbing `secret` from the message. */
export function toProviderError(f: DashScopeFailure, secret?: string): ProviderError {
  const kind = classifyDashScopeFailure(f);
  const message = redact(messageFor(kind, f), secret);
  return new ProviderError(kind, message, {
    ...(f.code !== undefined && { providerCode: f.code }),
    ...(f.httpStatus !== undefined && { httpStatus: f.httpStatus }),
    ...(f.requestId !== undefined && { requestId: f.requestId }),
    ...(f.retryAfter !== undefined && { retryAfter: f.retryAfter }),
    ...(f.cause !== undefined && { cause: f.cause }),
  });
}

/** Replaces every occurrence of the key (and of its non-trivial prefix) with `***`. */
export function redact(text: string, secret?: string): string {
  if (secret === undefined || secret.length < 4) return text;
  return text.split(secret).join('***');
}

/**
 * `Retry-After` as seconds: delta-seconds or an HTTP date, relative to `now`.
 * Returns undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** A call that got no usable answer in time, or no answer at all. */
export function unavailable(message: string, cause?: unknown): ProviderError {
  return new ProviderError('unavailable', message, cause === undefined ? {} : { cause });
}

/** A short, key-free description of a network-level error (`ECONNREFUSED`, `UND_ERR_SOCKET`…). */
export function describeNetworkError(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return err instanceof Error ? err.message : 'network error';
}

/** The abort reason of a signal as an Error (it is one unless someone aborted with a non-Error). */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(
    typeof reason === 'string' ? reason : 'This operation was aborted',
    'AbortError',
  );
}
