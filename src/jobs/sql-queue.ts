import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../repositories/db.js';
import { isUniqueViolation } from '../repositories/db.js';
import { JobRunner } from './runner.js';
import {
  type JobHandlers,
  type WorkerOptions,
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
  private runner: JobRunner | undefined;
  /** A tick is running; a kick meanwhile asks for another right after it. */
  private ticking = false;
  private tickAgain = false;
  private concurrency = 1;
  private beforeStart: (() => Promise<void>) | undefined;
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

  async startWorker(handlers: JobHandlers, opts: WorkerOptions): Promise<void> {
    this.runner = new JobRunner(handlers, {
      log: this.log,
      baseBackoffMs: this.opts.baseBackoffMs,
      stopping: () => this.closed,
      onOutcome: this.opts.onOutcome,
    });
    this.concurrency = opts.concurrency;
    this.beforeStart = opts.beforeStart;
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
    if (!this.runner || this.closed) return;
    // Claiming is not re-entrant (it counts running jobs before claiming more).
    if (this.ticking) this.tickAgain = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    this.tickAgain = false;
    try {
      while (!this.closed && this.running.size < this.concurrency) {
        // Unclaimed while it waits: another process with room may take it.
        await this.beforeStart?.();
        if (this.closed) break;
        const job = await this.claim();
        if (!job) break;
        const p = this.execute(job)
          .catch((err: unknown) =>
            this.log.error({ err, job_id: job.id }, 'job bookkeeping failed'),
          )
          .finally(() => {
            this.running.delete(job.id);
            this.kick();
          });
        this.running.set(job.id, p);
        // One job started per turn of the event loop: a backlog of jobs (a burst
        // of creations) would otherwise be claimed and started in one stretch
        // of synchronous SQLite and job set-up, and requests would wait behind it.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.log.error({ err }, 'job poll failed');
    } finally {
      this.ticking = false;
    }
    this.schedule(this.tickAgain ? 0 : this.pollMs);
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
    const runner = this.runner;
    if (!runner) return;
    // Keep the lease while the handler runs (it may wait minutes for a provider).
    const heartbeat = setInterval(
      () => {
        void this.db
          .updateTable('jobs')
          .set({ locked_until: new Date(this.now().getTime() + this.leaseMs).toISOString() })
          .where('id', '=', job.id)
          .where('locked_by', '=', this.workerId)
          .execute()
          .catch((err: unknown) => this.log.warn({ err, job_id: job.id }, 'lease renewal failed'));
      },
      Math.max(1000, this.leaseMs / 3),
    );
    heartbeat.unref();
    try {
      const result = await runner.attempt(job.type as JobType, JSON.parse(job.payload), {
        jobId: job.id,
        attempt: job.attempts,
      });
      switch (result.outcome) {
        case 'succeeded':
          await this.finish(job.id, 'succeeded', null);
          break;
        case 'retried':
          await this.db
            .updateTable('jobs')
            .set({
              status: 'queued',
              run_at: new Date(this.now().getTime() + result.delayMs).toISOString(),
              locked_by: null,
              locked_until: null,
              last_error: errorMessage(result.error).slice(0, 2000),
              updated_at: this.now().toISOString(),
            })
            .where('id', '=', job.id)
            .execute();
          break;
        case 'failed':
          await this.finish(job.id, 'failed', errorMessage(result.error));
          break;
        case 'interrupted':
          // Left as it is: the next process runs it once the lease lapses.
          break;
        default:
          result satisfies never;
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

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
