import { EventEmitter } from 'node:events';

/**
 * News of voices whose creation ended (ready or failed), so a request
 * waiting for its voice is woken at once instead of re-reading the row on a
 * timer. The row stays the truth: a waiter re-reads it when woken, and also
 * after its own timeout (the safety net for a lost message).
 *
 * `LocalVoiceEvents` reaches waiters in this process only (SQLite, no
 * Redis); `RedisVoiceEvents` (redis-voice-events.ts) also those of every
 * other process on the same Redis.
 */
export interface VoiceEvents {
  /** Says `voiceId` finished. Never throws; delivery is best effort. */
  finished(voiceId: string): void;
  /**
   * Resolves when `voiceId` finishes, after `ms`, or when `signal` aborts,
   * whichever is first. Never rejects.
   */
  waitFor(voiceId: string, ms: number, signal?: AbortSignal): Promise<void>;
  /** Releases connections (idempotent). */
  close(): Promise<void>;
}

/** Waiters of this process, keyed by voice id. */
export class LocalVoiceEvents implements VoiceEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting request; many may wait at once.
    this.emitter.setMaxListeners(0);
  }

  finished(voiceId: string): void {
    this.emitter.emit(voiceId);
  }

  waitFor(voiceId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(voiceId, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.emitter.once(voiceId, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
