import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';

import { CpuPool } from '../../../src/workers/cpu-pool.js';
import { POOL_THREAD_NICE } from '../../../src/workers/low-priority.js';

let pool: CpuPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** Every thread of this process with its nice value, from /proc (Linux). */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      // After "pid (comm) ": state is field 3 of stat, nice is field 19.
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

describe('CPU pool thread priority', () => {
  it.runIf(process.platform === 'linux')(
    'runs pool threads below the event loop and leaves the main thread as it was',
    async () => {
      const before = niceByThread();
      const mainNice = before.get(process.pid)!;
      pool = new CpuPool({ threads: 1, maxQueue: 4, taskTimeoutMs: 60_000, taskMemoryMb: 256 });
      const hash = await pool.run('hash_password', { password: 'pw', rounds: 4 });
      expect(hash).toMatch(/^\$2/);
      const after = niceByThread();
      const lowered = [...after].filter(
        ([tid, nice]) => !before.has(tid) && nice === Math.min(19, mainNice + POOL_THREAD_NICE),
      );
      expect(lowered.length).toBeGreaterThanOrEqual(1);
      expect(after.get(process.pid)).toBe(mainNice);
    },
  );
});
