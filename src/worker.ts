import pino from 'pino';
import { createServices } from './container.js';
import { loggerOptions } from './logger.js';
import { openDatabase } from './repositories/db.js';
import { migrateToLatest } from './repositories/migrate.js';
import { configOrExit, databaseReadyOrExit, fatal } from './boot.js';
import { workerOptions } from './jobs/loop-room.js';

/**
 * `npm run worker`: a process that only runs jobs. With REDIS_URL it takes
 * jobs from BullMQ, so any number of machines can run one; without Redis it
 * polls the SQL jobs table of the same database.
 */
async function main(): Promise<void> {
  const config = configOrExit();
  await databaseReadyOrExit(config);
  const log = pino(loggerOptions(config.logLevel));
  const db = openDatabase(config.database);
  await migrateToLatest(db.db);
  const services = await createServices(config, db, log);
  await services.queue.startWorker(services.handlers, workerOptions(config.jobs));
  await services.heartbeats.start();
  log.info({ queue: services.queue.kind, provider: services.provider.name }, 'worker started');
  // A repeated signal (a whole process group, an impatient operator) must not kill
  // the process mid-shutdown: the first one starts it, the others are ignored.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(
      { signal, grace_sec: config.shutdownGraceSec },
      'worker stopping: no new jobs; finishing those in flight',
    );
    const grace = setTimeout(() => {
      log.error('grace period over with jobs still running: exiting anyway (they will be re-run)');
      process.exit(1);
    }, config.shutdownGraceSec * 1000);
    await services.close();
    clearTimeout(grace);
    log.info('worker stopped');
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch(fatal);
