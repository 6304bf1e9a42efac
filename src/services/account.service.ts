import type { Logger } from 'pino';
import type { CaptchaRepository } from '../repositories/captcha.repository.js';
import type { UserRepository } from '../repositories/user.repository.js';
import type { AuthService } from './auth.service.js';
import type { FileService } from './file.service.js';
import type { SessionService } from './session.service.js';
import type { Actor } from './token.service.js';
import type { VoiceService } from './voice.service.js';

/** Leaving: the account and everything of it, in an order that loses nothing on failure. */
export class AccountService {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly users: UserRepository,
    private readonly captchas: CaptchaRepository,
    private readonly files: FileService,
    private readonly voices: VoiceService,
    private readonly log: Logger,
  ) {}

  /**
   * Deletes the account after checking its password: sessions and API keys
   * first (its tokens stop at once), then its voices (provider voices through
   * the retried job), the voices others made from its recordings (withdrawn),
   * shares, files, codes, and the user. A queue outage answers 503 before
   * anything of the account is deleted.
   */
  async deleteAccount(actor: Actor, password: string): Promise<void> {
    await this.auth.verifyPassword(actor.userId, password);
    const user = await this.users.findById(actor.userId);
    if (!user) return;
    await this.sessions.deleteAllOf(user.id);
    await this.voices.deleteAllOf(user.id);
    await this.files.deleteAllOf(user.id);
    for (const identifier of [user.email, user.phone]) {
      if (identifier) await this.captchas.deleteFor(identifier);
    }
    // Anything that raced in (a login finishing meanwhile) goes with the user.
    await this.sessions.deleteAllOf(user.id);
    await this.users.delete(user.id);
    this.log.info({ user_id: user.id }, 'account deleted');
  }
}
