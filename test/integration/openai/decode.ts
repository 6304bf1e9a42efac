import decode from 'audio-decode';
import { parseBuffer } from 'music-metadata';

const MIME: Record<string, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
};

/**
 * Decodes speech output of `format` to samples and reads its header: the
 * coded rate and channels (music-metadata; `pcm` is raw 16-bit mono at
 * `pcmRate`) and the duration of the decoded audio (audio-decode).
 */
export async function decodeSpeech(
  bytes: Uint8Array,
  format: string,
  pcmRate = 24000,
): Promise<{ sampleRate: number; channels: number; durationSec: number }> {
  if (format === 'pcm') {
    if (bytes.length % 2) throw new Error('odd PCM length');
    return { sampleRate: pcmRate, channels: 1, durationSec: bytes.length / 2 / pcmRate };
  }
  const meta = await parseBuffer(bytes, { mimeType: MIME[format] });
  const decoded = await decode(bytes);
  const first = decoded.channelData[0];
  if (!first?.length) throw new Error(`no ${format} audio decoded`);
  return {
    // Opus always decodes at 48 kHz; its header keeps the input rate.
    sampleRate: meta.format.sampleRate ?? decoded.sampleRate,
    channels: meta.format.numberOfChannels ?? decoded.channelData.length,
    durationSec: first.length / decoded.sampleRate,
  };
}
