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

  // A repeated signal (a whole process group, an impatient operator) must not kill
  // the process mid-shutdown: the first one starts it, the others are ignored.
  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info(
      { signal, grace_sec: config.shutdownGraceSec },
      'shutting down: no new requests or jobs; finishing those in flight',
    );
    if (sweeper) clearInterval(sweeper);
    const grace = setTimeout(() => {
      app.log.error('grace period over with work still in flight: exiting anyway');
      process.exit(1);
    }, config.shutdownGraceSec * 1000);
    // Stops listening, answers 503 to new requests on open connections, waits for
    // requests in flight, then (onClose) lets running jobs finish.
    await app.close();
    await db.close();
    clearTimeout(grace);
    app.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void close('SIGINT'));
  process.on('SIGTERM', () => void close('SIGTERM'));

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
