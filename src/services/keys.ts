import { createHash, hkdfSync } from 'node:crypto';

/**
 * Separate keys for separate jobs, all derived from the one configured
 * secret with HKDF-SHA-256 (RFC 5869): a key leaked from one use (say, a
 * signed link's HMAC) tells nothing about the others.
 */
export type KeyPurpose = 'access-tokens' | 'signed-links' | 'captcha-codes' | 'api-keys';

const SALT = 'timbre/v1';

export function deriveKey(secret: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, `timbre ${purpose}`, 32));
}

/** A token signing key and its public id (the JWT `kid` header). */
export interface TokenKey {
  kid: string;
  key: Uint8Array;
}

/**
 * The token keys: the first signs, all verify. `kid` is a short hash of the
 * derived key, so it names the key without revealing anything about it.
 */
export function tokenKeyring(current: string, previous: readonly string[] = []): TokenKey[] {
  return [current, ...previous].map((secret) => {
    const key = deriveKey(secret, 'access-tokens');
    return { kid: createHash('sha256').update(key).digest('base64url').slice(0, 12), key };
  });
}
