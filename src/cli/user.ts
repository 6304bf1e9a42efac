import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import type { Config } from '../config.js';
import { openDatabase, type Db, type DbHandle } from '../repositories/db.js';
import { migrateToLatest } from '../repositories/migrate.js';
import { UserRepository, type UserRow } from '../repositories/user.repository.js';
import pino from 'pino';
import { createServices } from '../container.js';
import { loggerOptions } from '../logger.js';
import { CliError, cliConfig, cliDatabaseReady, EXIT, emit, type OutputOptions } from './common.js';

/** Opens the configured database at the newest schema, runs `fn`, closes. */
export async function withDatabase<T>(
  fn: (db: DbHandle, config: Config) => Promise<T>,
): Promise<T> {
  const config = cliConfig();
  await cliDatabaseReady(config);
  const db = openDatabase(config.database);
  try {
    await migrateToLatest(db.db);
    return await fn(db, config);
  } finally {
    await db.close();
  }
}

/** A user by id, e-mail or phone, or exit 4 naming what was not found. */
export async function findUser(db: Db, ref: string): Promise<UserRow> {
  const users = new UserRepository(db);
  const user =
    (await users.findById(ref)) ??
    (ref.includes('@')
      ? await users.findByIdentifier('email', ref.trim().toLowerCase())
      : await users.findByIdentifier('phone', ref.trim()));
  if (!user) throw new CliError(`no user with id, e-mail or phone '${ref}'`, EXIT.refused);
  return user;
}

function view(u: UserRow) {
  return {
    user_id: u.id,
    username: u.username,
    phone: u.phone,
    email: u.email,
    created_at: u.created_at,
    disabled_at: u.disabled_at ?? null,
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

interface CreateOptions extends OutputOptions {
  username: string;
  email?: string;
  phone?: string;
  passwordStdin?: boolean;
}

/** `timbre user create|list|disable|enable`. */
export function userCommand(): Command {
  const user = new Command('user').description('manage user accounts');

  user
    .command('create')
    .description('create a user (the same checks as registration, no verification code)')
    .requiredOption('--username <name>', 'display name, at most 18 characters')
    .option('--email <email>', 'log-in e-mail')
    .option('--phone <phone>', 'log-in phone number')
    .option('--password-stdin', 'read the password from standard input (else one is generated)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: CreateOptions) => {
      if (!!opts.email === !!opts.phone) {
        throw new CliError('give exactly one of --email or --phone', EXIT.usage);
      }
      const generated = !opts.passwordStdin;
      const password = generated ? randomBytes(12).toString('base64url') : await readStdin();
      await withDatabase(async (db, config) => {
        const users = new UserRepository(db.db);
        // Service logs go to stderr at warn: stdout is the result.
        const services = await createServices(
          config,
          db,
          pino(loggerOptions('warn'), pino.destination(2)),
        );
        let user_id: string;
        try {
          ({ user_id } = await services.auth.register({
            username: opts.username,
            identifier: (opts.email ?? opts.phone)!,
            type: opts.email ? 'email' : 'phone',
            password,
          }));
        } finally {
          await services.close();
        }
        const row = (await users.findById(user_id))!;
        emit(
          opts,
          { ...view(row), ...(generated ? { password } : {}) },
          () =>
            `created user ${row.id} (${row.username})\n` +
            (generated ? `password: ${password}\n` : ''),
        );
      });
    });

  user
    .command('list')
    .description('list users, oldest first')
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .option('--json', 'print the users as JSON')
    .action(async (opts: OutputOptions & { limit: string; offset: string }) => {
      const limit = Number(opts.limit);
      const offset = Number(opts.offset);
      if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) {
        throw new CliError(
          '--limit must be a positive and --offset a non-negative whole number',
          EXIT.usage,
        );
      }
      await withDatabase(async (db) => {
        const rows = (await new UserRepository(db.db).page(offset, limit)).map(view);
        emit(
          opts,
          rows,
          () =>
            rows
              .map(
                (u) =>
                  `${u.user_id}  ${u.username}  ${u.email ?? u.phone ?? '-'}` +
                  (u.disabled_at ? `  disabled ${u.disabled_at}` : ''),
              )
              .join('\n') + (rows.length ? '\n' : ''),
        );
      });
    });

  for (const [name, disable] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(name)
      .description(
        disable
          ? 'disable a user: no log-in, refresh or token use until enabled again'
          : 'enable a disabled user again',
      )
      .argument('<user>', 'user id, e-mail or phone')
      .option('--json', 'print the user as JSON')
      .action(async (ref: string, opts: OutputOptions) => {
        await withDatabase(async (db) => {
          const u = await findUser(db.db, ref);
          const users = new UserRepository(db.db);
          // Disabling twice keeps the first time.
          if (disable !== !!u.disabled_at) {
            await users.setDisabled(u.id, disable ? new Date().toISOString() : null);
          }
          const row = view((await users.findById(u.id))!);
          emit(
            opts,
            row,
            () => `${disable ? 'disabled' : 'enabled'} user ${row.user_id} (${row.username})\n`,
          );
        });
      });
  }
  return user;
}
