import { describe, expect, it } from 'vitest';

import { pitchTrackMedian } from '../../../src/audio/analysis.js';
import { decodeAudio } from '../../../src/audio/decode.js';
import { encodeWav } from '../../../src/audio/encode.js';
import { EspeakEngine, parseEspeakWav } from '../../../src/providers/offline/espeak.js';
import { semitones } from '../../../src/providers/offline/style.js';

const TEXT = 'The weather is lovely today, shall we go for a walk in the park?';

describe('EspeakEngine', () => {
  it('speaks many utterances on one module instance, each with its own voice and pitch', async () => {
    const engine = new EspeakEngine();
    const low = await engine.synth({ text: TEXT, voice: 'en-us+m3', pitch: 10, speed: 175 });
    const high = await engine.synth({ text: TEXT, voice: 'en-us+m3', pitch: 90, speed: 175 });
    const chinese = await engine.synth({
      text: '今天天气怎么样？',
      voice: 'cmn+f3',
      pitch: 50,
      speed: 175,
    });
    const fast = await engine.synth({ text: TEXT, voice: 'en-us+m3', pitch: 10, speed: 350 });
    expect(engine.instancesBuilt).toBe(1);
    expect(low.sampleRate).toBe(22050);
    // Each run read its own options: pitch, voice and speed all took effect.
    const f0Low = pitchTrackMedian(low, 20)!;
    const f0High = pitchTrackMedian(high, 20)!;
    expect(semitones(f0High, f0Low)).toBeGreaterThan(4);
    expect(chinese.samples.length).toBeGreaterThan(0.5 * chinese.sampleRate);
    expect(chinese.samples.length).toBeLessThan(low.samples.length);
    expect(fast.samples.length / low.samples.length).toBeLessThan(0.7);
  });

  it('speaks on a reused instance as on a fresh one (up to the phase of espeak’s pitch flutter)', async () => {
    const request = { text: TEXT, voice: 'en-us+m3', pitch: 40, speed: 175 };
    const fresh = await new EspeakEngine().synth(request);
    const engine = new EspeakEngine();
    await engine.synth({ text: 'Something else first.', voice: 'en-us+f3', pitch: 80, speed: 300 });
    const reused = await engine.synth(request);
    expect(engine.instancesBuilt).toBe(1);
    expect(Math.abs(reused.samples.length - fresh.samples.length)).toBeLessThan(
      0.01 * fresh.samples.length,
    );
    expect(
      Math.abs(semitones(pitchTrackMedian(reused, 20)!, pitchTrackMedian(fresh, 20)!)),
    ).toBeLessThan(1);
  });

  it('reads 16-bit mono WAV as the general decoder does, and declines anything else', async () => {
    const pcm = Float32Array.from({ length: 2205 }, (_, i) => Math.sin(i / 7) * 0.5);
    const wav = encodeWav(pcm, 22050);
    const direct = parseEspeakWav(wav)!;
    const general = await decodeAudio(wav);
    expect(direct.sampleRate).toBe(22050);
    expect(direct.samples.length).toBe(general.samples.length);
    for (let i = 0; i < pcm.length; i += 97)
      expect(direct.samples[i]).toBeCloseTo(general.samples[i]!, 4);
    expect(parseEspeakWav(new Uint8Array(64))).toBeUndefined();
  });
});
