import { describe, expect, it } from 'vitest';
import type { QualityReport } from '../../../src/audio/quality.js';
import { DASHSCOPE_SAMPLE_REQUIREMENTS } from '../../../src/providers/dashscope/dashscope-provider.js';
import { inProcessRequirements } from '../../../src/providers/provider.js';
import { fitsAsIs } from '../../../src/services/sample-rendition.js';
import { sampleVerdict } from '../../../src/services/sample-verdict.js';

const report = (verdict: QualityReport['verdict'], durationSec = 12): QualityReport => ({
  verdict,
  score: verdict === 'good' ? 90 : 40,
  advice: [`advice for ${verdict}`],
  metrics: { durationSec } as QualityReport['metrics'],
});

describe('one verdict per provider and model', () => {
  const offline = inProcessRequirements(['good'], { maxBytes: 1e6 });

  it('DashScope takes a clipped sample; the offline engine does not', () => {
    expect(sampleVerdict(report('clipped'), DASHSCOPE_SAMPLE_REQUIREMENTS).usable).toBe(true);
    const off = sampleVerdict(report('clipped'), offline);
    expect(off).toEqual({ usable: false, reason: 'advice for clipped' });
  });

  it.each(['too_short', 'silent', 'noisy', 'not_speech', 'too_quiet'] as const)(
    'no provider takes a %s sample',
    (v) => {
      expect(sampleVerdict(report(v), DASHSCOPE_SAMPLE_REQUIREMENTS).usable).toBe(false);
      expect(sampleVerdict(report(v), offline).usable).toBe(false);
    },
  );

  it("refuses a good sample outside the provider's duration range, saying so", () => {
    const r = sampleVerdict(report('good', 61), DASHSCOPE_SAMPLE_REQUIREMENTS);
    expect(r.usable).toBe(false);
    expect(r.reason).toMatch(/at most 60 s/);
  });
});

describe('which uploads DashScope takes as they are', () => {
  const base = { size: 100_000, audio_duration: 12 };
  it.each([
    [
      '16-bit WAV at 16 kHz',
      { ext: 'wav', audio_codec: 'pcm_s16le', audio_sample_rate: 16000 },
      true,
    ],
    ['24-bit WAV', { ext: 'wav', audio_codec: 'pcm_s24le', audio_sample_rate: 48000 }, false],
    ['8 kHz WAV', { ext: 'wav', audio_codec: 'pcm_s16le', audio_sample_rate: 8000 }, false],
    ['MP3 at 44.1 kHz', { ext: 'mp3', audio_codec: 'mp3', audio_sample_rate: 44100 }, true],
    ['M4A', { ext: 'm4a', audio_codec: 'aac', audio_sample_rate: 44100 }, true],
    ['FLAC', { ext: 'flac', audio_codec: 'flac', audio_sample_rate: 44100 }, false],
    ['OGG', { ext: 'ogg', audio_codec: 'vorbis', audio_sample_rate: 44100 }, false],
    ['ADTS AAC', { ext: 'aac', audio_codec: 'aac', audio_sample_rate: 44100 }, false],
  ] as const)('%s → %s', (_name, file, fits) => {
    expect(fitsAsIs({ ...base, ...file }, DASHSCOPE_SAMPLE_REQUIREMENTS)).toBe(fits);
  });

  it('an MP3 over 10 MB gets a rendition', () => {
    const big = {
      ext: 'mp3',
      audio_codec: 'mp3',
      audio_sample_rate: 44100,
      size: 11 * 2 ** 20,
      audio_duration: 50,
    };
    expect(fitsAsIs(big, DASHSCOPE_SAMPLE_REQUIREMENTS)).toBe(false);
  });
});
