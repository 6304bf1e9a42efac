import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { v7 as uuidv7 } from 'uuid';
import { ERRORS } from '../errors.js';
import { isUniqueViolation } from '../repositories/db.js';
import type { CaptchaRepository } from '../repositories/captcha.repository.js';
import type { UserRepository, UserRow } from '../repositories/user.repository.js';
import type { CaptchaNotifier } from './notifier.js';
import type { Throttle } from '../cache/throttle.js';
import type { SessionService, TokenPair } from './session.service.js';
import type { Actor, TokenClaims } from './token.service.js';

export type IdentifierType = 'phone' | 'email';

const PHONE_RE = /^1[3-9]\d{9}$/;
// Pragmatic e-mail check: one @, no spaces, a dot in the domain.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_CAPTCHA_ATTEMPTS = 5;

export interface AuthSettings {
  bcryptRounds: number;
  captchaTtlSec: number;
  captchaEcho: boolean;
  requireCaptchaForRegister: boolean;
  /** Keys the captcha hashes so a database dump does not reveal live codes (HKDF-derived). */
  secret: string | Buffer;
  /** Failed logins per identifier, and per address, allowed in `failureWindowSec`. */
  maxFailures: number;
  maxFailuresPerAddress: number;
  failureWindowSec: number;
  /** Captcha codes sent to one identifier in `captchaSendWindowSec`. */
  captchaSendsPerIdentifier: number;
  captchaSendWindowSec: number;
}

/** Where a login comes from: the address it is throttled by, the device its session shows. */
export interface LoginMeta {
  ip?: string;
  device?: string;
}

export interface LoginResult {
  access_token: string;
  refresh_token: string;
  user_id: string;
  username: string;
  avatar_url: string | null;
  phone: string | null;
  email: string | null;
}

/** Password hashing, run off the event loop (the container passes the worker pool's). */
export interface PasswordHasher {
  hash(password: string, rounds: number): Promise<string>;
  compare(password: string, hash: string): Promise<boolean>;
}

/** Hashing on the calling thread: only for code that has no pool (scripts). */
export const inlinePasswordHasher: PasswordHasher = {
  hash: (password, rounds) => bcrypt.hash(password, rounds),
  compare: (password, hash) => bcrypt.compare(password, hash),
};

/** Registration, login (password or one-time code), refresh and verification codes. */
export class AuthService {
  /**
   * Compared against when the user is unknown, so both failures cost the
   * same; made on first need, through the hasher (the worker pool), not at start-up.
   */
  private dummyHash?: Promise<string>;

  constructor(
    private readonly users: UserRepository,
    private readonly captchas: CaptchaRepository,
    private readonly sessions: SessionService,
    private readonly throttle: Throttle,
    private readonly notifier: CaptchaNotifier,
    private readonly settings: AuthSettings,
    private readonly now: () => Date = () => new Date(),
    private readonly passwords: PasswordHasher = inlinePasswordHasher,
  ) {}

  async register(input: {
    username: string;
    identifier: string;
    type: string;
    password: string;
    code?: string;
  }): Promise<{ user_id: string }> {
    const username = input.username.trim();
    if (!username) throw ERRORS.badRequest('Missing fields: username');
    if ([...username].length > 18) {
      throw ERRORS.badRequest('username must be at most 18 characters');
    }
    const type = parseType(input.type);
    const identifier = normalizeIdentifier(type, input.identifier);
    checkPassword(input.password);
    if (this.settings.requireCaptchaForRegister) {
      if (!input.code) throw ERRORS.badRequest('Missing fields: code');
      if (!(await this.consumeCode(identifier, input.code))) {
        throw ERRORS.badRequest('invalid verification code', {
          info: 'the code is wrong, used or expired: request a new one',
        });
      }
    }
    if (await this.users.findByIdentifier(type, identifier)) {
      throw ERRORS.badRequest('user already exists', {
        info: `this ${type} is already registered`,
      });
    }
    const nowIso = this.now().toISOString();
    const row: UserRow = {
      id: uuidv7(),
      username,
      phone: type === 'phone' ? identifier : null,
      email: type === 'email' ? identifier : null,
      password_hash: await this.passwords.hash(input.password, this.settings.bcryptRounds),
      avatar_url: null,
      created_at: nowIso,
      updated_at: nowIso,
    };
    try {
      await this.users.insert(row);
    } catch (err) {
      // Lost a race with an identical registration.
      if (isUniqueViolation(err)) {
        throw ERRORS.badRequest('user already exists', {
          info: `this ${type} is already registered`,
        });
      }
      throw err;
    }
    return { user_id: row.id };
  }

