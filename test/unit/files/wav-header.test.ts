import { describe, expect, it } from 'vitest';
import { AudioUnreadableError } from '../../../src/audio/index.js';
import { wavFromHeader } from '../../../src/services/files/wav-header.js';

/** A PCM WAV header (RIFF, optional LIST, fmt, data) claiming `dataBytes` of samples. */
function wavHead(opts: {
  dataBytes: number;
  rate?: number;
  channels?: number;
  bits?: number;
  format?: number;
  listBytes?: number;
  riffSize?: number;
}): Buffer {
  const { rate = 16000, channels = 1, bits = 16, format = 1, listBytes = 0 } = opts;
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'latin1');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(format, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE((rate * channels * bits) / 8, 16);
  fmt.writeUInt16LE((channels * bits) / 8, 20);
  fmt.writeUInt16LE(bits, 22);
  const list = Buffer.alloc(listBytes ? 8 + listBytes : 0);
  if (listBytes) {
    list.write('LIST', 0, 'latin1');
    list.writeUInt32LE(listBytes, 4);
  }
  const data = Buffer.alloc(8);
  data.write('data', 0, 'latin1');
  data.writeUInt32LE(opts.dataBytes, 4);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(
    opts.riffSize ?? 4 + fmt.length + list.length + data.length + opts.dataBytes,
    4,
  );
  riff.write('WAVE', 8, 'latin1');
  return Buffer.concat([riff, list, fmt, data]);
}

describe('wavFromHeader', () => {
  it('reads duration, rate, channels and codec from the header alone', () => {
    const head = wavHead({ dataBytes: 64000, rate: 16000, channels: 2, bits: 16 });
    expect(wavFromHeader(head, head.length + 64000)).toEqual({
      duration: 1,
      codec: 'pcm_s16le',
      sampleRate: 16000,
      channels: 2,
    });
  });

  it('skips metadata chunks before fmt and data', () => {
    const head = wavHead({ dataBytes: 32000, listBytes: 300 });
    expect(wavFromHeader(head, head.length + 32000)?.duration).toBe(1);
  });

  it('refuses a file shorter than its RIFF size', () => {
    const head = wavHead({ dataBytes: 64000 });
    expect(() => wavFromHeader(head, head.length + 1000)).toThrow(AudioUnreadableError);
  });

  it('refuses a data chunk that runs past the end of the file', () => {
    const head = wavHead({ dataBytes: 64000, riffSize: 36 });
    expect(() => wavFromHeader(head, head.length + 10)).toThrow(/data chunk runs past/);
  });

  it('leaves formats other than integer PCM to the full probe', () => {
    const head = wavHead({ dataBytes: 64000, format: 3, bits: 32 });
    expect(wavFromHeader(head, head.length + 64000)).toBeUndefined();
  });

  it('leaves a data chunk beyond the head to the full probe', () => {
    const head = wavHead({ dataBytes: 64000, listBytes: 70_000 }).subarray(0, 4096);
    expect(wavFromHeader(head, 200_000)).toBeUndefined();
  });

  it('is not fooled by something that is not a WAV', () => {
    expect(wavFromHeader(Buffer.from('ID3\x04 not a wav at all'), 1000)).toBeUndefined();
  });
});
