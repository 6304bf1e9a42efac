import { EventEmitter } from 'node:events';

/**
 * In-process news of voices whose creation ended (ready or failed), so a
 * request waiting for its voice is woken at once instead of re-reading the
 * row on a timer. Jobs run in another process (a separate worker) are still
 * seen by the waiter's slower fallback re-read.
 */
export class VoiceEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting request; many may wait at once.
    this.emitter.setMaxListeners(0);
  }

  finished(voiceId: string): void {
    this.emitter.emit(voiceId);
  }

  /** Resolves when `voiceId` finishes or after `ms`, whichever is first. */
  waitFor(voiceId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(voiceId, done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.emitter.once(voiceId, done);
    });
  }
}

/** The process's one instance (the job and the service meet here). */
export const voiceEvents = new VoiceEvents();
