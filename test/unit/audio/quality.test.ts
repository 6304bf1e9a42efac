import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { assessBytes, assessQuality } from '../../../src/audio/quality.js';
import { audioSamples, fixture } from '../../helpers/fixtures.js';

describe('assessBytes verdict table', () => {
  it.each(audioSamples().map((s) => [s.entry.file, s] as const))(
    '%s gets its expected verdict',
    async (_name, { entry, path }) => {
      const report = await assessBytes(new Uint8Array(await readFile(path)), entry.extension);
      const accepted = [entry.expected_verdict, ...(entry.alternative_verdicts ?? [])];
      expect(accepted).toContain(report.verdict);
      expect(report.score).toBeGreaterThanOrEqual(0);
      expect(report.score).toBeLessThanOrEqual(100);
      if (report.verdict === 'good') expect(report.score).toBeGreaterThanOrEqual(60);
      else {
        expect(report.score).toBeLessThanOrEqual(40);
        expect(report.advice.length).toBeGreaterThan(0);
      }
    },
  );
});

describe('assessQuality advice', () => {
  async function decoded(file: string) {
    const report = await assessBytes(new Uint8Array(await readFile(fixture(file))));
    if (!report.decoded) throw new Error(`${file} did not decode`);
    return report.decoded;
  }

  it('asks to lower the gain and names the clipped share', async () => {
    const pcm = await decoded('speech/spk02_m_en_jfk_16k_mono.wav');
    const loud = Float32Array.from(pcm.samples, (s) => Math.max(-1, Math.min(1, s * 8)));
    const report = assessQuality({ samples: loud, sampleRate: pcm.sampleRate });
    expect(report.verdict).toBe('clipped');
    expect(report.advice[0]).toMatch(
      /^Lower the input gain: \d+(\.\d)?% of samples are clipped\.$/,
    );
    expect(report.metrics?.clippedRatio).toBeGreaterThan(0.005);
  });

  it('asks for at least 10 seconds when the sample is short', async () => {
    const pcm = await decoded('speech/spk01_m_en_librivox_16k_mono.wav');
    const report = assessQuality({
      samples: pcm.samples.subarray(0, pcm.sampleRate * 2),
      sampleRate: pcm.sampleRate,
    });
    expect(report.verdict).toBe('too_short');
    expect(report.advice[0]).toMatch(/^Record at least 10 seconds of continuous speech/);
  });

  it('calls speech 45 dB down too quiet', async () => {
    const pcm = await decoded('speech/spk01_m_en_librivox_16k_mono.wav');
    const quiet = Float32Array.from(pcm.samples, (s) => s * 10 ** (-45 / 20));
    const report = assessQuality({ samples: quiet, sampleRate: pcm.sampleRate });
    expect(report.verdict).toBe('too_quiet');
    expect(report.advice[0]).toMatch(/Raise the input gain/);
  });

  it('reports the measured metrics of a good sample', async () => {
    const pcm = await decoded('speech/spk01_m_en_librivox_16k_mono.wav');
    const report = assessQuality(pcm);
    expect(report.verdict).toBe('good');
    expect(report.metrics).toMatchObject({ clippedRatio: 0 });
    expect(report.metrics!.durationSec).toBeCloseTo(18.45, 1);
    expect(report.metrics!.rmsDbfs).toBeCloseTo(-23.8, 0);
    expect(report.metrics!.peakDbfs).toBeCloseTo(-4.65, 0);
    expect(report.metrics!.snrDb).toBeGreaterThan(20);
    expect(report.metrics!.speechSec).toBeGreaterThan(10);
  });

  it('words corrupt and wrong-type results for a person', async () => {
    const png = await assessBytes(
      new Uint8Array(await readFile(fixture('bad/png_renamed.mp3'))),
      'mp3',
    );
    expect(png.verdict).toBe('wrong_type');
    expect(png.advice[0]).toMatch(/named \.mp3\) is a PNG file/);
    const cut = await assessBytes(
      new Uint8Array(await readFile(fixture('bad/corrupt_truncated.mp3'))),
      'mp3',
    );
    expect(cut.verdict).toBe('corrupt');
    expect(cut.advice[0]).toMatch(/truncated/);
  });
});
