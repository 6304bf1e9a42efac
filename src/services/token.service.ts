import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ERRORS } from '../errors.js';

export type TokenType = 'access' | 'refresh';

export interface TokenSettings {
  secret: string;
  accessTtlSec: number;
  refreshTtlSec: number;
}

/**
 * HS256 JWTs as the original issued them: `sub` = user id, `type` =
 * access|refresh. A refresh token is never accepted where an access token is
 * expected, and the reverse. Failures throw 401s whose `msg` carries the
 * original library's wording.
 */
export class TokenService {
  private readonly key: Uint8Array;

  /**
   * `isDisabled`: when given, a token whose user an operator disabled is
   * refused like an invalid one (checked after the signature).
   */
  constructor(
    private readonly settings: TokenSettings,
    private readonly now: () => Date = () => new Date(),
    private readonly isDisabled?: (userId: string) => Promise<boolean>,
  ) {
    this.key = new TextEncoder().encode(settings.secret);
  }

  async issue(userId: string, type: TokenType): Promise<string> {
    const iat = Math.floor(this.now().getTime() / 1000);
    const ttl = type === 'access' ? this.settings.accessTtlSec : this.settings.refreshTtlSec;
    return new SignJWT({ type })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + ttl)
      .sign(this.key);
  }

  async issuePair(userId: string): Promise<{ access_token: string; refresh_token: string }> {
    return {
      access_token: await this.issue(userId, 'access'),
      refresh_token: await this.issue(userId, 'refresh'),
    };
  }

  /** Verifies `token` and returns its subject (user id). */
  async verify(token: string, expected: TokenType): Promise<string> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
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
    if (typeof payload.sub !== 'string' || !payload.sub) throw ERRORS.token('Invalid token');
    if (this.isDisabled && (await this.isDisabled(payload.sub))) {
      throw ERRORS.token('User is disabled');
    }
    return payload.sub;
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
