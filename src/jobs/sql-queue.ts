import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../repositories/db.js';
import { isUniqueViolation } from '../repositories/db.js';
import {
  assertHandlers,
  backoffMs,
  type JobHandlers,
  type JobOutcome,
  type JobPayloads,
  type JobQueue,
  type JobType,
  type QueueStats,
} from './queue.js';

export interface SqlQueueOptions {
  pollMs?: number;
  /** A running job whose lease lapses (its process died) is picked up again. */
  leaseMs?: number;
  baseBackoffMs?: number;
  onOutcome?: (type: JobType, outcome: JobOutcome) => void;
}

/**
 * Jobs in the SQL `jobs` table, run by in-process workers. Survives restarts:
 * a job whose worker died is re-run once its lease lapses, and handlers are
 * idempotent so the re-run resumes.
 */
export class SqlJobQueue implements JobQueue {
  readonly kind = 'sql' as const;
  private readonly workerId = `w-${randomUUID()}`;
  private timer: NodeJS.Timeout | undefined;
  private running = new Map<string, Promise<void>>();
  private handlers: JobHandlers | undefined;
  private concurrency = 1;
  private closed = false;
  private readonly pollMs: number;
  private readonly leaseMs: number;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly opts: SqlQueueOptions = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.pollMs = opts.pollMs ?? 250;
    this.leaseMs = opts.leaseMs ?? 60_000;
  }

  async enqueue<T extends JobType>(
    type: T,
    payload: JobPayloads[T],
    opts: { jobId: string; delayMs?: number },
  ): Promise<void> {
    const now = this.now();
    try {
      await this.db
        .insertInto('jobs')
        .values({
          id: opts.jobId,
          type,
          payload: JSON.stringify(payload),
          status: 'queued',
          state: null,
          attempts: 0,
          run_at: new Date(now.getTime() + (opts.delayMs ?? 0)).toISOString(),
          locked_by: null,
          locked_until: null,
          last_error: null,
          created_at: now.toISOString(),
          updated_at: now.toISOString(),
        })
        .execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    this.kick();
  }

  async startWorker(handlers: JobHandlers, opts: { concurrency: number }): Promise<void> {
    assertHandlers(handlers);
    this.handlers = handlers;
    this.concurrency = opts.concurrency;
    this.schedule(0);
  }

  async stats(): Promise<QueueStats> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['queued', 'running', 'failed'])
      .groupBy('status')
      .execute();
    const n = (s: string) => Number(rows.find((r) => r.status === s)?.n ?? 0);
    return { waiting: n('queued'), active: n('running'), delayed: 0, failed: n('failed') };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise((r) => setTimeout(r, 10_000).unref()),
    ]);
  }

  private kick(): void {
    if (this.handlers && !this.closed) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    try {
      while (!this.closed && this.running.size < this.concurrency) {
        const job = await this.claim();
        if (!job) break;
        const p = this.execute(job).finally(() => {
          this.running.delete(job.id);
          this.kick();
        });
        this.running.set(job.id, p);
      }
    } catch (err) {
      this.log.error({ err }, 'job poll failed');
    }
    this.schedule(this.pollMs);
  }

  /** Takes one due job (or one whose worker died) with a compare-and-set on its row. */
  private async claim() {
    const now = this.now();
    const nowIso = now.toISOString();
    const candidates = await this.db
      .selectFrom('jobs')
      .select(['id', 'status', 'locked_until'])
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', nowIso)]),
          eb.and([eb('status', '=', 'running'), eb('locked_until', '<', nowIso)]),
        ]),
      )
      .orderBy('run_at')
      .limit(5)
      .execute();
    for (const c of candidates) {
      if (this.running.has(c.id)) continue;
      const r = await this.db
        .updateTable('jobs')
        .set((eb) => ({
          status: 'running',
          locked_by: this.workerId,
          locked_until: new Date(now.getTime() + this.leaseMs).toISOString(),
          attempts: eb('attempts', '+', 1),
          updated_at: nowIso,
        }))
        .where('id', '=', c.id)
        .where('status', '=', c.status)
        .where((eb) =>
          c.locked_until === null
            ? eb('locked_until', 'is', null)
            : eb('locked_until', '=', c.locked_until),
        )
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) {
        return this.db
          .selectFrom('jobs')
          .selectAll()
          .where('id', '=', c.id)
          .executeTakeFirstOrThrow();
      }
    }
    return undefined;
  }

  private async execute(job: {
    id: string;
    type: string;
    payload: string;
    attempts: number;
  }): Promise<void> {
    const type = job.type as JobType;
    const def = this.handlers?.[type];
    const log = this.log.child({ job_id: job.id, job_type: type, attempt: job.attempts });
    if (!def) {
      await this.finish(job.id, 'failed', `no handler for ${job.type}`);
      return;
    }
    const ctx = { jobId: job.id, attempt: job.attempts, maxAttempts: def.maxAttempts, log };
    // Keep the lease while the handler runs (it may wait minutes for a provider).
    const heartbeat = setInterval(
      () => {
        void this.db
          .updateTable('jobs')
          .set({ locked_until: new Date(this.now().getTime() + this.leaseMs).toISOString() })
          .where('id', '=', job.id)
          .where('locked_by', '=', this.workerId)
          .execute()
          .catch((err: unknown) => log.warn({ err }, 'lease renewal failed'));
      },
      Math.max(1000, this.leaseMs / 3),
    );
    heartbeat.unref();
    const payload = JSON.parse(job.payload) as never;
    try {
      await def.run(payload, ctx);
      await this.finish(job.id, 'succeeded', null);
      this.opts.onOutcome?.(type, 'succeeded');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (job.attempts < def.maxAttempts && !this.closed) {
        const delay = backoffMs(job.attempts, this.opts.baseBackoffMs);
        log.warn({ err, retry_in_ms: delay }, 'job failed; will retry');
        await this.db
          .updateTable('jobs')
          .set({
            status: 'queued',
            run_at: new Date(this.now().getTime() + delay).toISOString(),
            locked_by: null,
            locked_until: null,
            last_error: message.slice(0, 2000),
            updated_at: this.now().toISOString(),
          })
          .where('id', '=', job.id)
          .execute();
        this.opts.onOutcome?.(type, 'retried');
      } else if (this.closed) {
        // Shutting down mid-job: leave it for the next process (lease lapses).
        log.warn({ err }, 'job interrupted by shutdown');
      } else {
        log.error({ err }, 'job failed for good');
        try {
          await def.onExhausted?.(payload, err, ctx);
        } catch (compErr) {
          log.error({ err: compErr }, 'compensation failed');
        }
        await this.finish(job.id, 'failed', message);
        this.opts.onOutcome?.(type, 'failed');
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async finish(id: string, status: 'succeeded' | 'failed', lastError: string | null) {
    await this.db
      .updateTable('jobs')
      .set({
        status,
        locked_by: null,
        locked_until: null,
        last_error: lastError?.slice(0, 2000) ?? null,
        updated_at: this.now().toISOString(),
      })
      .where('id', '=', id)
      .execute();
  }
}
