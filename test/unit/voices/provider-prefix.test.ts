import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { ProviderError, type ProviderErrorKind } from '../../../src/providers/provider.js';
import { escapeLike } from '../../../src/repositories/voice.repository.js';
import { providerFailure } from '../../../src/services/provider-errors.js';
import { providerPrefix } from '../../../src/services/voice.service.js';

/** Deterministic, time-ordered-looking ids (so the assertions never flake). */
const idOf = (i: number) => `01900000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;

describe('providerPrefix', () => {
  const user = uuidv7();

  it('is 10 lowercase letters or digits, as the provider requires', () => {
    for (let i = 0; i < 500; i++) {
      const p = providerPrefix(uuidv7(), uuidv7());
      expect(p).toMatch(/^[a-z0-9]{1,10}$/);
      expect(p).toHaveLength(10);
    }
  });

  it('is stable for the same user and voice', () => {
    const voice = uuidv7();
    expect(providerPrefix(user, voice)).toBe(providerPrefix(user, voice));
    expect(providerPrefix('u', 'v')).toBe(providerPrefix('u', 'v'));
  });

  it('differs per voice: 1000 voices of one user (the provider quota) never collide', () => {
    const owner = idOf(0);
    const seen = new Set(Array.from({ length: 1000 }, (_, i) => providerPrefix(owner, idOf(i))));
    expect(seen.size).toBe(1000);
  });

  it('spreads its characters evenly (no digit is favoured at any position)', () => {
    const n = 36 * 200;
    const counts = Array.from({ length: 10 }, () => new Map<string, number>());
    for (let i = 0; i < n; i++) {
      const p = providerPrefix(idOf(n + i), idOf(i));
      [...p].forEach((ch, pos) => counts[pos]!.set(ch, (counts[pos]!.get(ch) ?? 0) + 1));
    }
    // Position 0 is the fixed 'u'; every other position uses (almost) all 36 symbols evenly.
    for (const m of counts.slice(1)) {
      expect(m.size).toBe(36);
      expect(Math.max(...m.values())).toBeLessThan((n / 36) * 1.6);
    }
  });

  it('starts with the same four characters for one user', () => {
    const a = providerPrefix(user, uuidv7());
    const b = providerPrefix(user, uuidv7());
    expect(a.slice(0, 4)).toBe(b.slice(0, 4));
  });
});

describe('escapeLike', () => {
  it('escapes the LIKE wildcards and the escape character', () => {
    expect(escapeLike('100%')).toBe('100\\%');
    expect(escapeLike('a_b')).toBe('a\\_b');
    expect(escapeLike('c:\\x')).toBe('c:\\\\x');
    expect(escapeLike('plain')).toBe('plain');
  });
});

describe('providerFailure', () => {
  const cases: [ProviderErrorKind, number][] = [
    ['sample', 422],
    ['request', 400],
    ['not_found', 404],
    ['auth', 502],
    ['quota', 503],
    ['throttled', 503],
    ['unavailable', 502],
  ];
  it.each(cases)('%s → %i with a reason for the user', (kind, status) => {
    const e = providerFailure(new ProviderError(kind, 'boom', { retryAfter: 7 }));
    expect(e).toBeInstanceOf(AppError);
    expect(e.status).toBe(status);
    expect(e.info).toEqual(expect.any(String));
    if (kind === 'throttled') expect(e.headers).toEqual({ 'retry-after': '7' });
  });

  it('never passes on the words of an auth failure (they may name the account)', () => {
    const e = providerFailure(new ProviderError('auth', 'key sk-secret is invalid'));
    expect(`${e.message} ${e.info}`).not.toContain('sk-secret');
  });

  it('keeps AppErrors and turns anything else into a 502', () => {
    const app = new AppError(409, 'x');
    expect(providerFailure(app)).toBe(app);
    expect(providerFailure(new Error('socket hang up')).status).toBe(502);
  });
});
