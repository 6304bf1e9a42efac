import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { deriveKey, tokenKeyring } from '../../../src/services/keys.js';
import { TokenService } from '../../../src/services/token.service.js';

const OLD = 'old-secret-old-secret-old-secret-0123';
const NEW = 'new-secret-new-secret-new-secret-4567';

describe('derived keys', () => {
  it('gives each use its own key, none equal to the secret', () => {
    const uses = ['access-tokens', 'signed-links', 'captcha-codes', 'api-keys'] as const;
    const keys = uses.map((u) => deriveKey(NEW, u).toString('hex'));
    expect(new Set(keys).size).toBe(uses.length);
    for (const k of keys) {
      expect(k).toHaveLength(64);
      expect(k).not.toContain(Buffer.from(NEW).toString('hex'));
    }
    expect(deriveKey(NEW, 'signed-links')).toEqual(deriveKey(NEW, 'signed-links'));
  });
});

describe('token key rotation', () => {
  const settings = { accessTtlSec: 600, refreshTtlSec: 3600 };

  it('accepts tokens of a previous secret while it is listed, and signs with the new one', async () => {
    const before = new TokenService({ ...settings, secret: OLD });
    const token = await before.issueAccess('user-1', 'session-1');
    const rotated = new TokenService({ ...settings, secret: NEW, previousSecrets: [OLD] });
    await expect(rotated.verify(token, 'access')).resolves.toMatchObject({
      userId: 'user-1',
      sessionId: 'session-1',
    });
    const fresh = await rotated.issueAccess('user-1', 'session-1');
    const kid = (t: string) =>
      JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid;
    expect(kid(fresh)).toBe(tokenKeyring(NEW)[0]!.kid);
    expect(kid(fresh)).not.toBe(kid(token));
  });

  it('refuses them once the previous secret is removed', async () => {
    const token = await new TokenService({ ...settings, secret: OLD }).issueAccess('u', 's');
    const after = new TokenService({ ...settings, secret: NEW });
    await expect(after.verify(token, 'access')).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a token signed with the raw secret (the key is derived, not the secret itself)', async () => {
    const svc = new TokenService({ ...settings, secret: NEW });
    const raw = await new SignJWT({ type: 'access', sid: 's' })
      .setProtectedHeader({ alg: 'HS256', kid: tokenKeyring(NEW)[0]!.kid })
      .setSubject('u')
      .setJti('j')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(NEW));
    await expect(svc.verify(raw, 'access')).rejects.toMatchObject({
      status: 401,
      extra: { msg: 'Signature verification failed' },
    });
  });
});
