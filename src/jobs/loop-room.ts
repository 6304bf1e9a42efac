import { performance } from 'node:perf_hooks';
import type { Config } from '../config.js';
import type { WorkerOptions } from './queue.js';

/**
 * Job starts yield to the work already on the event loop. A job is
 * background work: a burst of creations starts a hundred of them, each with
 * its first provider calls, reads and writes, on the loop that also answers
 * requests. A job may start only once the loop was busy at most
 * `maxUtilization` of the last `windowMs` (Node's event-loop utilization),
 * and no sooner than `windowMs` after the previous start; one caller at a
 * time, in order, and none waits longer than `maxWaitMs`, so jobs still start
 * (one per `maxWaitMs` at worst) on a loop that never has room. A
 * `maxUtilization` of 1 turns it off.
 */
export class LoopRoom {
  private turn: Promise<void> = Promise.resolve();
  private mark = performance.eventLoopUtilization();
  private markAt = performance.now();

  constructor(
    private readonly maxUtilization: number,
    private readonly windowMs = 10,
    private readonly maxWaitMs = 1000,
  ) {}

  /** Resolves when the next job may start. */
  wait(): Promise<void> {
    if (this.maxUtilization >= 1) return Promise.resolve();
    const mine = this.turn.then(() => this.room());
    this.turn = mine;
    return mine;
  }

  private async room(): Promise<void> {
    const deadline = performance.now() + this.maxWaitMs;
    for (;;) {
      const now = performance.now();
      if (now - this.markAt >= this.windowMs) {
        const busy = performance.eventLoopUtilization(this.mark).utilization;
        this.mark = performance.eventLoopUtilization();
        this.markAt = now;
        if (busy <= this.maxUtilization || now >= deadline) return;
      }
      const left = Math.max(1, this.markAt + this.windowMs - now);
      await new Promise((r) => setTimeout(r, left));
    }
  }
}

/** How a process runs jobs, from the configuration: concurrency, and starts that yield. */
export function workerOptions(jobs: Config['jobs']): WorkerOptions {
  const room = new LoopRoom(jobs.startMaxLoopUtilization);
  return { concurrency: jobs.concurrency, beforeStart: () => room.wait() };
}
