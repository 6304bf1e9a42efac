import { describe, expect, it } from 'vitest';
import { LocalVoiceEvents } from '../../../src/jobs/voice-events.js';

/** Which of `waits` have settled by now (after the microtasks already queued). */
async function settled(waits: Promise<void>[]): Promise<boolean[]> {
  const marks = waits.map(() => false);
  waits.forEach((w, i) => void w.then(() => (marks[i] = true)));
  await new Promise((r) => setImmediate(r));
  return marks;
}

describe('in-process voice events', () => {
  it('wakes a waiter when its voice finishes (the wait is far longer than the test timeout)', async () => {
    const events = new LocalVoiceEvents();
    const woken = events.waitFor('v1', 3_600_000);
    events.finished('v2');
    events.finished('v1');
    await expect(woken).resolves.toBeUndefined();
  });

  it('wakes only the waiters of the voice that finished', async () => {
    const events = new LocalVoiceEvents();
    const mine = events.waitFor('v1', 3_600_000);
    const other = events.waitFor('v2', 3_600_000);
    events.finished('v1');
    expect(await settled([mine, other])).toEqual([true, false]);
    events.finished('v2');
    await expect(other).resolves.toBeUndefined();
  });

  it('ends a wait when its signal aborts, and at once when it was aborted already', async () => {
    const events = new LocalVoiceEvents();
    const stop = new AbortController();
    const waiting = events.waitFor('v1', 3_600_000, stop.signal);
    expect(await settled([waiting])).toEqual([false]);
    stop.abort();
    await expect(waiting).resolves.toBeUndefined();
    await expect(events.waitFor('v1', 3_600_000, stop.signal)).resolves.toBeUndefined();
  });
});
