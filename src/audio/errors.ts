/** Why bytes could not be read as audio. */
export type AudioUnreadableReason =
  'empty' | 'unknown_format' | 'malformed' | 'truncated' | 'no_audio';

/** Thrown when bytes claim to be audio but cannot be parsed or decoded. */
export class AudioUnreadableError extends Error {
  override readonly name = 'AudioUnreadableError';
  constructor(
    readonly reason: AudioUnreadableReason,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/**
 * Thrown when audio plays longer than the caller's bound. Decoding stops at
 * the bound, so `playsAtLeastSec` is a lower bound, not the true length.
 */
export class AudioTooLongError extends Error {
  override readonly name = 'AudioTooLongError';
  constructor(
    readonly limitSec: number,
    readonly playsAtLeastSec: number,
  ) {
    super(`The audio plays longer than ${Math.round(limitSec)} s.`);
  }
}
