import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { openDatabase } from '../repositories/db.js';
import { migrateToLatest } from '../repositories/migrate.js';
import { backup } from './backup.js';
import {
  CliError,
  cliConfig,
  cliDatabaseReady,
  EXIT,
  emit,
  Progress,
  type OutputOptions,
} from './common.js';
import { apiKeyCommand } from './api-key.js';
import { importOriginalCommand } from './import-original.js';
import { restoreCommand } from './restore.js';
import { userCommand } from './user.js';
import { voicesCommand } from './voices.js';
import { AppError } from '../errors.js';

/**
 * The `timbre` command: operations on an installation, from its environment
 * (the same settings as the server). Exit codes are in cli/common.ts (EXIT).
 */
export function program(): Command {
  const p = new Command('timbre')
    .description('Timbre operations: backups, restore, import from the original, users, API keys')
    .showHelpAfterError()
    .exitOverride();
  p.addCommand(backupCommand());
  p.addCommand(restoreCommand());
  p.addCommand(importOriginalCommand());
  p.addCommand(migrateCommand());
  p.addCommand(userCommand());
  p.addCommand(apiKeyCommand());
  p.addCommand(voicesCommand());
  return p;
}

function backupCommand(): Command {
  return new Command('backup')
    .description('copy the database and every stored file into a timestamped folder')
    .option('--out <dir>', 'where to put the backup folder (default: $DATA_DIR/backups)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: OutputOptions & { out?: string }) => {
      const progress = Progress.for(opts);
      progress.start('files', 0);
      const r = await backup(cliConfig(), opts.out && path.resolve(opts.out), (n) => {
        progress.setTotal(n);
        progress.update(n);
      });
      progress.stop();
      emit(
        opts,
        { dir: r.dir, database: r.database, blobs: r.blobs, bytes: r.bytes },
        () => `backup written to ${r.dir} (${r.blobs} files, ${r.bytes} bytes)\n`,
      );
    });
}

function migrateCommand(): Command {
  return new Command('migrate')
    .description('bring the configured database to the newest schema')
    .option('--json', 'print the applied migrations as JSON')
    .action(async (opts: OutputOptions) => {
      const config = cliConfig();
      await cliDatabaseReady(config);
      const db = openDatabase(config.database);
      try {
        const r = await migrateToLatest(db.db);
        const applied =
          r.results?.filter((x) => x.status === 'Success').map((x) => x.migrationName) ?? [];
        emit(opts, { applied }, () =>
          applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n',
        );
      } finally {
        await db.close();
      }
    });
}

async function main(argv: string[]): Promise<void> {
  const p = program();
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(p);
  try {
    await p.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with code 0.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof AppError && err.status < 500) {
      // A service refused the input (e.g. the user exists): its message and reason.
      process.stderr.write(`timbre: ${err.message}${err.info ? ` (${err.info})` : ''}\n`);
      process.exitCode = EXIT.refused;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(`timbre: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(
      `timbre: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = EXIT.failed;
  }
}

await main(process.argv);
