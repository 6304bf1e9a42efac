/**
 * When to ask the provider again whether a voice it is preparing is usable.
 *
 * Without knowing the provider's pace, polls start at `minMs` and grow by
 * half each time up to `maxMs`. Once recent voices of the same model have
 * shown how long the provider takes ({@link ReadyPace}), the schedule sleeps
 * through most of that time, then polls closely around it (every 4 % of it,
 * at least `minMs`) until a quarter past it, and only then backs off as
 * before: a voice is seen usable soon after it becomes so, usually with
 * fewer polls than the plain back-off makes. Every wait is jittered (±25 %) so a burst of
 * creations started together does not poll in step; the long sleep is not,
 * since creations started together finish enrolling at different times.
 */
export class PollSchedule {
  private delay: number;
  private slept = false;

  constructor(
    private readonly opts: { minMs: number; maxMs: number },
    /** The provider's recent time from creation to usable for this model, if known. */
    private readonly expectedMs: number | undefined,
    private readonly random: () => number = Math.random,
  ) {
    this.delay = opts.minMs;
  }

  /** How long to wait after a poll made `elapsedMs` after creation found the voice not ready. */
  next(elapsedMs: number): number {
    const e = this.expectedMs;
    if (e !== undefined) {
      const close = Math.min(
        Math.max(this.opts.minMs, Math.round(e * CLOSE_INTERVAL)),
        this.opts.maxMs,
      );
      if (!this.slept) {
        this.slept = true;
        const sleep = e * SLEEP_UNTIL - elapsedMs;
        if (sleep > close) return Math.round(sleep);
      }
      if (elapsedMs < e * CLOSE_UNTIL) {
        this.delay = close;
        return this.jitter(close);
      }
    }
    const d = this.jitter(this.delay);
    this.delay = Math.min(Math.ceil(this.delay * 1.5), this.opts.maxMs);
    return d;
  }

  private jitter(ms: number): number {
    return Math.max(1, Math.round(ms * (0.75 + this.random() * 0.5)));
  }
}

/** Sleep until this share of the expected time before polling closely. */
const SLEEP_UNTIL = 0.85;
/** Poll closely until this share of the expected time. */
const CLOSE_UNTIL = 1.25;
/** The close interval, as a share of the expected time. */
const CLOSE_INTERVAL = 0.04;

/**
 * How long the provider has recently taken, per model, from a voice's
 * creation to the poll that found it usable: the lower quartile of the last
 * `keep` (a slow outlier does not push the sleep past the usual time, and a
 * provider that speeds up is followed within a few voices, since each
 * observation ends at most one close interval past the real moment). Kept in
 * memory by each process that runs jobs; a new process learns from its first
 * voices.
 */
export class ReadyPace {
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly keep = 16) {}

  record(model: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const xs = this.recent.get(model) ?? [];
    xs.push(ms);
    if (xs.length > this.keep) xs.shift();
    this.recent.set(model, xs);
  }

  expected(model: string): number | undefined {
    const xs = this.recent.get(model);
    if (!xs?.length) return undefined;
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 4)];
  }
}
