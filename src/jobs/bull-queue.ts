import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { JobRunner } from './runner.js';
import {
  MAX_ATTEMPTS,
  type JobHandlers,
  type WorkerOptions,
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

  async startWorker(handlers: JobHandlers, opts: WorkerOptions): Promise<void> {
    const runner = new JobRunner(handlers, {
      log: this.log,
      baseBackoffMs: this.opts.baseBackoffMs,
      onOutcome: this.opts.onOutcome,
    });
    this.worker = new Worker(
      this.name,
      async (job: Job) => {
        await opts.beforeStart?.();
        const result = await runner.attempt(job.name as JobType, job.data, {
          jobId: job.id ?? '',
          attempt: job.attemptsMade + 1,
          // BullMQ retries up to the attempts the job was added with.
          maxAttempts: job.opts.attempts ?? 1,
        });
        switch (result.outcome) {
          case 'succeeded':
            return;
          case 'retried':
            throw new RetryLater(result.delayMs, result.error);
          case 'failed':
            // Failed for good and compensated: BullMQ must not run it again.
            throw new UnrecoverableError(
              result.error instanceof Error ? result.error.message : String(result.error),
            );
          case 'interrupted':
            throw result.error;
          default:
            result satisfies never;
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
          // The runner's capped delay; the fallback covers an error it did not see.
          backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
            err instanceof RetryLater ? err.delayMs : runner.backoff(attemptsMade),
        },
      },
    );
    this.worker.on('error', (err) => this.log.error({ err }, 'queue worker error'));
    // A job BullMQ fails for stalling too often never reached the runner's
    // failure path: compensate here so the voice does not stay `processing`.
    this.worker.on('failed', (job, err) => {
      // BullMQ's own reason (a deferred failure it raises when it next takes the job).
      if (!job || !/stalled more than allowable limit/i.test(err.message)) return;
      void runner.exhausted(job.name as JobType, job.data, err, {
        jobId: job.id ?? '',
        attempt: job.attemptsMade,
        maxAttempts: job.opts.attempts ?? 1,
      });
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

/**
 * A failed attempt BullMQ should run again after `delayMs` (the runner's
 * capped backoff). Keeps the original error's message, so the job's
 * `failedReason` reads as before.
 */
class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'RetryLater';
    if (cause instanceof Error && cause.stack) this.stack = cause.stack;
  }
}
