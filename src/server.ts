import { build } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './repositories/db.js';
import { migrateToLatest } from './repositories/migrate.js';

/** Entry point of `npm start`: validate config, migrate, listen, stop cleanly. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const db = openDatabase(config.database);
  await migrateToLatest(db.db);
  const app = await build({ config, db });
  const close = async (signal: string) => {
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));
  await app.listen({ host: config.host, port: config.port });
  app.log.info(
    { database: config.database.dialect, public_base_url: config.publicBaseUrl },
    'timbre is listening',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
