import { fileTypeFromBuffer } from 'file-type';

export interface SniffResult {
  /** Canonical extension, e.g. `wav`, `mp3`, `m4a`, `png`. */
  ext: string;
  /** MIME type as file-type reports it; note webm is always `video/webm`. */
  mime: string;
}

/**
 * Identifies a file from its first bytes (a few KiB are enough).
 * Returns undefined when the bytes match no known signature (text, empty…).
 */
export async function sniffType(head: Uint8Array): Promise<SniffResult | undefined> {
  if (head.length === 0) return undefined;
  const result = await fileTypeFromBuffer(head);
  return result ? { ext: result.ext, mime: result.mime } : undefined;
}

/** Whether a sniffed type is something we can treat as an audio upload. */
export function isAudioType(type: SniffResult): boolean {
  // file-type labels audio-only webm (and some mp4 audio) as video/*.
  return (
    type.mime.startsWith('audio/') ||
    type.mime === 'video/webm' ||
    type.mime === 'video/mp4' ||
    type.mime === 'video/ogg'
  );
}
