import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { analyzeSpeech } from '../../../src/audio/analysis.js';
import { decodeAudio } from '../../../src/audio/decode.js';
import { fixture, hasSharedData, sharedDataDir } from '../../helpers/fixtures.js';

async function profileOf(file: string) {
  return analyzeSpeech(await decodeAudio(new Uint8Array(await readFile(file))));
}

describe('analyzeSpeech', () => {
  it('finds spk01 (male reader, ~100 Hz) in a low male range', async () => {
    const a = await profileOf(fixture('speech/spk01_m_en_librivox_16k_mono.wav'));
    expect(a.f0MedianHz).toBeGreaterThan(85);
    expect(a.f0MedianHz).toBeLessThan(125);
    expect(a.f0P10Hz!).toBeLessThan(a.f0MedianHz!);
    expect(a.f0P90Hz!).toBeGreaterThan(a.f0MedianHz!);
    expect(a.voicedRatio).toBeGreaterThan(0.3);
    expect(a.speakingRate).toBeGreaterThan(2.5);
    expect(a.speakingRate).toBeLessThan(6);
    expect(a.spectralCentroidHz).toBeGreaterThan(500);
    expect(a.spectralCentroidHz).toBeLessThan(2000);
  });

  it('finds spk02 (JFK, raised declamatory voice) below the top of the male range', async () => {
    // An outdoor address: his pitch is high for a man (~250 Hz), but it is
    // the real fundamental, not an octave error (the doubled period correlates worse).
    const a = await profileOf(fixture('speech/spk02_m_en_jfk_16k_mono.wav'));
    expect(a.f0MedianHz).toBeGreaterThan(180);
    expect(a.f0MedianHz).toBeLessThan(280);
  });

  it('gives the same profile for one recording in different formats', async () => {
    const wav = await profileOf(fixture('speech/spk01_m_en_librivox_16k_mono.wav'));
    for (const ext of ['mp3', 'ogg', 'm4a', 'aac']) {
      const other = await profileOf(fixture(`speech/spk01_m_en_librivox.${ext}`));
      expect(Math.abs(12 * Math.log2(other.f0MedianHz! / wav.f0MedianHz!))).toBeLessThan(0.5);
    }
  });

  it('finds no pitch in silence or white noise', async () => {
    expect((await profileOf(fixture('bad/silence_10s.wav'))).f0MedianHz).toBeNull();
    const noise = await profileOf(fixture('bad/white_noise_10s.wav'));
    expect(noise.voicedRatio).toBeLessThan(0.05);
    expect(noise.spectralFlatness).toBeGreaterThan(0.3);
  });

  it.runIf(hasSharedData)('puts the female speakers clearly above the male reader', async () => {
    const male = await profileOf(fixture('speech/spk01_m_en_librivox_16k_mono.wav'));
    for (const file of ['speech/spk03_f_en_allison_a.flac', 'speech/spk05_f_ru_ivrvoice.flac']) {
      const female = await profileOf(path.join(sharedDataDir, file));
      expect(female.f0MedianHz).toBeGreaterThan(165);
      expect(12 * Math.log2(female.f0MedianHz! / male.f0MedianHz!)).toBeGreaterThan(5);
    }
  });
});