  async login(
    input: {
      identifier: string;
      type: string;
      password?: string;
      code?: string;
    },
    meta: LoginMeta = {},
  ): Promise<LoginResult> {
    const fail = (info: string) => ERRORS.unauthorized('user login fail', { info });
    if (input.type !== 'phone' && input.type !== 'email') {
      throw fail("type must be 'phone' or 'email'");
    }
    if (!input.password && !input.code) throw fail('password or code is required');
    const identifier = input.identifier.trim().toLowerCase();
    // Checked before the user is looked up: an unknown identifier is answered the same way.
    const keys = this.failureKeys(input.type, identifier, meta.ip);
    await this.assertNotLocked(keys);
    const user = await this.users.findByIdentifier(input.type, identifier);
    if (input.password) {
      const ok = await this.passwords.compare(
        input.password,
        user?.password_hash ??
          (await (this.dummyHash ??= this.passwords.hash(
            'timbre-dummy-password',
            this.settings.bcryptRounds,
          ))),
      );
      if (!user || !ok) {
        await this.countFailure(keys);
        throw fail('wrong identifier or password');
      }
    } else {
      if (!user || !(await this.consumeCode(identifier, input.code ?? ''))) {
        await this.countFailure(keys);
        throw fail('wrong identifier or verification code');
      }
    }
    if (user.disabled_at) throw fail('this account is disabled');
    await this.throttle.reset(keys[0]!).catch(() => undefined);
    return {
      ...(await this.sessions.start(user.id, meta.device)),
      user_id: user.id,
      username: user.username,
      avatar_url: user.avatar_url,
      phone: user.phone,
      email: user.email,
    };
  }

  /** Rotates the session's refresh token (see SessionService.refresh). */
  async refresh(claims: TokenClaims): Promise<TokenPair> {
    const user = await this.users.findById(claims.userId);
    if (!user) throw ERRORS.token('User not found');
    return this.sessions.refresh(claims);
  }

  /** Checks the caller's password (account deletion, password change); 401 when wrong. */
  async verifyPassword(userId: string, password: unknown): Promise<void> {
    if (typeof password !== 'string' || !password)
      throw ERRORS.badRequest('Missing fields: password');
    const user = await this.users.findById(userId);
    if (!user) throw ERRORS.token('User not found');
    const keys = this.failureKeys('id', userId);
    await this.assertNotLocked(keys);
    if (!(await this.passwords.compare(password, user.password_hash))) {
      await this.countFailure(keys);
      throw ERRORS.unauthorized('wrong password', { info: 'the current password is not right' });
    }
  }

  /** Sets a new password after checking the old one, and ends every other session. */
  async changePassword(
    actor: Actor,
    input: { old_password?: unknown; new_password?: unknown },
  ): Promise<{ sessions_ended: number }> {
    if (typeof input.new_password !== 'string')
      throw ERRORS.badRequest('Missing fields: new_password');
    checkPassword(input.new_password);
    await this.verifyPassword(actor.userId, input.old_password);
    await this.users.updatePassword(
      actor.userId,
      await this.passwords.hash(input.new_password, this.settings.bcryptRounds),
      this.now().toISOString(),
    );
    return { sessions_ended: await this.sessions.revokeAll(actor.userId, actor.sessionId) };
  }

  /** Sets a new password with a verification code, and ends every session. */
  async resetPassword(
    input: { identifier: string; type: string; code: string; new_password: string },
    meta: LoginMeta = {},
  ): Promise<{ sessions_ended: number }> {
    const type = parseType(input.type);
    const identifier = normalizeIdentifier(type, input.identifier);
    checkPassword(input.new_password);
    const keys = this.failureKeys(type, identifier, meta.ip);
    await this.assertNotLocked(keys);
    const user = await this.users.findByIdentifier(type, identifier);
    if (!user || !(await this.consumeCode(identifier, input.code))) {
      await this.countFailure(keys);
      throw ERRORS.badRequest('invalid verification code', {
        info: 'the code is wrong, used or expired: request a new one',
      });
    }
    await this.users.updatePassword(
      user.id,
      await this.passwords.hash(input.new_password, this.settings.bcryptRounds),
      this.now().toISOString(),
    );
    await this.throttle.reset(keys[0]!).catch(() => undefined);
    return { sessions_ended: await this.sessions.revokeAll(user.id) };
  }

  /** Throttle keys: the identifier (hashed, so keys hold no addresses), then the address. */
  private failureKeys(type: string, identifier: string, ip?: string): string[] {
    const id = createHash('sha256').update(`${type}\n${identifier}`).digest('base64url');
    return [`login-fail:id:${id}`, ...(ip ? [`login-fail:ip:${ip}`] : [])];
  }

