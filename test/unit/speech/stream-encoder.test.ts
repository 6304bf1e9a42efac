import { describe, expect, it } from 'vitest';
import {
  bundledFfmpegPath,
  SpeechEncoder,
  SPEECH_FORMATS,
} from '../../../src/audio/stream-encoder.js';
import { decodeSpeech } from '../../integration/openai/decode.js';

const RATE = 24_000;

/** `seconds` of a 220 Hz tone as 16-bit LE PCM, in chunks of 0.1 s. */
async function* tone(seconds: number): AsyncIterable<Uint8Array> {
  const total = Math.round(seconds * RATE);
  const per = RATE / 10;
  for (let start = 0; start < total; start += per) {
    const n = Math.min(per, total - start);
    const b = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++)
      b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 220 * (start + i)) / RATE)), i * 2);
    yield b;
  }
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

const encoder = (over: Partial<ConstructorParameters<typeof SpeechEncoder>[0]> = {}) =>
  new SpeechEncoder({
    ffmpegPath: bundledFfmpegPath(),
    maxConcurrent: 4,
    timeoutMs: 30_000,
    ...over,
  });

describe('SpeechEncoder', () => {
  it.each(SPEECH_FORMATS)(
    '%s: 1.5 s of PCM becomes a decodable 1.5 s file at 24 kHz',
    async (format) => {
      const enc = encoder();
      const release = enc.reserve(format);
      const bytes = await collect(enc.encode(tone(1.5), format, { sampleRate: RATE }));
      release();
      const audio = await decodeSpeech(bytes, format);
      expect(audio.sampleRate).toBe(RATE);
      expect(audio.channels).toBe(1);
      expect(Math.abs(audio.durationSec - 1.5)).toBeLessThan(0.1);
      expect(enc.active).toBe(0);
    },
  );

  it('a tempo of 2 halves the length (for wav too, through ffmpeg)', async () => {
    const bytes = await collect(encoder().encode(tone(2), 'wav', { sampleRate: RATE, tempo: 2 }));
    const audio = await decodeSpeech(bytes, 'wav');
    expect(Math.abs(audio.durationSec - 1)).toBeLessThan(0.1);
  });

  it('refuses an encoder past the concurrency bound with 503 naming the setting', () => {
    const enc = encoder({ maxConcurrent: 1 });
    const release = enc.reserve('mp3');
    expect(() => enc.reserve('opus')).toThrow(/busy/);
    try {
      enc.reserve('aac');
    } catch (err) {
      expect(err).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
      expect((err as { info: string }).info).toContain('ENCODER_CONCURRENCY');
    }
    // wav and pcm need no encoder process.
    expect(() => enc.reserve('wav')).not.toThrow();
    release();
    release();
    expect(enc.active).toBe(0);
    expect(() => enc.reserve('mp3')).not.toThrow();
  });

  it('kills an encoder past its time limit and says so', async () => {
    async function* stalled(): AsyncIterable<Uint8Array> {
      yield Buffer.alloc(4800);
      await new Promise((r) => setTimeout(r, 5_000));
    }
    const enc = encoder({ timeoutMs: 300 });
    await expect(collect(enc.encode(stalled(), 'mp3', { sampleRate: RATE }))).rejects.toThrow(
      /ran past 300 ms/,
    );
  });

  it("reports ffmpeg's own message when it fails", async () => {
    const enc = encoder();
    // 7 Hz is no rate libmp3lame can encode: ffmpeg exits with an error on stderr.
    await expect(collect(enc.encode(tone(0.2), 'mp3', { sampleRate: 7 }))).rejects.toThrow(
      /mp3 encoder failed \(exit \d+\): .+/,
    );
  });

  it('a missing ffmpeg binary fails clearly', async () => {
    const enc = encoder({ ffmpegPath: '/nonexistent/ffmpeg' });
    await expect(collect(enc.encode(tone(0.2), 'flac', { sampleRate: RATE }))).rejects.toThrow(
      /ENOENT/,
    );
  });
});
