import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  type JobHandlers,
  type JobOutcome,
  type JobType,
} from '../../../src/jobs/queue.js';
import { MAX_BACKOFF_MS } from '../../../src/jobs/queue.js';
import { JobRunner } from '../../../src/jobs/runner.js';

const silent = pino({ level: 'silent' });

interface Scenario {
  name: string;
  /** What the handler does on this attempt. */
  run: 'succeed' | 'throw';
  /** What its compensation does when called. */
  compensation?: 'succeed' | 'throw';
  attempt: number;
  maxAttempts: number;
  stopping?: boolean;
  outcome: 'succeeded' | 'retried' | 'failed' | 'interrupted';
  compensated: boolean;
  counted: JobOutcome[];
}

const scenarios: Scenario[] = [
  {
    name: 'a handler that returns succeeds, without compensation',
    run: 'succeed',
    attempt: 1,
    maxAttempts: 3,
    outcome: 'succeeded',
    compensated: false,
    counted: ['succeeded'],
  },
  {
    name: 'a throw before the last attempt is retried, without compensation',
    run: 'throw',
    attempt: 1,
    maxAttempts: 3,
    outcome: 'retried',
    compensated: false,
    counted: ['retried'],
  },
  {
    name: 'a throw on the last attempt fails the job and compensates',
    run: 'throw',
    compensation: 'succeed',
    attempt: 3,
    maxAttempts: 3,
    outcome: 'failed',
    compensated: true,
    counted: ['failed'],
  },
  {
    name: 'a compensation that throws still fails the job (the runner does not throw)',
    run: 'throw',
    compensation: 'throw',
    attempt: 3,
    maxAttempts: 3,
    outcome: 'failed',
    compensated: true,
    counted: ['failed'],
  },
  {
    name: 'a throw while the process stops is an interruption: no retry, no compensation, not counted',
    run: 'throw',
    attempt: 3,
    maxAttempts: 3,
    stopping: true,
    outcome: 'interrupted',
    compensated: false,
    counted: [],
  },
];

interface Calls {
  compensated: number;
  compensatedFor?: unknown;
  lastCtxAttempt?: number;
}

function handlersFor(s: Scenario, calls: Calls) {
  const failure = new Error('provider busy');
  const handlers: JobHandlers = {
    create_voice: {
      maxAttempts: s.maxAttempts,
      run: async (_payload, ctx) => {
        calls.lastCtxAttempt = ctx.attempt;
        if (s.run === 'throw') throw failure;
      },
      onExhausted: async (_payload, err) => {
        calls.compensated++;
        calls.compensatedFor = err;
        if (s.compensation === 'throw') throw new Error('could not undo');
      },
    },
    delete_provider_voice: { maxAttempts: 1, run: async () => undefined },
    purge_provider_prefix: { maxAttempts: 1, run: async () => undefined },
  };
  return { handlers, failure };
}

describe('job runner', () => {
  it.each(scenarios)('$name', async (s) => {
    const calls: Calls = { compensated: 0 };
    const counted: [JobType, JobOutcome][] = [];
    const { handlers, failure } = handlersFor(s, calls);
    const runner = new JobRunner(handlers, {
      log: silent,
      baseBackoffMs: 1000,
      stopping: () => s.stopping === true,
      onOutcome: (type, outcome) => counted.push([type, outcome]),
    });

    const result = await runner.attempt(
      'create_voice',
      { voiceId: 'v1' },
      { jobId: 'j1', attempt: s.attempt },
    );

    expect(result.outcome).toBe(s.outcome);
    if (result.outcome !== 'succeeded') expect(result.error).toBe(failure);
    if (result.outcome === 'retried') {
      // Attempt 1 failed: the first step, 1 s with full jitter over its upper half.
      expect(result.delayMs).toBeGreaterThanOrEqual(500);
      expect(result.delayMs).toBeLessThanOrEqual(1000);
    }
    expect(calls.compensated).toBe(s.compensated ? 1 : 0);
    if (s.compensated) expect(calls.compensatedFor).toBe(failure);
    expect(calls.lastCtxAttempt).toBe(s.attempt);
    expect(counted).toEqual(s.counted.map((o) => ['create_voice', o]));
  });

  it('retries up to the attempts the queue allows when it says so, not the handler default', async () => {
    const calls = { compensated: 0 };
    const s = scenarios[2]!;
    const { handlers } = handlersFor({ ...s, maxAttempts: 10 }, calls);
    const runner = new JobRunner(handlers, { log: silent });
    const result = await runner.attempt(
      'create_voice',
      { voiceId: 'v1' },
      { jobId: 'j1', attempt: 2, maxAttempts: 2 },
    );
    expect(result.outcome).toBe('failed');
    expect(calls.compensated).toBe(1);
  });

  it('fails a job of a type it has no handler for, without running anything', async () => {
    const calls = { compensated: 0 };
    const { handlers } = handlersFor(scenarios[0]!, calls);
    const runner = new JobRunner(handlers, { log: silent });
    const result = await runner.attempt('no_such_job' as JobType, {}, { jobId: 'j', attempt: 1 });
    expect(result.outcome).toBe('failed');
    expect(calls.compensated).toBe(0);
  });

  it('compensates and counts a job the queue gave up on (stalled), even when compensation throws', async () => {
    const calls: Calls = { compensated: 0 };
    const counted: JobOutcome[] = [];
    const s = scenarios[3]!;
    const { handlers, failure } = handlersFor(s, calls);
    const runner = new JobRunner(handlers, { log: silent, onOutcome: (_t, o) => counted.push(o) });
    await runner.exhausted('create_voice', { voiceId: 'v1' }, failure, { jobId: 'j', attempt: 2 });
    expect(calls.compensated).toBe(1);
    expect(calls.compensatedFor).toBe(failure);
    expect(counted).toEqual(['failed']);
  });

  it('refuses handlers with a job type missing (fail fast on wiring)', () => {
    const { handlers } = handlersFor(scenarios[0]!, { compensated: 0 });
    const partial = { create_voice: handlers.create_voice } as unknown as JobHandlers;
    expect(() => new JobRunner(partial, { log: silent })).toThrow(/delete_provider_voice/);
  });
});

describe('backoff', () => {
  it.each([
    { attempt: 1, base: 1000, cap: 60_000, upper: 1000 },
    { attempt: 3, base: 1000, cap: 60_000, upper: 4000 },
    { attempt: 7, base: 1000, cap: 60_000, upper: 60_000 },
    { attempt: 12, base: 1000, cap: 60_000, upper: 60_000 },
    { attempt: 40, base: 1000, cap: 60_000, upper: 60_000 },
    { attempt: 12, base: 50, cap: 500, upper: 500 },
  ])('attempt $attempt (base $base ms, cap $cap ms) waits between half of and $upper ms', (c) => {
    for (let i = 0; i < 50; i++) {
      const d = backoffMs(c.attempt, c.base, c.cap);
      expect(d).toBeGreaterThanOrEqual(c.upper / 2);
      expect(d).toBeLessThanOrEqual(c.upper);
    }
  });

  it("the runner's backoff is capped at a minute by default, whatever the attempt", () => {
    const { handlers } = handlersFor(scenarios[0]!, { compensated: 0 });
    const runner = new JobRunner(handlers, { log: silent });
    for (const attempt of [8, 12, 20, 100]) {
      expect(runner.backoff(attempt)).toBeLessThanOrEqual(MAX_BACKOFF_MS);
      expect(runner.backoff(attempt)).toBeGreaterThanOrEqual(MAX_BACKOFF_MS / 2);
    }
  });
});