  /** 429 with Retry-After while the identifier or the address has too many failures. */
  private async assertNotLocked(keys: string[]): Promise<void> {
    const limits = [this.settings.maxFailures, this.settings.maxFailuresPerAddress];
    // The limiter fails open: with Redis away, logins work (bcrypt still slows guessing).
    const counts = await Promise.all(
      keys.map((k) => this.throttle.peek(k).catch(() => ({ count: 0, ttlSec: 0 }))),
    );
    const locked = counts.filter((c, i) => c.count >= limits[i]!);
    if (!locked.length) return;
    const retry = Math.max(...locked.map((c) => c.ttlSec), 1);
    throw ERRORS.tooManyRequests('Too many failed attempts', {
      info: `try again in ${retry} s`,
      headers: { 'retry-after': String(retry) },
    });
  }

  private async countFailure(keys: string[]): Promise<void> {
    await Promise.all(
      keys.map((k) => this.throttle.hit(k, this.settings.failureWindowSec).catch(() => undefined)),
    );
  }

  async profile(userId: string) {
    const user = await this.users.findById(userId);
    if (!user) throw ERRORS.token('User not found');
    return {
      user_id: user.id,
      username: user.username,
      avatar_url: user.avatar_url,
      phone: user.phone,
      email: user.email,
      created_at: user.created_at,
    };
  }

  /**
   * Issues a 6-digit code. `captcha` is returned only in explicit dev mode;
   * otherwise the notifier is the only way the code leaves the server.
   */
  async sendCaptcha(input: {
    identifier: string;
    type: string;
  }): Promise<{ isFirstUse: boolean; type: IdentifierType; captcha?: string }> {
    const type = parseType(input.type);
    const identifier = normalizeIdentifier(type, input.identifier);
    // Per identifier too: many addresses must not flood one inbox or phone.
    const idHash = createHash('sha256').update(`${type}\n${identifier}`).digest('base64url');
    const sends = await this.throttle
      .hit(`captcha-send:${idHash}`, this.settings.captchaSendWindowSec)
      .catch(() => ({ count: 0, ttlSec: 0 }));
    if (sends.count > this.settings.captchaSendsPerIdentifier) {
      throw ERRORS.tooManyRequests('Too many verification codes for this identifier', {
        info: `try again in ${sends.ttlSec} s`,
        headers: { 'retry-after': String(sends.ttlSec) },
      });
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const now = this.now();
    await this.captchas.purgeExpired(now.toISOString());
    await this.captchas.insert({
      id: uuidv7(),
      identifier,
      code_hash: this.hashCode(identifier, code),
      expires_at: new Date(now.getTime() + this.settings.captchaTtlSec * 1000).toISOString(),
      consumed_at: null,
      created_at: now.toISOString(),
    });
    await this.notifier.send({ identifier, type }, code);
    const existing = await this.users.findByIdentifier(type, identifier);
    return { isFirstUse: !existing, type, ...(this.settings.captchaEcho ? { captcha: code } : {}) };
  }

  /** Checks and consumes (single use) a code; a few wrong guesses burn it. */
  private async consumeCode(identifier: string, code: string): Promise<boolean> {
    const nowIso = this.now().toISOString();
    const row = await this.captchas.latestUsable(identifier, nowIso);
    if (!row || row.attempts >= MAX_CAPTCHA_ATTEMPTS) return false;
    const expected = Buffer.from(row.code_hash, 'hex');
    const given = Buffer.from(this.hashCode(identifier, code), 'hex');
    if (!timingSafeEqual(expected, given)) {
      await this.captchas.countAttempt(row.id);
      return false;
    }
    return this.captchas.consume(row.id, nowIso);
  }

  private hashCode(identifier: string, code: string): string {
    return createHmac('sha256', this.settings.secret)
      .update(`${identifier}\n${code}`)
      .digest('hex');
  }
}

function parseType(type: string): IdentifierType {
  if (type === 'phone' || type === 'email') return type;
  throw ERRORS.badRequest("type must be 'phone' or 'email'");
}

function normalizeIdentifier(type: IdentifierType, raw: string): string {
  const identifier = raw.trim();
  if (type === 'phone') {
    if (!PHONE_RE.test(identifier)) {
      throw ERRORS.badRequest('identifier is not a valid phone number', {
        info: 'expected a mainland China mobile number such as 13800138000',
      });
    }
    return identifier;
  }
  if (!EMAIL_RE.test(identifier) || identifier.length > 255) {
    throw ERRORS.badRequest('identifier is not a valid email address');
  }
  return identifier.toLowerCase();
}

function checkPassword(password: string): void {
  if (password.length < 6) throw ERRORS.badRequest('password must be at least 6 characters');
  if (Buffer.byteLength(password) > 72) {
    throw ERRORS.badRequest('password must be at most 72 bytes');
  }
}
