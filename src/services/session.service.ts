import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { ERRORS } from '../errors.js';
import type { ApiKeyRepository } from '../repositories/api-key.repository.js';
import type { SessionRepository } from '../repositories/session.repository.js';
import type { UserRepository } from '../repositories/user.repository.js';
import {
  API_KEY_PREFIX,
  type Actor,
  type CredentialChecker,
  type TokenClaims,
  type TokenService,
} from './token.service.js';

export interface SessionSettings {
  /** A session's lifetime from login (JWT_REFRESH_TTL_SEC). */
  lifetimeSec: number;
  /** How long this process trusts a positive liveness check (0: never). */
  checkCacheSec: number;
  /** The HKDF-derived key API keys are hashed with. */
  apiKeyHashKey: Buffer;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
}

const MAX_REMEMBERED = 10_000;

/**
 * Login sessions, refresh rotation with reuse detection, and API keys.
 *
 * Liveness: each process remembers for `checkCacheSec` seconds that a session
 * or API key was live, so a revocation made by this process takes effect at
 * once and one made by another process within `checkCacheSec` seconds.
 */
export class SessionService implements CredentialChecker {
  /** id → ms until which it is known live. */
  private readonly live = new Map<string, number>();

  constructor(
    private readonly sessions: SessionRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly users: UserRepository,
    private readonly tokens: TokenService,
    private readonly settings: SessionSettings,
    private readonly now: () => Date = () => new Date(),
  ) {}

  // ---- sessions -------------------------------------------------------

  /** Starts a session for a successful login and returns its first tokens. */
  async start(userId: string, device: string | undefined): Promise<TokenPair> {
    const now = this.now();
    const id = uuidv7();
    const jti = randomUUID();
    const expiresAt = new Date(now.getTime() + this.settings.lifetimeSec * 1000);
    await this.sessions.insert({
      id,
      user_id: userId,
      device: cleanDevice(device),
      refresh_jti: jti,
      created_at: now.toISOString(),
      last_used_at: now.toISOString(),
      expires_at: expiresAt.toISOString(),
      revoked_at: null,
    });
    // Ended sessions are kept a day for nothing but this tidy-up.
    await this.sessions.purgeEnded(new Date(now.getTime() - 86_400_000).toISOString());
    return {
      access_token: await this.tokens.issueAccess(userId, id),
      refresh_token: await this.tokens.issueRefresh(userId, id, jti, expiresAt),
    };
  }

  /**
   * Exchanges a refresh token for a new pair. The used token stops working;
   * presenting it again (reuse: it was stolen, or replayed) ends the session.
   */
  async refresh(claims: TokenClaims): Promise<TokenPair> {
    const nowIso = this.now().toISOString();
    const s = await this.sessions.findById(claims.sessionId);
    if (!s || s.user_id !== claims.userId || s.revoked_at || s.expires_at <= nowIso) {
      throw ERRORS.token('Session has ended');
    }
    const next = randomUUID();
    if (
      s.refresh_jti !== claims.jti ||
      !(await this.sessions.rotate(s.id, claims.jti, next, nowIso))
    ) {
      await this.sessions.revoke(s.id, nowIso);
      this.forgetOwner(s.id);
      throw ERRORS.token('Refresh token reused: the session has been ended');
    }
    return {
      access_token: await this.tokens.issueAccess(s.user_id, s.id),
      refresh_token: await this.tokens.issueRefresh(s.user_id, s.id, next, new Date(s.expires_at)),
    };
  }

  async list(actor: Actor) {
    const rows = await this.sessions.listLive(actor.userId, this.now().toISOString());
    return rows.map((s) => ({
      id: s.id,
      device: s.device,
      created_at: s.created_at,
      last_used_at: s.last_used_at,
      current: s.id === actor.sessionId,
    }));
  }

  /** Ends one of the caller's sessions. Unknown, ended or someone else's: 404. */
  async revoke(actor: Actor, sessionId: string): Promise<void> {
    const s = await this.sessions.findById(sessionId);
    if (!s || s.user_id !== actor.userId || s.revoked_at)
      throw ERRORS.notFound('Session not found');
    await this.sessions.revoke(s.id, this.now().toISOString());
    this.forgetOwner(s.id);
  }

  /** Ends the session the caller's access token belongs to. */
  async logout(actor: Actor): Promise<void> {
    if (!actor.sessionId) {
      throw ERRORS.badRequest('Not signed in with a session', {
        info: 'an API key has no session to end; revoke the key instead',
      });
    }
    await this.revoke(actor, actor.sessionId);
  }

