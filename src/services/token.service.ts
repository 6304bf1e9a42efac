import { randomUUID, webcrypto } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ERRORS } from '../errors.js';
import { tokenKeyring, type TokenKey } from './keys.js';

export type TokenType = 'access' | 'refresh';

export interface TokenSettings {
  secret: string;
  /** Former secrets: tokens they signed are still accepted (key rotation's grace period). */
  previousSecrets?: readonly string[];
  accessTtlSec: number;
  refreshTtlSec: number;
}

/** Who is calling: a user through a login session, or through one of her API keys. */
export interface Actor {
  userId: string;
  sessionId?: string;
  apiKeyId?: string;
}

/** What a verified token says. */
export interface TokenClaims {
  userId: string;
  /** The session the token belongs to. */
  sessionId: string;
  /** The token's own id (refresh tokens are rotated by it). */
  jti: string;
}

/** Answers whether credentials are still good (sessions not revoked, keys not deleted). */
export interface CredentialChecker {
  /** Whether the session is live and belongs to `userId`. */
  sessionLive(sessionId: string, userId: string): Promise<boolean>;
  /** The actor behind an API key, or undefined for an unknown or revoked one. */
  apiKeyActor(key: string): Promise<Actor | undefined>;
}

/** API keys start with this, so they are told apart from JWTs at a glance. */
export const API_KEY_PREFIX = 'tmb_';

/**
 * HS256 JWTs: `sub` = user id, `type` = access|refresh, `sid` = session id,
 * `kid` header = the signing key (see keys.ts). A refresh token is never
 * accepted where an access token is expected, and the reverse. Failures
 * throw 401s whose `msg` carries the original library's wording.
 */
export class TokenService {
  private readonly keys: TokenKey[];
  private checker?: CredentialChecker;

  /**
   * `isDisabled`: when given, a token whose user an operator disabled is
   * refused like an invalid one (checked after the signature).
   */
  constructor(
    private readonly settings: TokenSettings,
    private readonly now: () => Date = () => new Date(),
    private readonly isDisabled?: (userId: string) => Promise<boolean>,
  ) {
    this.keys = tokenKeyring(settings.secret, settings.previousSecrets ?? []);
  }

  private readonly imported = new Map<string, Promise<webcrypto.CryptoKey>>();

  /** Wires the session and API-key checks (the container does this once). */
  useChecker(checker: CredentialChecker): void {
    this.checker = checker;
  }

  async issueAccess(userId: string, sessionId: string): Promise<string> {
    const iat = Math.floor(this.now().getTime() / 1000);
    return this.sign(
      { type: 'access', sid: sessionId },
      userId,
      randomUUID(),
      iat,
      iat + this.settings.accessTtlSec,
    );
  }

  /** A refresh token that expires with its session (`expiresAt`), never later. */
  async issueRefresh(
    userId: string,
    sessionId: string,
    jti: string,
    expiresAt: Date,
  ): Promise<string> {
    const iat = Math.floor(this.now().getTime() / 1000);
    const exp = Math.max(iat + 1, Math.floor(expiresAt.getTime() / 1000));
    return this.sign({ type: 'refresh', sid: sessionId }, userId, jti, iat, exp);
  }

  private async sign(
    claims: Record<string, string>,
    sub: string,
    jti: string,
    iat: number,
    exp: number,
  ) {
    const signing = this.keys[0]!;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: signing.kid })
      .setSubject(sub)
      .setJti(jti)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(await this.cryptoKey(signing));
  }

  /**
   * `key` as a WebCrypto HMAC key, imported once: given raw bytes, jose
   * imports the key again for every token it signs or verifies (about half
   * of an authenticated request's authentication time).
   */
  private cryptoKey(key: TokenKey): Promise<webcrypto.CryptoKey> {
    let k = this.imported.get(key.kid);
    if (!k) {
      k = webcrypto.subtle.importKey('raw', key.key, { name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
        'verify',
      ]);
      this.imported.set(key.kid, k);
    }
    return k;
  }

  /** Verifies `token`'s signature, lifetime and type (not whether its session is live). */
  async verify(token: string, expected: TokenType): Promise<TokenClaims> {
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw ERRORS.token('Invalid token');
    }
    const key = this.keys.find((k) => k.kid === kid);
    if (!key) throw ERRORS.token('Signature verification failed');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.cryptoKey(key), {
        algorithms: ['HS256'],
        currentDate: this.now(),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw ERRORS.token('Token has expired');
      if (err instanceof joseErrors.JWSSignatureVerificationFailed)
        throw ERRORS.token('Signature verification failed');
      if (err instanceof joseErrors.JWTClaimValidationFailed)
        throw ERRORS.token('Token is not yet valid');
      throw ERRORS.token('Invalid token');
    }
    if (payload.type !== expected) {
      throw ERRORS.token(
        expected === 'access'
          ? 'Only non-refresh tokens are allowed'
          : 'Only refresh tokens are allowed',
      );
    }
    const { sub, sid, jti } = payload;
    if (typeof sub !== 'string' || !sub || typeof sid !== 'string' || typeof jti !== 'string')
      throw ERRORS.token('Invalid token');
    await this.assertEnabled(sub);
    return { userId: sub, sessionId: sid, jti };
  }

  private async assertEnabled(userId: string): Promise<void> {
    if (this.isDisabled && (await this.isDisabled(userId))) throw ERRORS.token('User is disabled');
  }

  /**
   * The caller behind an Authorization header: an access token whose session
   * is live, or an API key (`Bearer tmb_…`). Anything else is a 401.
   */
  async authenticate(header: string | undefined): Promise<Actor> {
    const token = bearerToken(header);
    if (token.startsWith(API_KEY_PREFIX)) {
      const actor = await this.checker?.apiKeyActor(token);
      if (!actor) throw ERRORS.token('Invalid API key');
      await this.assertEnabled(actor.userId);
      return actor;
    }
    const claims = await this.verify(token, 'access');
    if (this.checker && !(await this.checker.sessionLive(claims.sessionId, claims.userId))) {
      throw ERRORS.token('Session has ended');
    }
    return { userId: claims.userId, sessionId: claims.sessionId };
  }
}

/** Extracts the bearer token from an Authorization header, or throws the original's 401s. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw ERRORS.token('Missing Authorization Header');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1])
    throw ERRORS.token("Bad Authorization header. Expected 'Authorization: Bearer <JWT>'");
  return m[1];
}
