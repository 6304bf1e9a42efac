import pino from 'pino';
import { createServices } from './container.js';
import { loggerOptions } from './logger.js';
import { openDatabase } from './repositories/db.js';
import { migrateToLatest } from './repositories/migrate.js';
import { configOrExit, fatal } from './boot.js';

/**
 * `npm run worker`: a process that only runs jobs. With REDIS_URL it takes
 * jobs from BullMQ, so any number of machines can run one; without Redis it
 * polls the SQL jobs table of the same database.
 */
async function main(): Promise<void> {
  const config = configOrExit();
  const log = pino(loggerOptions(config.logLevel));
  const db = openDatabase(config.database);
  await migrateToLatest(db.db);
  const services = await createServices(config, db, log);
  await services.queue.startWorker(services.handlers, { concurrency: config.jobs.concurrency });
  await services.heartbeats.start();
  log.info({ queue: services.queue.kind, provider: services.provider.name }, 'worker started');
  const stop = async (signal: string) => {
    log.info({ signal }, 'worker stopping');
    await services.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch(fatal);
