/**
 * Imported first by a pool's task module: the thread that loads it runs at a
 * lower priority than the event loop ({@link POOL_THREAD_NICE} nice steps
 * below the thread that started it, at most 19), so a
 * machine busy with decoding, analysis, synthesis or hashing still gives the
 * thread that answers requests the CPU first. Linux only: there a nice value
 * belongs to one thread; elsewhere setPriority(0) would lower the whole
 * process, event loop included.
 */
import { isMainThread } from 'node:worker_threads';
import { getPriority, setPriority } from 'node:os';

export const POOL_THREAD_NICE = 10;

if (process.platform === 'linux' && !isMainThread) {
  try {
    setPriority(0, Math.min(19, getPriority(0) + POOL_THREAD_NICE));
  } catch {
    // Not allowed here (a sandbox): the thread keeps the process's priority.
  }
}
