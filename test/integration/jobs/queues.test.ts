/**
 * Both queues move jobs as the one runner decides: a failed attempt is run
 * again after its backoff, a job that fails its last attempt is compensated
 * once and counted as failed. The SQL queue on SQLite, BullMQ on the real
 * Redis (when it answers).
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BullJobQueue } from '../../../src/jobs/bull-queue.js';
import {
  MAX_ATTEMPTS,
  type JobHandlers,
  type JobOutcome,
  type JobQueue,
} from '../../../src/jobs/queue.js';
import { SqlJobQueue } from '../../../src/jobs/sql-queue.js';
import { createTestDb } from '../../helpers/db.js';
import { createTestRedis, redisAvailable } from '../../helpers/redis.js';

const silent = pino({ level: 'silent' });
const redisUp = await redisAvailable();

interface Made {
  queue: JobQueue;
  outcomes: JobOutcome[];
  cleanup(): Promise<void>;
}

const makers: { name: string; available: boolean; make: () => Promise<Made> }[] = [
  {
    name: 'SQL queue',
    available: true,
    make: async () => {
      const db = await createTestDb('sqlite');
      const outcomes: JobOutcome[] = [];
      const queue = new SqlJobQueue(db.db, silent, {
        pollMs: 20,
        baseBackoffMs: 5,
        onOutcome: (_t, o) => outcomes.push(o),
      });
      return { queue, outcomes, cleanup: () => db.drop() };
    },
  },
  {
    name: 'BullMQ queue',
    available: redisUp,
    make: async () => {
      const redis = await createTestRedis();
      const outcomes: JobOutcome[] = [];
      const queue = new BullJobQueue(redis.client, silent, {
        name: redis.queueName,
        baseBackoffMs: 5,
        onOutcome: (_t, o) => outcomes.push(o),
      });
      return { queue, outcomes, cleanup: () => redis.cleanup() };
    },
  },
];

/** Handlers whose create_voice fails its first `failures` attempts. */
function flaky(failures: number) {
  const seen = { attempts: [] as number[], compensated: 0 };
  let settle!: () => void;
  const done = new Promise<void>((r) => (settle = r));
  const handlers: JobHandlers = {
    create_voice: {
      maxAttempts: MAX_ATTEMPTS.create_voice,
      run: async (_p, ctx) => {
        seen.attempts.push(ctx.attempt);
        if (ctx.attempt <= failures) {
          if (ctx.attempt === ctx.maxAttempts) setImmediate(settle);
          throw new Error(`provider busy (attempt ${ctx.attempt})`);
        }
        setImmediate(settle);
      },
      onExhausted: async () => {
        seen.compensated++;
      },
    },
    delete_provider_voice: { maxAttempts: 1, run: async () => undefined },
    purge_provider_prefix: { maxAttempts: 1, run: async () => undefined },
  };
  return { handlers, seen, done };
}

describe.each(makers)('$name', ({ available, make }) => {
  let made: Made | undefined;

  afterEach(async () => {
    await made?.queue.close();
    await made?.cleanup();
    made = undefined;
  });

  it.runIf(available)(
    'runs a failed job again until it succeeds, without compensation',
    async () => {
      made = await make();
      const { handlers, seen, done } = flaky(2);
      await made.queue.startWorker(handlers, { concurrency: 4 });
      await made.queue.enqueue('create_voice', { voiceId: 'v1' }, { jobId: 'create_voice:v1' });
      await done;
      // The outcome is counted right after the handler returns.
      await expect.poll(() => made!.outcomes).toEqual(['retried', 'retried', 'succeeded']);
      expect(seen.attempts).toEqual([1, 2, 3]);
      expect(seen.compensated).toBe(0);
    },
  );

  it.runIf(available)('starts no job until beforeStart lets it', async () => {
    made = await make();
    const { handlers, seen, done } = flaky(0);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let asked = 0;
    await made.queue.startWorker(handlers, {
      concurrency: 4,
      beforeStart: () => (asked++, gate),
    });
    await made.queue.enqueue('create_voice', { voiceId: 'v3' }, { jobId: 'create_voice:v3' });
    await expect.poll(() => asked).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.attempts).toEqual([]);
    open();
    await done;
    expect(seen.attempts).toEqual([1]);
  });

  it.runIf(available)('compensates once a job fails its last attempt', async () => {
    made = await make();
    const max = MAX_ATTEMPTS.create_voice;
    const { handlers, seen, done } = flaky(max);
    await made.queue.startWorker(handlers, { concurrency: 4 });
    await made.queue.enqueue('create_voice', { voiceId: 'v2' }, { jobId: 'create_voice:v2' });
    await done;
    await expect.poll(() => seen.compensated).toBe(1);
    expect(seen.attempts).toEqual(Array.from({ length: max }, (_, i) => i + 1));
    expect(made.outcomes).toEqual([...Array<JobOutcome>(max - 1).fill('retried'), 'failed']);
    await expect.poll(async () => (await made!.queue.stats()).failed).toBe(1);
  });
});
