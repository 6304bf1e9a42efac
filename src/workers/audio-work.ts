import { AudioUnreadableError } from '../audio/errors.js';
import type { UploadInspection } from '../audio/inspect.js';
import type { TranscodeOptions, TranscodeResult } from '../audio/transcode.js';
import { ERRORS } from '../errors.js';

import { cpuFailureError, CpuTaskError, type CpuPool } from './cpu-pool.js';
import type { SampleAssessment } from './cpu-tasks.js';

export interface AudioLimits {
  /** Longest audio accepted at all (upload, assessment, creation), seconds. */
  maxSampleSec: number;
}

/** Decoding stops this far past the limit: enough to tell "a bit long" from "far too long". */
export const DECODE_MARGIN_SEC = 10;
/** Assessments kept per process, by sample key. */
const CACHE_ENTRIES = 64;

/**
 * The audio work of the service, run on the CPU pool: upload inspection and
 * sample assessment. Assessments are kept (by an immutable sample key, e.g.
 * the blob key) so a creation analyses its sample once, not once per step.
 */
export class AudioWork {
  private readonly assessed = new Map<string, Promise<SampleAssessment>>();

  constructor(
    private readonly pool: CpuPool,
    readonly limits: AudioLimits,
  ) {}

  /** Seconds of audio decoded at most before a file is judged too long. */
  get decodeBoundSec(): number {
    return this.limits.maxSampleSec + DECODE_MARGIN_SEC;
  }

  /**
   * Probes and decodes (bounded) an upload. `bytes` is handed to the pool and
   * must not be used afterwards. Pool failures become 503 (busy) or 422 (the
   * file outgrew a thread's memory).
   */
  async inspectUpload(bytes: Uint8Array): Promise<UploadInspection> {
    return this.guard(() =>
      this.pool.run(
        'inspect_audio',
        { bytes, maxSec: this.decodeBoundSec },
        { transfer: transferable(bytes) },
      ),
    );
  }

  /**
   * The quality assessment (and speech analysis) of a sample. With a `key`
   * (same key ⇒ same bytes) the result is computed once and reused. `bytes`
   * may be a reader: it is then called only when the key has no result yet,
   * so waiting callers of one sample do not each hold its bytes.
   */
  assess(
    bytes: Uint8Array | (() => Promise<Uint8Array>),
    ext?: string,
    key?: string,
  ): Promise<SampleAssessment> {
    const run = async () => {
      // Bytes this method read itself are moved to the thread, not copied.
      const read = typeof bytes === 'function' ? await bytes() : undefined;
      const input = read ?? (bytes as Uint8Array);
      return this.guard(() =>
        this.pool.run(
          'assess_audio',
          { bytes: input, ext, maxSec: this.decodeBoundSec },
          read ? { transfer: transferable(read) } : undefined,
        ),
      );
    };
    if (!key) return run();
    const hit = this.assessed.get(key);
    if (hit) {
      // Most recently used last.
      this.assessed.delete(key);
      this.assessed.set(key, hit);
      return hit;
    }
    const pending = run();
    this.assessed.set(key, pending);
    pending.catch(() => this.assessed.delete(key));
    while (this.assessed.size > CACHE_ENTRIES) {
      this.assessed.delete(this.assessed.keys().next().value!);
    }
    return pending;
  }

  /**
   * A 16-bit mono WAV rendition of a sample (DashScope's format), on the pool.
   * `bytes` is handed to the pool and must not be used afterwards.
   */
  async transcode(bytes: Uint8Array, opts: TranscodeOptions): Promise<TranscodeResult> {
    const r = await this.guard(() =>
      this.pool.run('transcode_wav', { bytes, opts }, { transfer: transferable(bytes) }),
    );
    if (!r.ok) throw new AudioUnreadableError('malformed', r.message);
    return r.result;
  }

  /** The envelope error for audio past the decode bound. */
  tooLong(what: string): Error {
    return ERRORS.unprocessable('The audio is too long', {
      info: `${what} plays longer than ${this.limits.maxSampleSec} s; trim it to 10–30 seconds of clear speech and upload it again.`,
    });
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof CpuTaskError) {
        throw cpuFailureError(
          err,
          'the audio needs more memory to decode than a sample may; trim it to 10–30 seconds and upload it again',
        );
      }
      throw err;
    }
  }
}

/** The buffer behind `bytes` when it is exclusively theirs (safe to move to a thread). */
function transferable(bytes: Uint8Array): ArrayBuffer[] | undefined {
  const buffer = bytes.buffer;
  return buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === buffer.byteLength &&
    buffer.byteLength > 64 * 1024
    ? [buffer]
    : undefined;
}
