import { describe, expect, it } from 'vitest';
import {
  classifyDashScopeFailure,
  parseRetryAfter,
  toProviderError,
  type DashScopeFailure,
} from '../../../src/providers/dashscope/index.js';
import type { ProviderErrorKind } from '../../../src/providers/provider.js';

const table: [DashScopeFailure, ProviderErrorKind][] = [
  [{ httpStatus: 400, code: 'Audio.AudioShortError', message: 'valid audio too short!' }, 'sample'],
  [{ httpStatus: 430, code: 'Audio.AudioSilentError' }, 'sample'],
  [{ httpStatus: 400, code: 'Audio.DecoderError' }, 'sample'],
  [{ httpStatus: 430, code: 'Audio.AudioRateError' }, 'sample'],
  [{ httpStatus: 430, code: 'Audio.FileSizeExceed' }, 'sample'],
  [{ httpStatus: 400, code: 'BadRequest.UnsupportedFileFormat' }, 'sample'],
  [{ httpStatus: 430 }, 'sample'],
  [{ httpStatus: 400, code: 'InvalidParameter' }, 'request'],
  [{ httpStatus: 400, code: 'BadRequest.ResourceNotExist' }, 'not_found'],
  [{ httpStatus: 400, code: 'Throttling.AllocationQuota' }, 'quota'],
  [{ httpStatus: 401, code: 'InvalidApiKey' }, 'auth'],
  [{ httpStatus: 401 }, 'auth'],
  [{ httpStatus: 403, code: 'AccessDenied.Unpurchased' }, 'auth'],
  [{ httpStatus: 403, code: 'Model.AccessDenied' }, 'auth'],
  [{ httpStatus: 400, code: 'Arrearage' }, 'auth'],
  [{ httpStatus: 429, code: 'Throttling' }, 'throttled'],
  [{ httpStatus: 429, code: 'Throttling.RateQuota' }, 'throttled'],
  [{ httpStatus: 429, code: 'Throttling.BurstRate' }, 'throttled'],
  [{ httpStatus: 429 }, 'throttled'],
  [
    { httpStatus: 500, code: 'InternalError', message: 'audio preprocess server error' },
    'unavailable',
  ],
  [{ httpStatus: 503, code: 'ModelUnavailable' }, 'unavailable'],
  [{ httpStatus: 502 }, 'unavailable'],
  [{ httpStatus: 404 }, 'request'],
  // task-failed events carry no HTTP status
  [{ code: 'InvalidParameter', message: '[tts:]Engine return error code: 418' }, 'request'],
  [{ code: 'CLIENT_ERROR', message: 'request timeout after 23 seconds.' }, 'unavailable'],
  [{ code: 'SomethingNew' }, 'unavailable'],
  [{ message: 'Engine return error code: 418' }, 'request'],
];

describe('DashScope error mapping', () => {
  it.each(table)('maps %j to %s', (failure, kind) => {
    expect(classifyDashScopeFailure(failure)).toBe(kind);
    expect(toProviderError(failure).kind).toBe(kind);
  });

  it('explains sample errors in plain words and keeps the provider reason', () => {
    const err = toProviderError({
      httpStatus: 400,
      code: 'Audio.AudioShortError',
      message: 'valid audio too short!',
    });
    expect(err.message).toMatch(/^The sample is too short: the provider needs at least 5 seconds/);
    expect(err.message).toContain('valid audio too short!');
    expect(err.details.providerCode).toBe('Audio.AudioShortError');
    expect(err.details.httpStatus).toBe(400);
    expect(err.retryable).toBe(false);
  });

  it('names the unsupported format and the accepted ones', () => {
    const err = toProviderError({ httpStatus: 400, code: 'BadRequest.UnsupportedFileFormat' });
    expect(err.message).toMatch(/WAV, MP3 or M4A/);
  });

  it('never puts the API key in an auth message, even if the provider echoes it', () => {
    const key = 'sk-secret-0123456789abcdef';
    const err = toProviderError(
      { httpStatus: 401, code: 'InvalidApiKey', message: `Invalid API-key provided: ${key}` },
      key,
    );
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/DashScope API key was rejected/);
    expect(err.message).not.toContain(key);
    const other = toProviderError(
      { httpStatus: 500, code: 'InternalError', message: `boom ${key}` },
      key,
    );
    expect(other.message).not.toContain(key);
    expect(other.message).toContain('***');
  });

  it('keeps the provider message of an InternalError (e.g. an unreachable sample URL)', () => {
    const err = toProviderError({
      httpStatus: 500,
      code: 'InternalError',
      message: 'download audio failed',
    });
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('download audio failed');
    expect(err.retryable).toBe(true);
  });

  it('carries Retry-After on throttling', () => {
    const err = toProviderError({ httpStatus: 429, code: 'Throttling', retryAfter: 3 });
    expect(err.details.retryAfter).toBe(3);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('5')).toBe(5);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:10 GMT', now)).toBe(0);
  });
});
