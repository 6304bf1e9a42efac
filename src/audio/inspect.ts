import { AudioTooLongError, AudioUnreadableError } from './errors.js';
import { decodeProbed, probeAudio, truncation, type ProbeResult } from './probe.js';

/**
 * Formats whose header duration is not read from the stream itself (an MP3
 * Info/Xing frame or a bitrate estimate, FLAC STREAMINFO, an MP4 moov box):
 * a truncated or garbled body still parses, so the decoded length is
 * compared with the header's claim.
 */
const TRUNCATION_CHECKED = new Set(['mp3', 'flac', 'm4a']);

/** Why audio bytes were refused, in a form that crosses a worker boundary. */
export type AudioProblem =
  | { kind: 'unreadable'; reason: AudioUnreadableError['reason']; message: string }
  | { kind: 'too_long'; limitSec: number; playsAtLeastSec: number; message: string };

export type UploadInspection =
  | { ok: true; probe: Omit<ProbeResult, 'detail'>; decodedSec: number }
  | { ok: false; problem: AudioProblem };

/** The {@link AudioProblem} an audio error stands for, or undefined for other errors. */
export function audioProblem(error: unknown): AudioProblem | undefined {
  if (error instanceof AudioTooLongError) {
    return {
      kind: 'too_long',
      limitSec: error.limitSec,
      playsAtLeastSec: error.playsAtLeastSec,
      message: error.message,
    };
  }
  if (error instanceof AudioUnreadableError) {
    return { kind: 'unreadable', reason: error.reason, message: error.message };
  }
  return undefined;
}

/**
 * What an upload is checked for: headers that parse and are plausible, audio
 * that decodes to what the headers promise, and no more than `maxSec` of it
 * (decoding stops there, whatever the headers claim). The duration kept is the
 * decoded one. CPU-heavy: runs in the worker pool.
 */
export async function inspectUpload(
  bytes: Uint8Array,
  limits: { maxSec: number },
): Promise<UploadInspection> {
  try {
    const probe = await probeAudio(bytes, limits);
    const decoded = await decodeProbed(bytes, probe, limits);
    if (TRUNCATION_CHECKED.has(probe.container)) {
      const problem = truncation(probe, decoded, {
        minRatio: 0.9,
        slackSec: 0.5,
        minPromisedSec: 0,
      });
      if (problem) throw new AudioUnreadableError('truncated', problem);
    }
    const { detail: _detail, ...rest } = probe;
    // The headers' duration stands when the content agrees with it; otherwise the content wins.
    const agrees =
      Math.abs(decoded.durationSec - probe.durationSec) <= Math.max(0.5, 0.02 * probe.durationSec);
    return {
      ok: true,
      probe: { ...rest, durationSec: agrees ? probe.durationSec : decoded.durationSec },
      decodedSec: decoded.durationSec,
    };
  } catch (error) {
    const problem = audioProblem(error);
    if (problem) return { ok: false, problem };
    throw error;
  }
}
