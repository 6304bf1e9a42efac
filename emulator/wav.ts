/** Small RIFF/WAVE helpers: write PCM WAVs, parse and sanity-check a WAV header. */

export interface WavFormat {
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  dataOffset: number;
  dataSize: number;
  riffSize: number;
}

/** 44-byte canonical header for 16-bit PCM. Pass 0xFFFFFFFF sizes for a stream of unknown length. */
export function wavHeader(
  sampleRate: number,
  channels: number,
  dataBytes: number,
  bitsPerSample = 16,
): Buffer {
  const b = Buffer.alloc(44);
  const blockAlign = channels * (bitsPerSample / 8);
  const streaming = dataBytes >= 0xffffffff - 36;
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(streaming ? 0xffffffff : 36 + dataBytes, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * blockAlign, 28);
  b.writeUInt16LE(blockAlign, 32);
  b.writeUInt16LE(bitsPerSample, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(streaming ? 0xffffffff : dataBytes, 40);
  return b;
}

/** Float samples in [-1, 1] to 16-bit little-endian PCM. */
export function floatToPcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    out.writeInt16LE(Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), i * 2);
  }
  return out;
}

/** A complete 16-bit PCM WAV; `channels` are interleaved. */
export function encodeWav(channels: Float32Array[], sampleRate: number): Buffer {
  const n = channels[0]?.length ?? 0;
  const c = channels.length;
  const data = Buffer.alloc(n * c * 2);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const s = Math.max(-1, Math.min(1, channels[ch]![i]!));
      data.writeInt16LE(Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), (i * c + ch) * 2);
    }
  }
  return Buffer.concat([wavHeader(sampleRate, c, data.length), data]);
}

/**
 * Parse a RIFF/WAVE header. Returns an error string when the chunk structure is broken
 * (bad RIFF size, a data chunk longer than the file, no fmt/data chunk).
 */
export function parseWav(buf: Uint8Array): WavFormat | { error: string } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (
    b.length < 12 ||
    b.toString('ascii', 0, 4) !== 'RIFF' ||
    b.toString('ascii', 8, 12) !== 'WAVE'
  )
    return { error: 'not a RIFF/WAVE file' };
  const riffSize = b.readUInt32LE(4);
  let off = 12;
  let fmt: Omit<WavFormat, 'dataOffset' | 'dataSize' | 'riffSize'> | undefined;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > b.length) return { error: 'truncated fmt chunk' };
      let audioFormat = b.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE: the real format tag is the first 2 bytes of the sub-format GUID.
      if (audioFormat === 0xfffe && size >= 40 && body + 26 <= b.length)
        audioFormat = b.readUInt16LE(body + 24);
      fmt = {
        audioFormat,
        channels: b.readUInt16LE(body + 2),
        sampleRate: b.readUInt32LE(body + 4),
        bitsPerSample: b.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) return { error: 'data chunk before fmt chunk' };
      if (body + size > b.length) return { error: 'data chunk size exceeds the file' };
      if (Math.abs(riffSize + 8 - b.length) > 1)
        return { error: 'RIFF size does not match the file size' };
      return { ...fmt, dataOffset: body, dataSize: size, riffSize };
    }
    off = body + size + (size % 2);
  }
  return { error: fmt ? 'no data chunk' : 'no fmt chunk' };
}
