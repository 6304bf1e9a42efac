import cliProgress from 'cli-progress';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { DatabaseSetupError, ensureDatabase } from '../repositories/ensure-database.js';

/**
 * Exit codes of the `timbre` command (documented in the README):
 * 0 done; 1 failed; 2 bad usage; 3 done, but some rows or items were not
 * taken (see the report); 4 refused (e.g. a non-empty restore target);
 * 5 a backup failed verification; 78 bad configuration.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  partial: 3,
  refused: 4,
  corrupt: 5,
  config: 78,
} as const;

/** An error that ends the command with a chosen exit code and a one-line message. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface OutputOptions {
  json?: boolean;
}

/** Configuration for a command: a ConfigError becomes exit 78 with every bad key. */
export function cliConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.config);
    throw err;
  }
}

/** Creates a missing MariaDB database when allowed; else exit 78 with the SQL to run. */
export async function cliDatabaseReady(config: Config): Promise<void> {
  try {
    await ensureDatabase(config.database);
  } catch (err) {
    if (err instanceof DatabaseSetupError) throw new CliError(err.message, EXIT.config);
    throw err;
  }
}

/** Writes the result: JSON on stdout for scripts, or the human text. */
export function emit(opts: OutputOptions, value: unknown, human: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(value) + '\n' : human());
}

/**
 * A progress bar on stderr, shown only on a terminal and never with --json
 * (scripts read stdout; a bar would only add noise to their logs).
 */
export class Progress {
  private bar?: cliProgress.SingleBar;
  constructor(private readonly enabled: boolean) {}

  static for(opts: OutputOptions): Progress {
    return new Progress(!opts.json && process.stderr.isTTY === true);
  }

  start(label: string, total: number): void {
    this.stop();
    if (!this.enabled) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label.padEnd(8)} {bar} {value}/{total} {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0);
  }

  /** For work whose size is learnt as it goes (a folder walk). */
  setTotal(total: number): void {
    this.bar?.setTotal(total);
  }

  update(value: number): void {
    this.bar?.update(value);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
