import type { Logger } from 'pino';
import {
  assertHandlers,
  backoffMs,
  type JobContext,
  type JobDefinition,
  type JobHandlers,
  type JobOutcome,
  type JobPayloads,
  type JobType,
  MAX_BACKOFF_MS,
} from './queue.js';

/**
 * What one attempt came to. The queue only moves the job accordingly:
 * `retried` → run again after `delayMs`; `failed` → done for good (the
 * handler has compensated); `interrupted` → the process is stopping, leave
 * the job for the next one (its lease lapses).
 */
export type AttemptResult =
  | { outcome: 'succeeded' }
  | { outcome: 'retried'; delayMs: number; error: unknown }
  | { outcome: 'failed'; error: unknown }
  | { outcome: 'interrupted'; error: unknown };

export interface AttemptInfo {
  jobId: string;
  /** 1 for the first run. */
  attempt: number;
  /** Attempts the queue will make; defaults to the handler's `maxAttempts`. */
  maxAttempts?: number;
}

export interface JobRunnerOptions {
  log: Logger;
  /** First backoff step (ms); doubles per attempt up to `maxBackoffMs`, with jitter. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Whether the process is shutting down (a failure then interrupts instead of retrying). */
  stopping?: () => boolean;
  /** Counts every attempt's outcome (metrics). Interrupted attempts are not counted. */
  onOutcome?: (type: JobType, outcome: JobOutcome) => void;
}

/**
 * The one place that runs a job: it runs the handler for one attempt and
 * decides what follows (done, retry with capped backoff, or failure with the
 * handler's compensation), logs it and counts it. `SqlJobQueue` and
 * `BullJobQueue` only fetch jobs and move them as the result says.
 */
export class JobRunner {
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly handlers: JobHandlers,
    private readonly opts: JobRunnerOptions,
  ) {
    assertHandlers(handlers);
    this.baseBackoffMs = opts.baseBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? MAX_BACKOFF_MS;
  }

  /** The capped backoff after the failed attempt `attempt` (1-based), in ms. */
  backoff(attempt: number): number {
    return backoffMs(attempt, this.baseBackoffMs, this.maxBackoffMs);
  }

  /**
   * Runs one attempt of a job. `payload` is what the queue stored for `type`
   * (payloads are written by `enqueue` only, so they match their type).
   * Never throws: a compensation that fails is logged and the job still fails.
   */
  async attempt(type: JobType, payload: unknown, info: AttemptInfo): Promise<AttemptResult> {
    const def = this.definition(type);
    const log = this.opts.log.child({ job_id: info.jobId, job_type: type, attempt: info.attempt });
    if (!def) {
      const error = new Error(`no handler for ${String(type)}`);
      log.error({ err: error }, 'job failed for good');
      return { outcome: 'failed', error };
    }
    const ctx: JobContext = {
      jobId: info.jobId,
      attempt: info.attempt,
      maxAttempts: info.maxAttempts ?? def.maxAttempts,
      log,
    };
    try {
      await def.run(payload as JobPayloads[JobType], ctx);
    } catch (error) {
      if (this.opts.stopping?.()) {
        log.warn({ err: error }, 'job interrupted by shutdown');
        return { outcome: 'interrupted', error };
      }
      if (info.attempt < ctx.maxAttempts) {
        const delayMs = this.backoff(info.attempt);
        log.warn({ err: error, retry_in_ms: delayMs }, 'job failed; will retry');
        this.opts.onOutcome?.(type, 'retried');
        return { outcome: 'retried', delayMs, error };
      }
      log.error({ err: error }, 'job failed for good');
      await this.compensate(def, payload, error, ctx);
      this.opts.onOutcome?.(type, 'failed');
      return { outcome: 'failed', error };
    }
    this.opts.onOutcome?.(type, 'succeeded');
    return { outcome: 'succeeded' };
  }

  /**
   * A job the queue gave up on without a failed attempt of ours (BullMQ: its
   * worker died too often mid-run): compensate, log and count it as failed.
   */
  async exhausted(type: JobType, payload: unknown, error: unknown, info: AttemptInfo) {
    const def = this.definition(type);
    const log = this.opts.log.child({ job_id: info.jobId, job_type: type, attempt: info.attempt });
    log.error({ err: error }, 'job failed for good (stalled)');
    if (def) {
      await this.compensate(def, payload, error, {
        jobId: info.jobId,
        attempt: info.attempt,
        maxAttempts: info.maxAttempts ?? def.maxAttempts,
        log,
      });
    }
    this.opts.onOutcome?.(type, 'failed');
  }

  private definition(type: JobType): JobDefinition<JobType> | undefined {
    // The table is keyed by job type; a stored job may name a type this build lacks.
    return (this.handlers as Partial<Record<string, JobDefinition<JobType>>>)[type];
  }

  private async compensate(
    def: JobDefinition<JobType>,
    payload: unknown,
    error: unknown,
    ctx: JobContext,
  ): Promise<void> {
    try {
      await def.onExhausted?.(payload as JobPayloads[JobType], error, ctx);
    } catch (compErr) {
      ctx.log.error({ err: compErr }, 'compensation failed');
    }
  }
}
