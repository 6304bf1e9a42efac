import type { Db } from '../../src/repositories/db.js';
import { ApiKeyRepository } from '../../src/repositories/api-key.repository.js';
import { CaptchaRepository } from '../../src/repositories/captcha.repository.js';
import { SessionRepository } from '../../src/repositories/session.repository.js';
import { UserRepository } from '../../src/repositories/user.repository.js';
import { MemoryThrottle } from '../../src/cache/throttle.js';
import { AuthService, type LoginResult } from '../../src/services/auth.service.js';
import { SessionService } from '../../src/services/session.service.js';
import { TokenService } from '../../src/services/token.service.js';

/** Logs in through the real AuthService and sessions on `db` (password login). */
export function loginOn(
  db: Db,
  type: 'phone' | 'email',
  identifier: string,
  password: string,
): Promise<LoginResult> {
  const secret = 'x'.repeat(40);
  const users = new UserRepository(db);
  const tokens = new TokenService({ secret, accessTtlSec: 600, refreshTtlSec: 3600 });
  const sessions = new SessionService(
    new SessionRepository(db),
    new ApiKeyRepository(db),
    users,
    tokens,
    { lifetimeSec: 3600, checkCacheSec: 0, apiKeyHashKey: Buffer.alloc(32, 1) },
  );
  const auth = new AuthService(
    users,
    new CaptchaRepository(db),
    sessions,
    new MemoryThrottle(),
    { send: async () => undefined },
    {
      bcryptRounds: 4,
      captchaTtlSec: 300,
      captchaEcho: false,
      requireCaptchaForRegister: false,
      secret,
      maxFailures: 100,
      maxFailuresPerAddress: 100,
      failureWindowSec: 60,
      captchaSendsPerIdentifier: 100,
      captchaSendWindowSec: 60,
    },
  );
  return auth.login({ identifier, type, password });
}
