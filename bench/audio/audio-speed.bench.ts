/**
 * Speed of the offline audio work on one core: the quality assessment of the
 * fixture speech files and the offline engine's synthesis of a long text.
 *
 *   npx tsx bench/audio/audio-speed.bench.ts
 *   BENCH_CHARS=400 BENCH_RUNS=1 npx tsx bench/audio/audio-speed.bench.ts   # quick run
 *
 * Assessment runs `assessBytes` (sniff, probe, decode, analysis, verdict: the
 * whole `assess_audio` task) in this thread: one pass over every file to
 * warm up, then BENCH_RUNS times per file (median). Synthesis runs through the speech
 * service (sentence split, first sentence alone) and the offline provider on
 * a CPU pool of ONE thread, to raw PCM at 24 kHz (no ffmpeg), after a warm-up
 * utterance (WASM compile, espeak calibration); it reports the time to the
 * first audio chunk and the whole text's x real time.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { pino } from 'pino';

import { assessBytes } from '../../src/audio/quality.js';
import { SpeechEncoder } from '../../src/audio/stream-encoder.js';
import { OfflineVoiceProvider } from '../../src/providers/offline/index.js';
import { SpeechService } from '../../src/services/speech.service.js';
import { AudioWork } from '../../src/workers/audio-work.js';
import { CpuPool } from '../../src/workers/cpu-pool.js';

const CHARS = Number(process.env.BENCH_CHARS ?? 2000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const SPEECH_DIR = path.resolve(import.meta.dirname, '../../test/fixtures/audio/speech');
const OUTPUT_RATE = 24_000;

/** Targets from the issue. */
const ASSESS_TARGET_X = 100;
const SYNTH_TARGET_X = 40;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall and process CPU seconds of `work`. */
async function timed<T>(
  work: () => Promise<T>,
): Promise<{ value: T; wallSec: number; cpuSec: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await work();
  const wallSec = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { value, wallSec, cpuSec: (cpu.user + cpu.system) / 1e6 };
}

const SENTENCES = [
  'The weather is lovely today, so we walked along the river to the old mill.',
  'It had rained for a week, and the path was still soft under our feet.',
  'A heron stood in the shallows and did not move as we passed.',
  'Further on, the children found a bridge made of three flat stones.',
  'We ate our lunch on the bank and watched the clouds drift east.',
  'By four o’clock the wind had turned cold, and we started back home.',
];

function longText(chars: number): string {
  let text = '';
  for (let i = 0; text.length < chars; i++) text += `${SENTENCES[i % SENTENCES.length]} `;
  return text.trim();
}

interface Row {
  what: string;
  audioSec: number;
  wallSec: number;
  /** CPU seconds of the whole process (all threads) over the same span: less sensitive to other load. */
  cpuSec: number;
  firstAudioSec?: number;
  target: string;
  met: boolean;
}

async function assessment(): Promise<Row[]> {
  const rows: Row[] = [];
  const files = (await readdir(SPEECH_DIR)).sort();
  const samples = await Promise.all(
    files.map(async (file) => new Uint8Array(await readFile(path.join(SPEECH_DIR, file)))),
  );
  // One pass over every file first: decoder modules and the analysis code are warm for all.
  const verdicts = [];
  for (const bytes of samples) verdicts.push(await assessBytes(bytes));
  for (const [i, file] of files.entries()) {
    const bytes = samples[i]!;
    const warm = verdicts[i]!;
    const runs = [];
    for (let r = 0; r < RUNS; r++) runs.push(await timed(() => assessBytes(bytes)));
    const audioSec = warm.metrics?.durationSec ?? 0;
    const wallSec = median(runs.map((r) => r.wallSec));
    rows.push({
      what: `assess ${file} (${warm.verdict})`,
      audioSec,
      wallSec,
      cpuSec: median(runs.map((r) => r.cpuSec)),
      target: `≥ ${ASSESS_TARGET_X}x`,
      met: audioSec / wallSec >= ASSESS_TARGET_X,
    });
  }
  return rows;
}

async function synthesis(): Promise<Row[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'timbre-bench-audio-'));
  const cpu = new CpuPool({ threads: 1, maxQueue: 16, taskTimeoutMs: 300_000, taskMemoryMb: 512 });
  try {
    const provider = new OfflineVoiceProvider({
      dir,
      cpu,
      audio: new AudioWork(cpu, { maxSampleSec: 120 }),
    });
    const sample = new Uint8Array(
      await readFile(path.join(SPEECH_DIR, 'spk01_m_en_librivox.flac')),
    );
    const voice = await provider.createVoice({
      sampleUrl: 'http://unused.invalid/',
      readSample: async () => sample,
      targetModel: provider.defaultTargetModel,
      prefix: 'bench',
    });
    const speech = new SpeechService(
      provider,
      new SpeechEncoder({ ffmpegPath: 'ffmpeg', maxConcurrent: 1, timeoutMs: 300_000 }),
      { timeoutSec: 600 },
      pino({ level: 'silent' }),
    );
    const speak = async (text: string) => {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const r = await speech.speak({
        voice: {
          id: 'bench',
          call_name: voice.id,
          target_model: voice.targetModel ?? provider.defaultTargetModel,
          provider: provider.name,
        },
        text,
        format: 'pcm',
        sampleRate: OUTPUT_RATE,
        limit: { maxChars: 100_000, setting: 'none', field: 'text' },
      });
      let first: number | undefined;
      let bytes = 0;
      for await (const chunk of r.stream) {
        first ??= (performance.now() - t0) / 1000;
        bytes += chunk.length;
      }
      const cpu = process.cpuUsage(cpu0);
      return {
        wallSec: (performance.now() - t0) / 1000,
        cpuSec: (cpu.user + cpu.system) / 1e6,
        firstSec: first ?? NaN,
        audioSec: bytes / 2 / OUTPUT_RATE,
        segments: r.segments,
      };
    };
    await speak(SENTENCES[0]!);
    const text = longText(CHARS);
    const runs = [];
    for (let r = 0; r < RUNS; r++) runs.push(await speak(text));
    const wallSec = median(runs.map((r) => r.wallSec));
    const firstAudioSec = median(runs.map((r) => r.firstSec));
    const { audioSec, segments } = runs[0]!;
    return [
      {
        what: `offline synthesis, ${text.length} chars in ${segments} pieces`,
        audioSec,
        wallSec,
        cpuSec: median(runs.map((r) => r.cpuSec)),
        firstAudioSec,
        target: `≥ ${SYNTH_TARGET_X}x, first audio before the end`,
        met: audioSec / wallSec >= SYNTH_TARGET_X && firstAudioSec < wallSec,
      },
    ];
  } finally {
    await cpu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function table(rows: Row[]): string {
  const head = [
    'what',
    'audio s',
    'wall s',
    'x real time',
    'CPU s',
    'x per CPU s',
    'first audio s',
    'target',
    'met',
  ];
  const body = rows.map((r) => [
    r.what,
    r.audioSec.toFixed(2),
    r.wallSec.toFixed(3),
    `${(r.audioSec / r.wallSec).toFixed(1)}x`,
    r.cpuSec.toFixed(3),
    `${(r.audioSec / r.cpuSec).toFixed(1)}x`,
    r.firstAudioSec === undefined ? '—' : r.firstAudioSec.toFixed(3),
    r.target,
    r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const rows = [...(await assessment()), ...(await synthesis())];
console.log(
  `runs per figure: ${RUNS} (median), synthesis text ${CHARS} chars, one thread; ` +
    '"met" judges the wall-clock figure; the CPU columns count every thread of the process\n',
);
console.log(table(rows));
