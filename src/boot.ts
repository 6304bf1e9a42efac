import { ConfigError, loadConfig, type Config } from './config.js';

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
