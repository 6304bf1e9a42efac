import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { ERRORS } from '../errors.js';

/** The output formats of speech synthesis (OpenAI's set). */
export const SPEECH_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const;
export type SpeechFormat = (typeof SPEECH_FORMATS)[number];

export function isSpeechFormat(v: unknown): v is SpeechFormat {
  return typeof v === 'string' && (SPEECH_FORMATS as readonly string[]).includes(v);
}

/** Content-Type of each format; `pcm` names its rate, as the Timbre route always did. */
export function speechContentType(format: SpeechFormat, sampleRate: number): string {
  switch (format) {
    case 'mp3':
      return 'audio/mpeg';
    case 'opus':
      return 'audio/ogg; codecs=opus';
    case 'aac':
      return 'audio/aac';
    case 'flac':
      return 'audio/flac';
    case 'wav':
      return 'audio/wav';
    case 'pcm':
      return `audio/L16; rate=${sampleRate}; channels=1`;
  }
}

/**
 * The header of a WAV whose length is not known when it starts (a stream):
 * 16-bit mono PCM with the RIFF and data sizes set to 0xFFFFFFFF, the
 * convention streaming servers use; decoders read to the end of the stream.
 */
export function streamingWavHeader(sampleRate: number): Uint8Array {
  const h = new Uint8Array(44);
  const v = new DataView(h.buffer);
  const ascii = (o: number, t: string) => {
    for (let i = 0; i < t.length; i++) h[o + i] = t.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 0xffffffff, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, 0xffffffff, true);
  return h;
}

/** The static ffmpeg of @ffmpeg-installer/ffmpeg (with libmp3lame, libopus, aac, flac). */
export function bundledFfmpegPath(): string {
  const require = createRequire(import.meta.url);
  return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

/** ffmpeg output arguments per format (input is always s16le mono). */
function outputArgs(format: SpeechFormat): string[] {
  switch (format) {
    case 'mp3':
      return ['-c:a', 'libmp3lame', '-b:a', '64k', '-write_xing', '0', '-f', 'mp3'];
    case 'opus':
      return ['-c:a', 'libopus', '-b:a', '32k', '-application', 'voip', '-f', 'ogg'];
    case 'aac':
      return ['-c:a', 'aac', '-b:a', '64k', '-f', 'adts'];
    case 'flac':
      return ['-c:a', 'flac', '-f', 'flac'];
    case 'wav':
    case 'pcm':
      return ['-c:a', 'pcm_s16le', '-f', 's16le'];
  }
}

export interface EncodeOptions {
  sampleRate: number;
  /** Extra tempo change applied by the encoder (0.5–2; 1 = none). */
  tempo?: number;
  /** Aborting kills the encoder; the output then throws. */
  signal?: AbortSignal;
}

export interface EncoderSettings {
  ffmpegPath: string;
  /** Encoders running at once; one more is refused with 503. */
  maxConcurrent: number;
  /** Longest an encoder may run, from spawn to exit. */
  timeoutMs: number;
}

/**
 * Turns a stream of 16-bit little-endian mono PCM into the bytes of a speech
 * format as they are produced. WAV and PCM are written directly; the others
 * (and any tempo change) run through an ffmpeg child process, PCM in on
 * stdin, encoded bytes out on stdout, with a time limit and a bounded number
 * running at once. Its stderr is kept to explain a failure.
 */
export class SpeechEncoder {
  private running = 0;

  constructor(private readonly settings: EncoderSettings) {}

  get active(): number {
    return this.running;
  }

  /**
   * Reserves an encoder slot for one synthesis (call before starting the work,
   * so a busy server answers 503 before any audio is made). Throws 503 with
   * Retry-After when all are busy. The returned function releases it (idempotent).
   */
  reserve(format: SpeechFormat, tempo = 1): () => void {
    if (!needsFfmpeg(format, tempo)) return () => {};
    if (this.running >= this.settings.maxConcurrent) {
      throw ERRORS.unavailable('All audio encoders are busy', {
        info: `at most ${this.settings.maxConcurrent} encodings run at once (ENCODER_CONCURRENCY); try again shortly`,
        headers: { 'retry-after': '1' },
      });
    }
    this.running++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.running--;
      }
    };
  }

  /** Encodes `pcm` (s16le mono at `opts.sampleRate`) into `format`, streaming. */
  encode(
    pcm: AsyncIterable<Uint8Array>,
    format: SpeechFormat,
    opts: EncodeOptions,
  ): AsyncIterable<Uint8Array> {
    const tempo = opts.tempo ?? 1;
    const direct = needsFfmpeg(format, tempo) ? undefined : pcm;
    const raw = direct ?? this.ffmpeg(pcm, format, { ...opts, tempo });
    if (format !== 'wav') return raw;
    return (async function* () {
      yield streamingWavHeader(opts.sampleRate);
      yield* raw;
    })();
  }

  private async *ffmpeg(
    pcm: AsyncIterable<Uint8Array>,
    format: SpeechFormat,
    opts: EncodeOptions & { tempo: number },
  ): AsyncIterable<Uint8Array> {
    const rate = String(opts.sampleRate);
    const args = [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      // No probing of the input (it would wait for seconds of audio before encoding).
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-f',
      's16le',
      '-ar',
      rate,
      '-ac',
      '1',
      '-i',
      'pipe:0',
      ...(opts.tempo !== 1 ? ['-filter:a', `atempo=${opts.tempo.toFixed(4)}`] : []),
      '-ar',
      rate,
      '-ac',
      '1',
      ...outputArgs(format),
      // Write each packet as soon as it is ready.
      '-flush_packets',
      '1',
      'pipe:1',
    ];
    const child = spawn(this.settings.ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    let failure: Error | undefined;
    const kill = (why: Error) => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => kill(new Error(`the ${format} encoder ran past ${this.settings.timeoutMs} ms`)),
      this.settings.timeoutMs,
    );
    const onAbort = () => kill(new Error('the synthesis was stopped'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const exited = new Promise<number | null>((resolve) => {
      child.on('close', (code) => resolve(code));
      child.on('error', (err) => {
        failure ??= err;
        resolve(null);
      });
    });
    // Feed PCM in with back-pressure; a failing input kills the encoder.
    const feed = (async () => {
      try {
        for await (const chunk of pcm) {
          if (child.stdin.destroyed) return;
          if (!child.stdin.write(chunk)) {
            await new Promise<void>((resolve) => {
              child.stdin.once('drain', resolve);
              child.stdin.once('close', resolve);
            });
          }
        }
        child.stdin.end();
      } catch (err) {
        kill(err instanceof Error ? err : new Error(String(err)));
      }
    })();
    child.stdin.on('error', () => {
      // EPIPE when ffmpeg dies first: its exit status and stderr tell why.
    });
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
      const code = await exited;
      if (failure) throw failure;
      await feed;
      if (code !== 0) {
        throw new Error(
          `the ${format} encoder failed (exit ${String(code)}): ${stderr.trim() || 'no message'}`,
        );
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
}

function needsFfmpeg(format: SpeechFormat, tempo: number): boolean {
  return tempo !== 1 || (format !== 'wav' && format !== 'pcm');
}
