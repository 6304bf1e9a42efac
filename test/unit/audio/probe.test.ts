import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { AudioUnreadableError } from '../../../src/audio/errors.js';
import { probeAudio } from '../../../src/audio/probe.js';
import { isAudioType, sniffType } from '../../../src/audio/sniff.js';
import { audioSamples, fixture } from '../../helpers/fixtures.js';

/** The manifest uses ffmpeg's names; the probe reports short ones. */
const CONTAINER: Record<string, string> = { 'mov,mp4,m4a,3gp,3g2,mj2': 'm4a' };
const CODEC: Record<string, string> = { 'aac (LC)': 'aac' };

const readable = audioSamples().filter(
  ({ entry }) => entry.category !== 'bad' && entry.category !== 'image' && entry.codec !== null,
);

describe('probeAudio', () => {
  it('covers every upload format among the samples', () => {
    expect(new Set(readable.map(({ entry }) => entry.extension))).toEqual(
      new Set(['wav', 'mp3', 'ogg', 'flac', 'm4a', 'aac']),
    );
  });

  it.each(readable.map((s) => [s.entry.file, s] as const))(
    'reads container, codec, rate, channels and duration of %s',
    async (_name, { entry, path }) => {
      const probe = await probeAudio(path);
      expect(probe.container).toBe(CONTAINER[entry.container!] ?? entry.container);
      expect(probe.codec).toBe(CODEC[entry.codec!] ?? entry.codec);
      expect(probe.sampleRate).toBe(entry.sample_rate_hz);
      expect(probe.channels).toBe(entry.channels);
      expect(Math.abs(probe.durationSec - entry.duration_s!)).toBeLessThanOrEqual(
        Math.max(0.15, 0.01 * entry.duration_s!),
      );
    },
  );

  it('accepts bytes as well as a path', async () => {
    const bytes = new Uint8Array(await readFile(fixture('speech/spk02_m_en_jfk.mp3')));
    const probe = await probeAudio(bytes);
    expect(probe).toMatchObject({ container: 'mp3', codec: 'mp3', sampleRate: 44100, channels: 1 });
    expect(probe.bitrate).toBe(128000);
  });

  it.each([
    ['bad/empty.wav', 'empty'],
    ['bad/wrong_header_sizes.wav', 'truncated'],
    ['bad/text_renamed.wav', 'unknown_format'],
    ['bad/png_renamed.mp3', 'malformed'],
  ])('throws AudioUnreadableError for %s', async (file, reason) => {
    const error = await probeAudio(fixture(file)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioUnreadableError);
    expect((error as AudioUnreadableError).reason).toBe(reason);
  });
});

describe('sniffType', () => {
  it.each([
    ['speech/spk01_m_en_librivox_16k_mono.wav', 'wav', 'audio/wav'],
    ['speech/spk01_m_en_librivox.mp3', 'mp3', 'audio/mpeg'],
    ['speech/spk01_m_en_librivox.ogg', 'ogg', 'audio/ogg'],
    ['speech/spk01_m_en_librivox.flac', 'flac', 'audio/flac'],
    ['speech/spk01_m_en_librivox.m4a', 'm4a', 'audio/x-m4a'],
    ['speech/spk01_m_en_librivox.aac', 'aac', 'audio/aac'],
    ['images/sample_256x256.png', 'png', 'image/png'],
  ])('recognises %s from its first bytes', async (file, ext, mime) => {
    const head = new Uint8Array(await readFile(fixture(file))).subarray(0, 4100);
    expect(await sniffType(head)).toEqual({ ext, mime });
  });

  it('reports nothing for text and for empty input', async () => {
    expect(
      await sniffType(new Uint8Array(await readFile(fixture('bad/text_renamed.wav')))),
    ).toBeUndefined();
    expect(await sniffType(new Uint8Array(0))).toBeUndefined();
  });

  it('treats webm (reported as video/webm) as audio but not images', () => {
    expect(isAudioType({ ext: 'webm', mime: 'video/webm' })).toBe(true);
    expect(isAudioType({ ext: 'png', mime: 'image/png' })).toBe(false);
  });
});
