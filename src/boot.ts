import { ConfigError, loadConfig, type Config } from './config.js';
import { DatabaseSetupError, ensureDatabase } from './repositories/ensure-database.js';

/** Loads and validates the configuration, or exits 78 (EX_CONFIG) listing every bad key. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

export function fatal(err: unknown): never {
  process.stderr.write(
    `fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}

/**
 * Creates a missing MySQL/MariaDB database when the user may; otherwise
 * exits 78 with a message naming the database and the SQL to run.
 */
export async function databaseReadyOrExit(config: Config): Promise<void> {
  try {
    await ensureDatabase(config.database);
  } catch (err) {
    if (err instanceof DatabaseSetupError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
