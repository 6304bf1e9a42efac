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
