import type { Db } from '../../src/repositories/db.js';
import { CaptchaRepository } from '../../src/repositories/captcha.repository.js';
import { UserRepository } from '../../src/repositories/user.repository.js';
import { AuthService, type LoginResult } from '../../src/services/auth.service.js';
import { TokenService } from '../../src/services/token.service.js';

/** Logs in through the real AuthService on `db` (password login). */
export function loginOn(
  db: Db,
  type: 'phone' | 'email',
  identifier: string,
  password: string,
): Promise<LoginResult> {
  const secret = 'x'.repeat(40);
  const auth = new AuthService(
    new UserRepository(db),
    new CaptchaRepository(db),
    new TokenService({ secret, accessTtlSec: 600, refreshTtlSec: 3600 }),
    { send: async () => undefined },
    {
      bcryptRounds: 4,
      captchaTtlSec: 300,
      captchaEcho: false,
      requireCaptchaForRegister: false,
      secret,
    },
  );
  return auth.login({ identifier, type, password });
}
