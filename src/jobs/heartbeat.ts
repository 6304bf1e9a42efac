import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../repositories/schema.js';

/**
 * Workers say they are alive: each running worker refreshes its row in
 * `worker_heartbeats` every `intervalSec`; a worker silent for three
 * intervals counts as gone (its row is removed by whoever notices). The
 * database is shared by every process, whatever the queue, so any API
 * process can count live workers.
 */
export class WorkerHeartbeats {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer: NodeJS.Timeout | undefined;
  private startedAt: string | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    private readonly intervalSec: number,
    private readonly queueKind: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Starts beating (first beat before it returns). */
  async start(): Promise<void> {
    this.startedAt = this.now().toISOString();
    await this.beat();
    this.timer = setInterval(() => {
      this.beat().catch((err: unknown) => this.log.warn({ err }, 'worker heartbeat failed'));
    }, this.intervalSec * 1000);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const seen = this.now().toISOString();
    const updated = await this.db
      .updateTable('worker_heartbeats')
      .set({ seen_at: seen })
      .where('id', '=', this.id)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      await this.db
        .insertInto('worker_heartbeats')
        .values({
          id: this.id,
          host: hostname(),
          pid: process.pid,
          queue: this.queueKind,
          started_at: this.startedAt ?? seen,
          seen_at: seen,
        })
        .execute();
    }
  }

  /** Stops beating and removes this worker's row, so it stops counting at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.db
      .deleteFrom('worker_heartbeats')
      .where('id', '=', this.id)
      .execute()
      .catch((err: unknown) => this.log.warn({ err }, 'could not remove worker heartbeat'));
  }
}

/** How many workers beat within the last three intervals; forgets the long-silent ones. */
export async function countLiveWorkers(
  db: Kysely<Database>,
  intervalSec: number,
  now: () => Date = () => new Date(),
): Promise<number> {
  const t = now().getTime();
  const cutoff = new Date(t - 3 * intervalSec * 1000).toISOString();
  const row = await db
    .selectFrom('worker_heartbeats')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('seen_at', '>=', cutoff)
    .executeTakeFirst();
  // Rows silent for an hour belong to processes that died without a goodbye.
  const forget = new Date(t - Math.max(3600, 30 * intervalSec) * 1000).toISOString();
  await db.deleteFrom('worker_heartbeats').where('seen_at', '<', forget).execute();
  return Number(row?.n ?? 0);
}

/** Live-worker counts for requests: one query per second at most, whatever the traffic. */
export class WorkerCensus {
  private last: { at: number; value: Promise<number> } | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly intervalSec: number,
    private readonly now: () => Date = () => new Date(),
    private readonly maxAgeMs = 1000,
  ) {}

  alive(): Promise<number> {
    const t = Date.now();
    if (!this.last || t - this.last.at > this.maxAgeMs) {
      const value = countLiveWorkers(this.db, this.intervalSec, this.now);
      this.last = { at: t, value };
      // A failed count is not remembered.
      value.catch(() => (this.last = undefined));
    }
    return this.last.value;
  }
}
