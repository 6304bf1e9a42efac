import { describe, expect, it } from 'vitest';
import { Admission } from '../../../src/api/plugins/admission.js';
import { AppError } from '../../../src/errors.js';

const settings = { concurrent: 2, maxWaiting: 2, holdMs: 60_000, retryAfterSec: 5 };
const tick = () => new Promise((r) => setImmediate(r));

describe('Admission', () => {
  it('lets a few in at once and the rest in arrival order as turns end', async () => {
    const a = new Admission(settings);
    const order: string[] = [];
    const first = await a.enter();
    const second = await a.enter();
    const third = a.enter().then((leave) => (order.push('third'), leave));
    const fourth = a.enter().then((leave) => (order.push('fourth'), leave));
    await tick();
    expect(order).toEqual([]);
    expect(a.inSetUp).toBe(2);
    expect(a.queued).toBe(2);
    first();
    await tick();
    expect(order).toEqual(['third']);
    second();
    await tick();
    expect(order).toEqual(['third', 'fourth']);
    (await third)();
    (await fourth)();
    expect(a.inSetUp).toBe(0);
  });

  it('ends a turn once, however often it is ended', async () => {
    const a = new Admission({ ...settings, concurrent: 1 });
    const leave = await a.enter();
    leave();
    leave();
    const again = await a.enter();
    expect(a.inSetUp).toBe(1);
    const waiting = a.enter();
    await tick();
    expect(a.queued).toBe(1);
    again();
    (await waiting)();
    expect(a.inSetUp).toBe(0);
  });

  it('answers 503 with Retry-After when the line is full', async () => {
    const a = new Admission({ ...settings, concurrent: 1, maxWaiting: 1 });
    await a.enter();
    void a.enter();
    const err = await a.enter().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 503, headers: { 'retry-after': '5' } });
  });

  it('drops a waiter whose request went away, without giving it a turn', async () => {
    const a = new Admission({ ...settings, concurrent: 1 });
    const leave = await a.enter();
    const gone = new AbortController();
    const waiting = a.enter(gone.signal);
    await tick();
    gone.abort(new Error('client gone'));
    await expect(waiting).rejects.toThrow('client gone');
    expect(a.queued).toBe(0);
    leave();
    expect(a.inSetUp).toBe(0);
  });

  it('ends a turn held past its limit by itself', async () => {
    const a = new Admission({ ...settings, concurrent: 1, holdMs: 20 });
    await a.enter();
    const start = Date.now();
    (await a.enter())();
    expect(Date.now() - start).toBeGreaterThanOrEqual(15);
    expect(a.inSetUp).toBe(0);
  });
});
