/**
 * Sample renditions: bytes in, 16-bit mono WAV bytes out. A pure function of
 * its input (no I/O, no shared state) so it can run in a worker thread.
 */
import { decodeAudio, resample } from './decode.js';
import { encodeWav } from './encode.js';

export interface TranscodeOptions {
  /** Output rate in Hz. */
  sampleRate: number;
  /** Cut the audio after this many seconds (the provider's maximum). */
  maxDurationSec?: number;
}

export interface TranscodeResult {
  bytes: Uint8Array;
  sampleRate: number;
  durationSec: number;
}

/**
 * Decodes any container Timbre accepts, mixes to mono, resamples to
 * `sampleRate` and encodes 16-bit PCM WAV. Throws AudioUnreadableError when
 * nothing decodes.
 */
export async function transcodeToWav(
  input: Uint8Array,
  opts: TranscodeOptions,
): Promise<TranscodeResult> {
  const decoded = await decodeAudio(input);
  let samples = resample(decoded.samples, decoded.sampleRate, opts.sampleRate);
  if (opts.maxDurationSec !== undefined) {
    const max = Math.floor(opts.maxDurationSec * opts.sampleRate);
    if (samples.length > max) samples = samples.subarray(0, max);
  }
  return {
    bytes: encodeWav(samples, opts.sampleRate),
    sampleRate: opts.sampleRate,
    durationSec: samples.length / opts.sampleRate,
  };
}
