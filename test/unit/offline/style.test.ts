import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { splitText } from '../../../src/providers/offline/offline-provider.js';
import { VoiceStore, type StoredVoice } from '../../../src/providers/offline/store.js';
import {
  buildStyleProfile,
  pitchForF0,
  predictF0,
  type VoiceCalibration,
} from '../../../src/providers/offline/style.js';
import type { SpeechAnalysis } from '../../../src/audio/analysis.js';

const cal: VoiceCalibration = {
  voice: 'en-us+m3',
  points: [
    { p: 0, f0: 78 },
    { p: 50, f0: 106 },
    { p: 99, f0: 172 },
  ],
  rateAtReference: 4.2,
};

describe('espeak pitch calibration', () => {
  it('interpolates between the measured points', () => {
    expect(predictF0(cal, 0)).toBe(78);
    expect(predictF0(cal, 25)).toBeCloseTo(92, 5);
    expect(predictF0(cal, 99)).toBe(172);
  });

  it('picks the -p whose F0 is closest and clamps targets outside the range', () => {
    expect(pitchForF0(cal, 106)).toBe(50);
    expect(predictF0(cal, pitchForF0(cal, 130))).toBeCloseTo(130, -1);
    expect(pitchForF0(cal, 40)).toBe(0);
    expect(pitchForF0(cal, 400)).toBe(99);
  });
});

describe('buildStyleProfile', () => {
  const base = {
    f0P10Hz: 90,
    f0P90Hz: 130,
    voicedRatio: 0.5,
    speakingRate: 4,
    spectralCentroidHz: 900,
  };
  it('chooses the variant from the median F0', () => {
    expect(buildStyleProfile({ ...base, f0MedianHz: 105 } as SpeechAnalysis).variant).toBe('male');
    expect(buildStyleProfile({ ...base, f0MedianHz: 210 } as SpeechAnalysis).variant).toBe(
      'female',
    );
  });
});

describe('splitText', () => {
  it('keeps short text whole', () => {
    expect(splitText('今天天气怎么样？')).toEqual(['今天天气怎么样？']);
  });

  it('splits long text at sentence ends into bounded segments', () => {
    const text = 'This is a sentence that goes on for a while. '.repeat(40);
    const segments = splitText(text);
    expect(segments.length).toBeGreaterThan(1);
    for (const s of segments) expect(s.length).toBeLessThanOrEqual(400);
    expect(segments.join(' ').replace(/\s+/g, ' ')).toBe(text.trim().replace(/\s+/g, ' '));
  });

  it('cuts a single overlong sentence at spaces', () => {
    const segments = splitText('word '.repeat(300));
    expect(segments.every((s) => s.length <= 400 && !s.startsWith(' '))).toBe(true);
    expect(segments.join(' ').split(' ').length).toBe(300);
  });
});

describe('VoiceStore', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  const voice = (id: string, createdAt: string): StoredVoice => ({
    schema: 1,
    id,
    prefix: id.split('-')[1]!,
    targetModel: 'offline-style-v1',
    createdAt,
    method: 'style-match',
    description: 'test',
    profile: {
      f0MedianHz: 100,
      f0P10Hz: 80,
      f0P90Hz: 120,
      voicedRatio: 0.5,
      speakingRate: 4,
      spectralCentroidHz: 900,
      variant: 'male',
    },
    sample: {
      bytes: 1,
      sha256: '0',
      container: 'wav',
      codec: 'pcm_s16le',
      sampleRate: 16000,
      channels: 1,
      durationSec: 10,
      qualityScore: 90,
    },
  });

  it('writes atomically, lists oldest first and forgets deleted voices', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'offline-store-'));
    dirs.push(dir);
    const store = new VoiceStore(path.join(dir, 'voices'));
    const a = voice(`offline-abc-${'a'.repeat(32)}`, '2026-01-02T00:00:00.000Z');
    const b = voice(`offline-abc-${'b'.repeat(32)}`, '2026-01-01T00:00:00.000Z');
    await store.put(a);
    await store.put(b);
    expect((await readdir(path.join(dir, 'voices'))).sort()).toEqual([
      `${a.id}.json`,
      `${b.id}.json`,
    ]);
    expect((await store.list()).map((v) => v.id)).toEqual([b.id, a.id]);
    await store.delete(a.id);
    await store.delete(a.id);
    expect(await store.get(a.id)).toBeUndefined();
  });

  it('never turns a foreign id into a path', async () => {
    const store = new VoiceStore(path.join(tmpdir(), 'offline-store-unused'));
    expect(await store.get('../../etc/passwd')).toBeUndefined();
    await expect(
      store.put(voice('offline-x-../../evil', '2026-01-01T00:00:00.000Z')),
    ).rejects.toThrow(/Invalid/);
  });
});
