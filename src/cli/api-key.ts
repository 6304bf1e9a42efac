import { Command } from 'commander';
import type { Config } from '../config.js';
import { ApiKeyRepository } from '../repositories/api-key.repository.js';
import type { DbHandle } from '../repositories/db.js';
import { SessionRepository } from '../repositories/session.repository.js';
import { UserRepository } from '../repositories/user.repository.js';
import { deriveKey } from '../services/keys.js';
import { SessionService } from '../services/session.service.js';
import { TokenService } from '../services/token.service.js';
import { emit, type OutputOptions } from './common.js';
import { findUser, withDatabase } from './user.js';

/** The service that issues and revokes keys, wired as the server wires it. */
function keyService(db: DbHandle, config: Config): SessionService {
  const users = new UserRepository(db.db);
  return new SessionService(
    new SessionRepository(db.db),
    new ApiKeyRepository(db.db),
    users,
    new TokenService(config.jwt),
    {
      lifetimeSec: config.jwt.refreshTtlSec,
      checkCacheSec: config.jwt.sessionCheckCacheSec,
      apiKeyHashKey: deriveKey(config.jwt.secret, 'api-keys'),
    },
  );
}

/** `timbre api-key create|list|revoke`: API keys for a user, issued by an operator. */
export function apiKeyCommand(): Command {
  const apiKey = new Command('api-key').description("manage a user's API keys (Bearer tmb_…)");

  apiKey
    .command('create')
    .description('issue an API key for a user; the key is printed once, never again')
    .argument('<user>', 'user id, e-mail or phone')
    .requiredOption('--name <name>', 'what the key is for (at most 100 characters)')
    .option('--json', 'print the key as JSON')
    .action(async (ref: string, opts: OutputOptions & { name: string }) => {
      await withDatabase(async (db, config) => {
        const user = await findUser(db.db, ref);
        const made = await keyService(db, config).issueApiKey(user.id, opts.name);
        emit(
          opts,
          { ...made, user_id: user.id },
          () => `created API key ${made.id} (${made.name}) for ${user.username}\n${made.key}\n`,
        );
      });
    });

  apiKey
    .command('list')
    .description("list a user's API keys (without the secret)")
    .argument('<user>', 'user id, e-mail or phone')
    .option('--json', 'print the keys as JSON')
    .action(async (ref: string, opts: OutputOptions) => {
      await withDatabase(async (db, config) => {
        const user = await findUser(db.db, ref);
        const keys = await keyService(db, config).listApiKeys({ userId: user.id });
        emit(
          opts,
          keys,
          () =>
            keys
              .map(
                (k) => `${k.id}  ${k.prefix}…  ${k.name}  last used ${k.last_used_at ?? 'never'}`,
              )
              .join('\n') + (keys.length ? '\n' : ''),
        );
      });
    });

  apiKey
    .command('revoke')
    .description('revoke one of a user’s API keys at once')
    .argument('<user>', 'user id, e-mail or phone')
    .argument('<key-id>', 'the key id (from create or list)')
    .option('--json', 'print the result as JSON')
    .action(async (ref: string, keyId: string, opts: OutputOptions) => {
      await withDatabase(async (db, config) => {
        const user = await findUser(db.db, ref);
        await keyService(db, config).revokeApiKey({ userId: user.id }, keyId);
        emit(opts, { id: keyId, revoked: true }, () => `revoked API key ${keyId}\n`);
      });
    });

  return apiKey;
}
