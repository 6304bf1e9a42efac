import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SpeechEncoder } from '../../../src/audio/stream-encoder.js';
import { OfflineVoiceProvider } from '../../../src/providers/offline/index.js';
import type { ProviderVoice } from '../../../src/providers/provider.js';
import { SpeechService } from '../../../src/services/speech.service.js';
import { AudioWork } from '../../../src/workers/audio-work.js';
import { CpuPool } from '../../../src/workers/cpu-pool.js';
import { fixture } from '../../helpers/fixtures.js';

const SENTENCES = [
  'The weather is lovely today.',
  'We walked along the river to the old mill, where the water runs fast and cold under the wheel.',
  'It had rained for a week, and the path was still soft under our feet as we went.',
  'A heron stood in the shallows and did not move at all while we passed by it slowly.',
  'By four o’clock the wind had turned cold, and we started back home across the fields.',
];

describe('offline speech streams sentence by sentence', () => {
  let dir: string;
  let cpu: CpuPool;
  let provider: OfflineVoiceProvider;
  let voice: ProviderVoice;
  let speech: SpeechService;
  const events: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'offline-stream-'));
    cpu = new CpuPool({
      threads: 1,
      maxQueue: 16,
      taskTimeoutMs: 120_000,
      taskMemoryMb: 256,
      onTask: (task, outcome) => events.push(`${task}:${outcome}`),
    });
    provider = new OfflineVoiceProvider({
      dir,
      cpu,
      audio: new AudioWork(cpu, { maxSampleSec: 120 }),
    });
    const sample = new Uint8Array(await readFile(fixture('speech/spk02_m_en_jfk_16k_mono.wav')));
    voice = await provider.createVoice({
      sampleUrl: 'http://unused.invalid/',
      readSample: async () => sample,
      targetModel: provider.defaultTargetModel,
      prefix: 'stream',
    });
    speech = new SpeechService(
      provider,
      new SpeechEncoder({ ffmpegPath: 'ffmpeg', maxConcurrent: 1, timeoutMs: 120_000 }),
      { timeoutSec: 120 },
      pino({ level: 'silent' }),
    );
  });
  afterAll(async () => {
    await cpu.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the first audio before the last sentence is synthesized', async () => {
    events.length = 0;
    const r = await speech.speak({
      voice: {
        id: 'v',
        call_name: voice.id,
        target_model: voice.targetModel ?? provider.defaultTargetModel,
        provider: provider.name,
      },
      text: SENTENCES.join(' '),
      format: 'pcm',
      sampleRate: 24_000,
      limit: { maxChars: 20_000, setting: 'SYNTH_MAX_CHARS', field: 'text' },
    });
    let bytes = 0;
    for await (const chunk of r.stream) {
      if (bytes === 0) events.push('first audio');
      bytes += chunk.length;
    }
    const rendered = events.filter((e) => e === 'synth_segment:ok').length;
    expect(r.segments).toBeGreaterThanOrEqual(3);
    expect(rendered).toBe(r.segments);
    // Order of events: the first audio reached the reader after the first
    // sentence was rendered and before the last one was.
    const first = events.indexOf('first audio');
    expect(events.slice(0, first).filter((e) => e === 'synth_segment:ok')).toHaveLength(1);
    expect(events.lastIndexOf('synth_segment:ok')).toBeGreaterThan(first);
    expect(bytes / 2 / 24_000).toBeGreaterThan(10);
  });
});
