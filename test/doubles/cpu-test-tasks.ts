/**
 * A task module for pool tests only (loaded by `new CpuPool({ filename })`;
 * the service's pool never sees it): work that runs too long, grows past the
 * heap limit, or answers at once.
 */
export interface CpuTestTaskMap {
  echo: { input: { value: number }; output: number };
  /** Keeps the thread busy (synchronously) for `ms`. */
  spin: { input: { ms: number }; output: number };
  /** Keeps allocating reachable memory until the heap limit stops the thread. */
  grow: { input: { chunkMb: number }; output: number };
}

type Message = {
  [K in keyof CpuTestTaskMap]: { kind: K; input: CpuTestTaskMap[K]['input'] };
}[keyof CpuTestTaskMap];

const kept: number[][] = [];

export default function runTestTask(message: Message): number {
  switch (message.kind) {
    case 'echo':
      return message.input.value;
    case 'spin': {
      const end = Date.now() + message.input.ms;
      let n = 0;
      while (Date.now() < end) n++;
      return n;
    }
    case 'grow': {
      const size = (message.input.chunkMb * 1024 * 1024) / 8;
      for (;;) kept.push(Array.from({ length: size }, (_, i) => i + 0.5));
    }
  }
}
