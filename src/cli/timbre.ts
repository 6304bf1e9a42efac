import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './common.js';
import { importOriginalCommand } from './import-original.js';

/**
 * The `timbre` command: operations on an installation, from its environment
 * (the same settings as the server). Exit codes are in cli/common.ts (EXIT).
 */
export function program(): Command {
  const p = new Command('timbre')
    .description('Timbre operations: backups, restore, import from the original, users')
    .showHelpAfterError()
    .exitOverride();
  p.addCommand(importOriginalCommand());
  return p;
}

async function main(argv: string[]): Promise<void> {
  const p = program();
  for (const c of p.commands) c.exitOverride();
  try {
    await p.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with code 0.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
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
