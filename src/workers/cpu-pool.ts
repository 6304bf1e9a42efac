import { availableParallelism } from 'node:os';

import { Piscina } from 'piscina';

import { AppError, ERRORS } from '../errors.js';
import { moduleUrl } from '../paths.js';

import type { CpuTaskMap } from './cpu-tasks.js';

/** Why a task did not produce a result (its own exceptions pass through unchanged). */
export type CpuFailure = 'queue_full' | 'timeout' | 'memory' | 'crashed' | 'closed';

/**
 * A task the pool could not run or finish. `queue_full` and `timeout` mean the
 * server is busy (503, retry later); `memory` means the task outgrew its
 * thread's heap limit, which callers judge by the input (for audio: the
 * content's fault, a 4xx). The thread that failed is replaced.
 */
export class CpuTaskError extends Error {
  override readonly name = 'CpuTaskError';
  constructor(
    readonly failure: CpuFailure,
    readonly task: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

export interface CpuPoolOptions {
  /** Worker threads (default: available cores). */
  threads?: number;
  /** Tasks that may wait for a free thread; one more is refused at once. */
  maxQueue: number;
  /** Default time limit of one task, queueing included (ms). */
  taskTimeoutMs: number;
  /** V8 heap limit of each thread (MiB): a task past it fails and its thread is replaced. */
  taskMemoryMb: number;
  /** Another task module (tests); default the service's `cpu-tasks`. */
  filename?: URL;
  /** Called after every task: its kind, outcome (`ok`, `error` or a failure) and duration. */
  onTask?: (task: string, outcome: 'ok' | 'error' | CpuFailure, seconds: number) => void;
}

/** What load shedding and the metrics read. */
export interface CpuPoolLoad {
  threads: number;
  /** Tasks waiting for a thread. */
  queued: number;
  queueCapacity: number;
  /** Tasks running now. */
  running: number;
  /** Share of the pool's capacity in use, 0–1, counting waiting tasks (can exceed 1). */
  pressure: number;
}

type TaskMap<M> = { [K in keyof M]: { input: unknown; output: unknown } };

/**
 * The one pool for CPU-heavy work (decoding, analysis, synthesis, encoding,
 * password hashing): piscina worker threads with a bounded queue, a time
 * limit per task and a heap limit per thread. Created once in the
 * composition root and passed to whatever needs it; `close()` on shutdown.
 */
export class CpuPool<M extends TaskMap<M> = CpuTaskMap> {
  readonly threads: number;
  private readonly piscina: Piscina;
  private running = 0;
  private closed = false;

  constructor(private readonly options: CpuPoolOptions) {
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    const filename = options.filename ?? defaultTaskModule();
    const execArgv = workerExecArgv(filename);
    this.piscina = new Piscina({
      filename: filename.href,
      // One thread always: piscina replaces a stopped thread (time limit, heap limit)
      // only up to minThreads, and tasks queued behind it would otherwise wait for
      // the next submission to start one.
      minThreads: 1,
      maxThreads: this.threads,
      idleTimeout: 60_000,
      maxQueue: options.maxQueue,
      execArgv,
      resourceLimits: {
        maxOldGenerationSizeMb: options.taskMemoryMb,
        maxYoungGenerationSizeMb: Math.min(64, Math.max(8, Math.round(options.taskMemoryMb / 8))),
      },
    });
  }

  /**
   * Runs one task on a pool thread. Throws {@link CpuTaskError} when the queue
   * is full, the time limit passes (the thread is stopped and replaced), the
   * thread runs out of heap, or it dies; the task's own errors pass through.
   * `transfer`: buffers the caller gives up (moved, not copied).
   */
  async run<K extends keyof M & string>(
    kind: K,
    input: M[K]['input'],
    opts: { timeoutMs?: number; transfer?: ArrayBuffer[] } = {},
  ): Promise<M[K]['output']> {
    if (this.closed) throw new CpuTaskError('closed', kind, 'The CPU pool is shut down.');
    // Bounded here: piscina keeps tasks that carry an abort signal (all of ours,
    // for the time limit) in a queue its own maxQueue check does not count.
    if (this.piscina.queueSize >= this.options.maxQueue) {
      this.options.onTask?.(kind, 'queue_full', 0);
      throw new CpuTaskError('queue_full', kind, failureMessage('queue_full', kind, 0));
    }
    const t0 = performance.now();
    const timeoutMs = opts.timeoutMs ?? this.options.taskTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    this.running++;
    let outcome: 'ok' | 'error' | CpuFailure = 'ok';
    try {
      return (await this.piscina.run(
        { kind, input },
        { signal: timeout, ...(opts.transfer ? { transferList: opts.transfer } : {}) },
      )) as M[K]['output'];
    } catch (cause) {
      const failure = classify(cause, timeout);
      outcome = failure ?? 'error';
      if (!failure) throw cause;
      throw new CpuTaskError(failure, kind, failureMessage(failure, kind, timeoutMs), { cause });
    } finally {
      this.running--;
      this.options.onTask?.(kind, outcome, (performance.now() - t0) / 1000);
    }
  }

  /** Queue size and utilisation, for load shedding and metrics. */
  load(): CpuPoolLoad {
    const queued = this.piscina.queueSize;
    const running = Math.max(0, this.running - queued);
    return {
      threads: this.threads,
      queued,
      queueCapacity: this.options.maxQueue,
      running,
      pressure: (running + queued) / this.threads,
    };
  }

  /** Finishes running tasks, refuses new ones, stops the threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close({ force: true });
  }
}

/**
 * The Node flags of a thread that runs `taskModule`: source checkouts (tests,
 * `tsx`) load a TypeScript task module through tsx.
 */
export function workerExecArgv(taskModule: URL): string[] {
  const typescript = taskModule.pathname.endsWith('.ts');
  return typescript && !process.execArgv.some((a) => a.includes('tsx'))
    ? [...process.execArgv, '--import', 'tsx']
    : process.execArgv;
}

function defaultTaskModule(): URL {
  return moduleUrl('workers/cpu-tasks');
}

function classify(cause: unknown, timeout: AbortSignal): CpuFailure | undefined {
  const err = cause as { name?: string; code?: string; message?: string } | undefined;
  if (timeout.aborted && err?.name === 'AbortError') return 'timeout';
  if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY') return 'memory';
  if (isQueueFull(err)) return 'queue_full';
  if (err?.message === 'Terminating worker thread') return 'closed';
  if (err?.code === 'ERR_WORKER_INIT_FAILED' || err?.message?.startsWith('Worker exited')) {
    return 'crashed';
  }
  return undefined;
}

function failureMessage(failure: CpuFailure, kind: string, timeoutMs: number): string {
  switch (failure) {
    case 'queue_full':
      return `Too much work is waiting (${kind}): try again shortly.`;
    case 'timeout':
      return `The ${kind} task did not finish within ${Math.round(timeoutMs / 100) / 10} s.`;
    case 'memory':
      return `The ${kind} task ran out of memory.`;
    case 'crashed':
      return `The thread running ${kind} stopped unexpectedly.`;
    case 'closed':
      return 'The CPU pool is shut down.';
  }
}

/**
 * The envelope error for a pool failure. `memory` is the input's fault when
 * `inputFault` is given (e.g. audio too large to analyse): a 422 with that
 * reason; every other failure is the server's: 503 with Retry-After.
 */
export function cpuFailureError(error: CpuTaskError, inputFault?: string): AppError {
  if (error.failure === 'memory' && inputFault) {
    return ERRORS.unprocessable('The input is too large to process', {
      info: inputFault,
      cause: error,
    });
  }
  const retryAfter = error.failure === 'queue_full' ? 2 : 5;
  return busyError(`${error.message} Retry in ${retryAfter} s.`, retryAfter, error);
}

/** piscina's refusal of a task when its queue is full. */
export function isQueueFull(err: unknown): boolean {
  return (err as { message?: unknown } | undefined)?.message === 'Task queue is at limit';
}

/** 503 "The server is busy" with Retry-After, for work refused or failed for the server's reasons. */
export function busyError(info: string, retryAfterSec: number, cause: unknown): AppError {
  return ERRORS.unavailable('The server is busy', {
    info,
    headers: { 'retry-after': String(retryAfterSec) },
    extra: { retry_after: retryAfterSec },
    cause,
  });
}
