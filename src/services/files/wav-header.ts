import { AudioUnreadableError } from '../../audio/errors.js';
import type { AudioFacts } from './file-row.js';

/**
 * Reads a PCM WAV's facts from its first bytes and its total size, so an
 * upload's data chunk is never read a second time. Applies the same rules as
 * the full probe (RIFF size and data chunk within the file, a data chunk
 * present). Returns undefined when the head does not settle it (a format
 * other than integer PCM, the data chunk beyond the head): the caller then
 * probes the whole file.
 */
export function wavFromHeader(head: Buffer, size: number): AudioFacts | undefined {
  if (head.length < 12) return undefined;
  const tag = (o: number) => head.toString('latin1', o, o + 4);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return undefined;
  const riffSize = head.readUInt32LE(4);
  if (riffSize < 4 || riffSize + 8 > size + 1) {
    throw new AudioUnreadableError(
      'truncated',
      `The WAV header says ${riffSize + 8} bytes but the file has ${size}: it is damaged or truncated.`,
    );
  }
  let fmt:
    | { format: number; channels: number; sampleRate: number; byteRate: number; bits: number }
    | undefined;
  let offset = 12;
  while (offset + 8 <= head.length) {
    const id = tag(offset);
    const chunk = head.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      if (offset + 8 + 16 > head.length || chunk < 16) return undefined;
      let format = head.readUInt16LE(offset + 8);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first two bytes.
      if (format === 0xfffe) {
        if (chunk < 40 || offset + 8 + 26 > head.length) return undefined;
        format = head.readUInt16LE(offset + 8 + 24);
      }
      fmt = {
        format,
        channels: head.readUInt16LE(offset + 10),
        sampleRate: head.readUInt32LE(offset + 12),
        byteRate: head.readUInt32LE(offset + 16),
        bits: head.readUInt16LE(offset + 22),
      };
    } else if (id === 'data') {
      if (offset + 8 + chunk > size + 1) {
        throw new AudioUnreadableError(
          'truncated',
          'The WAV data chunk runs past the end of the file: it is damaged or truncated.',
        );
      }
      if (!fmt || fmt.format !== 1) return undefined;
      if (!fmt.channels || !fmt.sampleRate || !fmt.byteRate || !fmt.bits) {
        throw new AudioUnreadableError('malformed', 'The audio headers are incomplete or damaged.');
      }
      const duration = chunk / fmt.byteRate;
      if (!(duration > 0)) return undefined;
      return {
        duration,
        codec: `pcm_s${fmt.bits}le`,
        sampleRate: fmt.sampleRate,
        channels: fmt.channels,
      };
    }
    offset += 8 + chunk + (chunk % 2);
  }
  // The data chunk starts past the head (large metadata chunks first): probe it all.
  return undefined;
}
