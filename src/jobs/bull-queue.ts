import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import {
  assertHandlers,
  MAX_ATTEMPTS,
  type JobHandlers,
  type JobOutcome,
  type JobPayloads,
  type JobQueue,
  type JobType,
  type QueueStats,
} from './queue.js';

export interface BullQueueOptions {
  /** Queue name; tests use their own so runs do not meet. */
  name?: string;
  baseBackoffMs?: number;
  /** How long a job stays locked to a worker that stopped renewing it. */
  lockDurationMs?: number;
  /**
   * Longest wait for Redis when adding a job or counting jobs (default 5,000 ms):
   * the connection waits for Redis to come back, a request must not.
   */
  commandTimeoutMs?: number;
  onOutcome?: (type: JobType, outcome: JobOutcome) => void;
  /** BullMQ's key prefix (REDIS_PREFIX namespaces installations sharing a Redis). */
  prefix?: string;
}

/**
 * Jobs on BullMQ (Redis): `npm run worker` processes on any machine take them.
 * The same handlers as the SQL queue; a worker that dies mid-job has its job
 * marked stalled and re-run elsewhere.
 */
export class BullJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private readonly name: string;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly log: Logger,
    private readonly opts: BullQueueOptions = {},
  ) {
    this.name = opts.name ?? 'timbre-jobs';
    this.queue = new Queue(this.name, { connection, prefix: opts.prefix ?? 'bull' });
    // Without a listener BullMQ prints every failed reconnect to stderr.
    let lastLogged = 0;
    this.queue.on('error', (err) => {
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      this.log.warn({ err }, 'queue connection error');
    });
  }

  async enqueue<T extends JobType>(
    type: T,
    payload: JobPayloads[T],
    opts: { jobId: string; delayMs?: number },
  ): Promise<void> {
    await this.bounded(
      'adding a job',
      this.queue.add(type, payload, {
        // BullMQ ids may not contain ':'.
        jobId: opts.jobId.replace(/:/g, '-'),
        delay: opts.delayMs,
        attempts: MAX_ATTEMPTS[type],
        backoff: { type: 'custom' },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      }),
    );
  }

  /**
   * `p`, or an error once Redis has not answered for `commandTimeoutMs`. A job
   * added late is harmless: every handler checks its rows first.
   */
  private async bounded<T>(
    what: string,
    p: Promise<T>,
    ms = this.opts.commandTimeoutMs ?? 5000,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not answer within ${ms} ms ${what}`)),
            ms,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async startWorker(handlers: JobHandlers, opts: { concurrency: number }): Promise<void> {
    assertHandlers(handlers);
    const base = this.opts.baseBackoffMs ?? 1000;
    this.worker = new Worker(
      this.name,
      async (job: Job) => {
        const type = job.name as JobType;
        const def = handlers[type] as JobHandlers[JobType] | undefined;
        if (!def) throw new Error(`no handler for ${job.name}`);
        const attempt = job.attemptsMade + 1;
        const ctx = {
          jobId: job.id ?? '',
          attempt,
          maxAttempts: def.maxAttempts,
          log: this.log.child({ job_id: job.id, job_type: type, attempt }),
        };
        try {
          await def.run(job.data as never, ctx);
          this.opts.onOutcome?.(type, 'succeeded');
        } catch (err) {
          if (attempt >= def.maxAttempts) {
            ctx.log.error({ err }, 'job failed for good');
            try {
              await def.onExhausted?.(job.data as never, err, ctx);
            } catch (compErr) {
              ctx.log.error({ err: compErr }, 'compensation failed');
            }
            this.opts.onOutcome?.(type, 'failed');
          } else {
            ctx.log.warn({ err }, 'job failed; will retry');
            this.opts.onOutcome?.(type, 'retried');
          }
          throw err;
        }
      },
      {
        connection: this.connection,
        prefix: this.opts.prefix ?? 'bull',
        concurrency: opts.concurrency,
        lockDuration: this.opts.lockDurationMs ?? 30_000,
        // Look for jobs of dead workers as often as a lock can lapse.
        stalledInterval: this.opts.lockDurationMs ?? 30_000,
        // A job whose worker died is re-run; handlers resume from their rows, so
        // allow several such restarts before BullMQ gives up on it.
        maxStalledCount: 5,
        settings: {
          backoffStrategy: (attemptsMade: number) =>
            Math.round(base * 2 ** Math.max(0, attemptsMade - 1) * (0.5 + Math.random() / 2)),
        },
      },
    );
    this.worker.on('error', (err) => this.log.error({ err }, 'queue worker error'));
    // A job BullMQ fails for stalling too often never reached our catch above:
    // compensate here so the voice does not stay `processing` for ever.
    this.worker.on('failed', (job, err) => {
      if (!job || !/stalled/i.test(err.message)) return;
      const type = job.name as JobType;
      const def = handlers[type] as JobHandlers[JobType] | undefined;
      const log = this.log.child({ job_id: job.id, job_type: type });
      log.error({ err }, 'job failed for good (stalled)');
      void def
        ?.onExhausted?.(job.data as never, err, {
          jobId: job.id ?? '',
          attempt: job.attemptsMade,
          maxAttempts: def.maxAttempts,
          log,
        })
        .catch((compErr: unknown) => log.error({ err: compErr }, 'compensation failed'));
      this.opts.onOutcome?.(type, 'failed');
    });
    // Fail start-up clearly when Redis is not there, instead of hanging.
    await this.bounded('starting the worker', this.worker.waitUntilReady(), 15_000);
  }

  async stats(): Promise<QueueStats> {
    const c = await this.bounded(
      'counting jobs',
      this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'),
      Math.min(2000, this.opts.commandTimeoutMs ?? 5000),
    );
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
