import type { Logger } from 'pino';

/** The job types Timbre runs. Payloads carry ids only. */
export interface JobPayloads {
  create_voice: { voiceId: string };
  delete_provider_voice: { provider: string; providerVoiceId: string };
  /** Deletes every provider voice under a failed voice's prefix (what a lost answer left). */
  purge_provider_prefix: { provider: string; prefix: string };
}
export type JobType = keyof JobPayloads;

export interface JobContext {
  jobId: string;
  /** 1 for the first run. */
  attempt: number;
  maxAttempts: number;
  log: Logger;
}

/**
 * A job handler. `run` must be idempotent: it may be started again after a
 * crash at any point. Throwing means "try again later" (with backoff);
 * after the last attempt `onExhausted` runs so the handler can compensate.
 */
export interface JobDefinition<T extends JobType> {
  maxAttempts: number;
  run(payload: JobPayloads[T], ctx: JobContext): Promise<void>;
  onExhausted?(payload: JobPayloads[T], err: unknown, ctx: JobContext): Promise<void>;
}

export type JobHandlers = { [T in JobType]: JobDefinition<T> };

export interface QueueStats {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/**
 * Where jobs wait and who runs them: `SqlJobQueue` (the jobs table,
 * in-process workers; the embedded default) or `BullJobQueue` (Redis).
 */
export interface JobQueue {
  readonly kind: 'sql' | 'bullmq';
  /** Adds a job; a second enqueue with the same `jobId` is a no-op. */
  enqueue<T extends JobType>(
    type: T,
    payload: JobPayloads[T],
    opts: { jobId: string; delayMs?: number },
  ): Promise<void>;
  /** Starts running jobs in this process. Throws when a job type has no handler. */
  startWorker(handlers: JobHandlers, opts: WorkerOptions): Promise<void>;
  stats(): Promise<QueueStats>;
  /** Stops taking jobs, waits for running ones (bounded), releases connections. */
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** Jobs running at once in this process. */
  concurrency: number;
  /** Awaited before each job starts (see LoopRoom): starts yield to the loop's other work. */
  beforeStart?: () => Promise<void>;
}

export type JobOutcome = 'succeeded' | 'retried' | 'failed';

export const JOB_TYPES: JobType[] = [
  'create_voice',
  'delete_provider_voice',
  'purge_provider_prefix',
];

/** Attempts per job type (transient failures are retried with backoff up to this). */
export const MAX_ATTEMPTS: Record<JobType, number> = {
  create_voice: 5,
  delete_provider_voice: 12,
  purge_provider_prefix: 12,
};

/** Fail fast on wiring: every job type must have a handler. */
export function assertHandlers(handlers: Partial<JobHandlers>): asserts handlers is JobHandlers {
  const missing = JOB_TYPES.filter((t) => !handlers[t]);
  if (missing.length) throw new Error(`no handler for job type(s): ${missing.join(', ')}`);
}

/** Longest wait between two attempts of a job, whichever queue runs it (ms). */
export const MAX_BACKOFF_MS = 60_000;

/** Exponential backoff with full jitter, in ms. */
export function backoffMs(attempt: number, baseMs = 1000, capMs = MAX_BACKOFF_MS): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}
