import { build } from './app.js';
import { configOrExit, databaseReadyOrExit, fatal } from './boot.js';
import { openDatabase, optimizeDatabase } from './repositories/db.js';
import { migrateToLatest } from './repositories/migrate.js';

/** Entry point of `npm start`: validate config, migrate, listen, sweep, stop cleanly. */
async function main(): Promise<void> {
  const config = configOrExit();
  await databaseReadyOrExit(config);
  const db = openDatabase(config.database);
  await migrateToLatest(db.db);
  await optimizeDatabase(db);
  const app = await build({ config, db, runWorker: config.jobs.runInServer });
  const { files } = app.services;

  const sweep = () =>
    optimizeDatabase(db)
      // A temporary write older than the upload time limit (plus the request
      // timeout's margin) belongs to no live upload: a killed one's is removed here.
      .then(() => files.sweep(undefined, (config.upload.totalTimeoutSec + 60) * 1000))
      .then((r) => app.log.info(r, 'storage sweep done'))
      .catch((err: unknown) => app.log.error({ err }, 'storage sweep failed'));
  const sweeper =
    config.storage.sweepIntervalSec > 0
      ? setInterval(() => void sweep(), config.storage.sweepIntervalSec * 1000)
      : undefined;
  sweeper?.unref();

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    if (sweeper) clearInterval(sweeper);
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));

  await app.listen({ host: config.host, port: config.port });
  app.log.info(
    {
      database: config.database.dialect,
      queue: app.services.queue.kind,
      provider: app.services.provider.name,
      public_base_url: config.publicBaseUrl,
    },
    'timbre is listening',
  );
  void sweep();
}

main().catch(fatal);
