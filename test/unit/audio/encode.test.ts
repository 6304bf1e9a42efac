import { describe, expect, it } from 'vitest';

import { analyzeSpeech } from '../../../src/audio/analysis.js';
import { decodeAudio, mixToMono, resample } from '../../../src/audio/decode.js';
import { encodeMp3, encodePcm16, encodeWav, toOutputRate } from '../../../src/audio/encode.js';
import { probeAudio } from '../../../src/audio/probe.js';

function tone(freq: number, sampleRate: number, seconds: number, amp = 0.5): Float32Array {
  return Float32Array.from(
    { length: Math.round(sampleRate * seconds) },
    (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / sampleRate),
  );
}

function zeroCrossingHz(samples: Float32Array, sampleRate: number): number {
  let n = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) n++;
  return n / (samples.length / sampleRate);
}

describe('encodeWav', () => {
  it('writes 16-bit mono PCM that probes and decodes back', async () => {
    const pcm = tone(220, 16000, 1.5);
    const wav = encodeWav(pcm, 16000);
    expect(wav.length).toBe(44 + pcm.length * 2);
    expect(await probeAudio(wav)).toMatchObject({
      container: 'wav',
      codec: 'pcm_s16le',
      sampleRate: 16000,
      channels: 1,
    });
    const back = await decodeAudio(wav);
    expect(back.samples.length).toBe(pcm.length);
    expect(Math.abs(back.samples[100]! - pcm[100]!)).toBeLessThan(1e-4);
  });

  it('clamps out-of-range samples instead of wrapping', () => {
    const bytes = encodePcm16(Float32Array.of(2, -2));
    const view = new DataView(bytes.buffer);
    expect(view.getInt16(0, true)).toBe(32767);
    expect(view.getInt16(2, true)).toBe(-32768);
  });
});

describe('encodeMp3', () => {
  it('writes MP3 that decodes to the same length and pitch', async () => {
    const pcm = tone(300, 24000, 2);
    const mp3 = await encodeMp3(pcm, 24000);
    expect(await probeAudio(mp3)).toMatchObject({
      container: 'mp3',
      codec: 'mp3',
      sampleRate: 24000,
      channels: 1,
    });
    const back = await decodeAudio(mp3);
    expect(Math.abs(back.durationSec - 2)).toBeLessThan(0.1);
    const middle = back.samples.subarray(back.sampleRate / 2, (back.sampleRate * 3) / 2);
    expect(zeroCrossingHz(middle, back.sampleRate)).toBeCloseTo(300, -1);
  });
});

describe('resample', () => {
  it.each([8000, 16000, 22050, 24000, 44100, 48000])(
    'keeps a 440 Hz tone at 440 Hz when going to %i Hz',
    (rate) => {
      const out = toOutputRate(tone(440, 22050, 1), 22050, rate);
      expect(out.length).toBe(rate);
      expect(zeroCrossingHz(out, rate)).toBeCloseTo(440, -1);
    },
  );

  it('filters content above the new Nyquist frequency when downsampling', () => {
    const out = resample(tone(6000, 48000, 0.5), 48000, 8000);
    const rms = Math.sqrt(out.reduce((s, x) => s + x * x, 0) / out.length);
    expect(rms).toBeLessThan(0.02);
  });

  it('rejects output rates the service does not offer', () => {
    expect(() => toOutputRate(new Float32Array(10), 22050, 11025)).toThrow(RangeError);
  });

  it('leaves a voice profile unchanged when resampling for analysis', () => {
    const voiced = tone(150, 44100, 3, 0.3);
    const a = analyzeSpeech({ samples: voiced, sampleRate: 44100 });
    expect(a.f0MedianHz).toBeCloseTo(150, 0);
  });
});

describe('mixToMono', () => {
  it('averages channels', () => {
    expect(Array.from(mixToMono([Float32Array.of(1, 0), Float32Array.of(0, 1)]))).toEqual([
      0.5, 0.5,
    ]);
  });
});
