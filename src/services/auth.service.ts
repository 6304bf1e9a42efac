import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { v7 as uuidv7 } from 'uuid';
import { ERRORS } from '../errors.js';
import { isUniqueViolation } from '../repositories/db.js';
import type { CaptchaRepository } from '../repositories/captcha.repository.js';
import type { UserRepository, UserRow } from '../repositories/user.repository.js';
import type { CaptchaNotifier } from './notifier.js';
import type { TokenService } from './token.service.js';

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
  /** Keys the captcha hashes so a database dump does not reveal live codes. */
  secret: string;
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

/** Registration, login (password or one-time code), refresh and verification codes. */
export class AuthService {
  /** Compared against when the user is unknown, so both failures cost the same. */
  private readonly dummyHash: string;

  constructor(
    private readonly users: UserRepository,
    private readonly captchas: CaptchaRepository,
    private readonly tokens: TokenService,
    private readonly notifier: CaptchaNotifier,
    private readonly settings: AuthSettings,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.dummyHash = bcrypt.hashSync('timbre-dummy-password', settings.bcryptRounds);
  }

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
      password_hash: await bcrypt.hash(input.password, this.settings.bcryptRounds),
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

  async login(input: {
    identifier: string;
    type: string;
    password?: string;
    code?: string;
  }): Promise<LoginResult> {
    const fail = (info: string) => ERRORS.unauthorized('user login fail', { info });
    if (input.type !== 'phone' && input.type !== 'email') {
      throw fail("type must be 'phone' or 'email'");
    }
    if (!input.password && !input.code) throw fail('password or code is required');
    const identifier = input.identifier.trim().toLowerCase();
    const user = await this.users.findByIdentifier(input.type, identifier);
    if (input.password) {
      const ok = await bcrypt.compare(input.password, user?.password_hash ?? this.dummyHash);
      if (!user || !ok) throw fail('wrong identifier or password');
    } else {
      if (!user || !(await this.consumeCode(identifier, input.code ?? ''))) {
        throw fail('wrong identifier or verification code');
      }
    }
    if (user.disabled_at) throw fail('this account is disabled');
    return {
      ...(await this.tokens.issuePair(user.id)),
      user_id: user.id,
      username: user.username,
      avatar_url: user.avatar_url,
      phone: user.phone,
      email: user.email,
    };
  }

  async refresh(userId: string): Promise<{ access_token: string; refresh_token: string }> {
    const user = await this.users.findById(userId);
    if (!user) throw ERRORS.token('User not found');
    return this.tokens.issuePair(user.id);
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
