import { afterEach, describe, expect, it } from 'vitest';

import { AppError } from '../../../src/errors.js';
import { cpuFailureError, CpuPool, CpuTaskError } from '../../../src/workers/cpu-pool.js';
import type { CpuTestTaskMap } from '../../doubles/cpu-test-tasks.js';

const TASKS = new URL('../../doubles/cpu-test-tasks.ts', import.meta.url);

let pool: CpuPool<CpuTestTaskMap> | undefined;

function makePool(opts: { maxQueue?: number; taskTimeoutMs?: number; taskMemoryMb?: number }) {
  pool = new CpuPool<CpuTestTaskMap>({
    threads: 1,
    maxQueue: opts.maxQueue ?? 4,
    taskTimeoutMs: opts.taskTimeoutMs ?? 60_000,
    taskMemoryMb: opts.taskMemoryMb ?? 256,
    filename: TASKS,
  });
  return pool;
}

afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

async function failure(promise: Promise<unknown>): Promise<CpuTaskError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CpuTaskError);
  return err as CpuTaskError;
}

describe('CpuPool limits', () => {
  it('stops a task past its time limit with a 503 and keeps serving the next task', async () => {
    const cpu = makePool({});
    expect(await cpu.run('echo', { value: 1 })).toBe(1);
    const err = await failure(cpu.run('spin', { ms: 60_000 }, { timeoutMs: 300 }));
    expect(err.failure).toBe('timeout');
    expect(err.message).toMatch(/spin task did not finish within 0\.3 s/);
    const answer = cpuFailureError(err);
    expect(answer).toBeInstanceOf(AppError);
    expect(answer.status).toBe(503);
    expect(answer.headers?.['retry-after']).toBe('5');
    // The stuck thread was replaced: the pool still answers.
    expect(await cpu.run('echo', { value: 2 })).toBe(2);
  });

  it('fails a task past its heap limit clearly, replaces its thread, and the process lives on', async () => {
    const cpu = makePool({ taskMemoryMb: 32 });
    const err = await failure(cpu.run('grow', { chunkMb: 4 }));
    expect(err.failure).toBe('memory');
    expect(err.message).toBe('The grow task ran out of memory.');
    // Judged by the input when the caller says so (audio: the file's fault), else the server's.
    expect(cpuFailureError(err, 'the input is too large').status).toBe(422);
    expect(cpuFailureError(err).status).toBe(503);
    expect(await cpu.run('echo', { value: 3 })).toBe(3);
  });

  it('refuses work beyond a full queue at once with 503 and Retry-After', async () => {
    const cpu = makePool({ maxQueue: 1 });
    expect(await cpu.run('echo', { value: 0 })).toBe(0);
    const busy = cpu.run('spin', { ms: 60_000 }, { timeoutMs: 2_000 });
    busy.catch(() => undefined);
    await expect.poll(() => cpu.load().running).toBe(1);
    // The thread is busy: one task may wait, the next is refused without waiting.
    const waiting = cpu.run('echo', { value: 7 });
    expect(cpu.load().queued).toBe(1);
    const refused = await failure(cpu.run('echo', { value: 8 }));
    expect(refused.failure).toBe('queue_full');
    const answer = cpuFailureError(refused);
    expect(answer.status).toBe(503);
    expect(answer.headers?.['retry-after']).toBe('2');
    expect(answer.extra).toMatchObject({ retry_after: 2 });
    expect((await failure(busy)).failure).toBe('timeout');
    // The waiting task runs once the stuck one is stopped.
    expect(await waiting).toBe(7);
  });
});
