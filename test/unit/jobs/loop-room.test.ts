import { describe, expect, it } from 'vitest';
import { LoopRoom } from '../../../src/jobs/loop-room.js';

/** Keeps the event loop busy: a 9 ms spin every millisecond or so, until stopped. */
function busyLoop(): () => void {
  let on = true;
  const spin = () => {
    if (!on) return;
    const end = performance.now() + 9;
    while (performance.now() < end) {
      // busy
    }
    setTimeout(spin, 1);
  };
  spin();
  return () => {
    on = false;
  };
}

describe('LoopRoom', () => {
  it('lets every start through at once when turned off', async () => {
    const room = new LoopRoom(1, 50);
    const t0 = performance.now();
    await Promise.all([room.wait(), room.wait(), room.wait()]);
    expect(performance.now() - t0).toBeLessThan(25);
  });

  it('on an idle loop starts jobs one window apart, in the order they asked', async () => {
    const room = new LoopRoom(0.7, 30);
    const order: number[] = [];
    const t0 = performance.now();
    await Promise.all([1, 2, 3].map((n) => room.wait().then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
    // The first may pass at once; each later one waits for a window of its own.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('holds a start while the loop is busy, and lets it go after maxWaitMs at most', async () => {
    const room = new LoopRoom(0.5, 20, 300);
    const stop = busyLoop();
    try {
      await new Promise((r) => setTimeout(r, 40));
      const t0 = performance.now();
      await room.wait();
      const waited = performance.now() - t0;
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(1500);
    } finally {
      stop();
    }
  });

  it('lets a start go once the loop has room again', async () => {
    const room = new LoopRoom(0.5, 20, 5000);
    const stop = busyLoop();
    setTimeout(stop, 150);
    const t0 = performance.now();
    await room.wait();
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(100);
    expect(waited).toBeLessThan(2000);
  });
});
