import { describe, expect, it } from 'vitest';
import { PollSchedule, ReadyPace } from '../../../src/jobs/poll-schedule.js';

/** Polls a schedule as the job does, until `readyAt`; returns the poll times. */
function pollTimes(schedule: PollSchedule, readyAt: number): number[] {
  const times: number[] = [];
  let t = 0;
  for (;;) {
    times.push(t);
    if (t >= readyAt) return times;
    t += schedule.next(t);
  }
}

const noJitter = () => 0.5;

describe('PollSchedule', () => {
  it('without a known pace starts at the minimum and grows by half up to the maximum', () => {
    const s = new PollSchedule({ minMs: 100, maxMs: 400 }, undefined, noJitter);
    expect([0, 1, 2, 3, 4, 5].map(() => s.next(0))).toEqual([100, 150, 225, 338, 400, 400]);
  });

  it('jitters each wait by at most a quarter', () => {
    const lo = new PollSchedule({ minMs: 100, maxMs: 400 }, undefined, () => 0);
    const hi = new PollSchedule({ minMs: 100, maxMs: 400 }, undefined, () => 0.999);
    expect(lo.next(0)).toBe(75);
    expect(hi.next(0)).toBe(125);
  });

  it('with a known pace sleeps through most of it, then polls closely around it', () => {
    const s = new PollSchedule({ minMs: 50, maxMs: 2000 }, 10_000, noJitter);
    const times = pollTimes(s, 10_130);
    expect(times.slice(0, 2)).toEqual([0, 8500]);
    // Every 4 % of the pace (400 ms) from there, so the voice is seen within one interval.
    expect(times.slice(2)).toEqual([8900, 9300, 9700, 10_100, 10_500]);
    expect(times.at(-1)! - 10_130).toBeLessThanOrEqual(400);
  });

  it('sees a voice that is ready at the usual time with fewer polls than the plain back-off', () => {
    const plain = pollTimes(new PollSchedule({ minMs: 50, maxMs: 200 }, undefined, noJitter), 1050);
    const paced = pollTimes(new PollSchedule({ minMs: 50, maxMs: 200 }, 1000, noJitter), 1050);
    expect(paced.length).toBeLessThan(plain.length);
    expect(paced.at(-1)! - 1050).toBeLessThanOrEqual(50);
    expect(plain.at(-1)! - 1050).toBeGreaterThan(50);
  });

  it('keeps the close interval between the minimum and the maximum', () => {
    const fast = new PollSchedule({ minMs: 100, maxMs: 2000 }, 500, noJitter);
    expect(fast.next(0)).toBe(425);
    expect(fast.next(425)).toBe(100);
    const slow = new PollSchedule({ minMs: 100, maxMs: 1000 }, 100_000, noJitter);
    expect(slow.next(0)).toBe(85_000);
    expect(slow.next(85_000)).toBe(1000);
  });

  it('backs off as before once a quarter past the usual time', () => {
    const s = new PollSchedule({ minMs: 50, maxMs: 2000 }, 1000, noJitter);
    expect(s.next(0)).toBe(850);
    expect(s.next(1300)).toBe(50);
    expect(s.next(1350)).toBe(75);
    expect(s.next(1425)).toBe(113);
  });

  it('polls closely at once when the first poll comes after the sleep would end', () => {
    const s = new PollSchedule({ minMs: 50, maxMs: 2000 }, 1000, noJitter);
    expect(s.next(900)).toBe(50);
  });
});

describe('ReadyPace', () => {
  it('knows nothing of a model before its first voice', () => {
    expect(new ReadyPace().expected('m')).toBeUndefined();
  });

  it('expects the lower quartile of the recent times, per model', () => {
    const p = new ReadyPace();
    for (const ms of [1000, 5000, 1100, 1200, 900]) p.record('a', ms);
    p.record('b', 20_000);
    expect(p.expected('a')).toBe(1000);
    expect(p.expected('b')).toBe(20_000);
  });

  it('forgets all but the last few, so a provider that speeds up is followed', () => {
    const p = new ReadyPace(4);
    for (const ms of [9000, 9000, 9000, 9000]) p.record('a', ms);
    for (const ms of [2000, 2100]) p.record('a', ms);
    expect(p.expected('a')).toBe(2000);
  });

  it('ignores times that cannot be real', () => {
    const p = new ReadyPace();
    p.record('a', -5);
    p.record('a', Number.NaN);
    expect(p.expected('a')).toBeUndefined();
  });
});