  /** Ends every session of the user except `keepSessionId`; returns how many. */
  async revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    const ids = await this.sessions.revokeAllOf(userId, this.now().toISOString(), keepSessionId);
    for (const id of ids) this.forgetOwner(id);
    return ids.length;
  }

  async sessionLive(sessionId: string, userId: string): Promise<boolean> {
    if (this.remembered(`s:${sessionId}:${userId}`)) return true;
    const s = await this.sessions.findById(sessionId);
    const ok =
      !!s && s.user_id === userId && !s.revoked_at && s.expires_at > this.now().toISOString();
    if (ok) this.remember(`s:${sessionId}:${userId}`, sessionId);
    return ok;
  }

  // ---- API keys -------------------------------------------------------

  async createApiKey(actor: Actor, name: unknown) {
    if (!actor.sessionId) {
      throw ERRORS.forbidden('API keys are created from a signed-in session', {
        info: 'sign in with your password to create an API key',
      });
    }
    return this.issueApiKey(actor.userId, name);
  }

  /**
   * Issues a key for `userId` without asking who asks: for callers that have
   * checked that already (a signed-in session above, an operator's command).
   */
  async issueApiKey(userId: string, name: unknown) {
    if (typeof name !== 'string' || !name.trim()) throw ERRORS.badRequest('Missing fields: name');
    const clean = name.trim();
    if ([...clean].length > 100) throw ERRORS.badRequest('name must be at most 100 characters');
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const row = {
      id: uuidv7(),
      user_id: userId,
      name: clean,
      prefix: key.slice(0, 12),
      key_hash: this.hashKey(key),
      created_at: this.now().toISOString(),
      last_used_at: null,
    };
    await this.apiKeys.insert(row);
    return { id: row.id, name: row.name, key, created_at: row.created_at };
  }

  async listApiKeys(actor: Actor) {
    return (await this.apiKeys.listOf(actor.userId)).map((k) => ({
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      created_at: k.created_at,
      last_used_at: k.last_used_at,
    }));
  }

  async revokeApiKey(actor: Actor, id: string): Promise<void> {
    if (!(await this.apiKeys.delete(id, actor.userId))) throw ERRORS.notFound('API key not found');
    this.forgetOwner(id);
  }

  async apiKeyActor(key: string): Promise<Actor | undefined> {
    // A key is 4 + 43 characters; anything far off is not one of ours.
    if (key.length > 100) return undefined;
    const hash = this.hashKey(key);
    const cached = this.rememberedValue(`k:${hash}`);
    if (cached) return { userId: cached.split(' ')[0]!, apiKeyId: cached.split(' ')[1]! };
    const row = await this.apiKeys.findByHash(hash);
    if (!row) return undefined;
    // A key of a deleted account is deleted with it; this guards a race with deletion.
    if (!(await this.users.findById(row.user_id))) return undefined;
    const nowIso = this.now().toISOString();
    if (!row.last_used_at || Date.parse(nowIso) - Date.parse(row.last_used_at) > 60_000) {
      await this.apiKeys.touch(row.id, nowIso);
    }
    this.remember(`k:${hash}`, row.id, `${row.user_id} ${row.id}`);
    return { userId: row.user_id, apiKeyId: row.id };
  }

  /** Revokes every API key of a user (account deletion). */
  async deleteAllOf(userId: string): Promise<void> {
    const keyIds = await this.apiKeys.idsOf(userId);
    const sessionIds = await this.sessions.idsOf(userId);
    await this.apiKeys.deleteAllOf(userId);
    await this.sessions.deleteAllOf(userId);
    for (const id of [...keyIds, ...sessionIds]) this.forgetOwner(id);
    for (const k of [...this.live.keys()]) if (k.endsWith(`:${userId}`)) this.live.delete(k);
  }

  private hashKey(key: string): string {
    return createHmac('sha256', this.settings.apiKeyHashKey).update(key).digest('hex');
  }

  // ---- the liveness memory ---------------------------------------------

  /** Values stored next to entries: `${entryKey}` → owner id (session or key id). */
  private readonly owners = new Map<string, string>();
  private readonly values = new Map<string, string>();

  private remembered(k: string): boolean {
    const until = this.live.get(k);
    if (until === undefined) return false;
    if (until <= Date.now()) {
      this.live.delete(k);
      return false;
    }
    return true;
  }

  private rememberedValue(k: string): string | undefined {
    return this.remembered(k) ? this.values.get(k) : undefined;
  }

  private remember(k: string, ownerId: string, value?: string): void {
    if (this.settings.checkCacheSec <= 0) return;
    if (this.live.size >= MAX_REMEMBERED) {
      this.live.clear();
      this.owners.clear();
      this.values.clear();
    }
    this.live.set(k, Date.now() + this.settings.checkCacheSec * 1000);
    this.owners.set(k, ownerId);
    if (value !== undefined) this.values.set(k, value);
  }

  /** Forgets every remembered entry for a session or key id. */
  private forgetOwner(id: string): void {
    for (const [k, owner] of this.owners) {
      if (owner === id) {
        this.live.delete(k);
        this.owners.delete(k);
        this.values.delete(k);
      }
    }
  }
}

function cleanDevice(ua: string | undefined): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  const s = (ua ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return s ? [...s].slice(0, 200).join('') : 'unknown device';
}
