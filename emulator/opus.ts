/**
 * Ogg/Opus output for `format: "opus"`: one ffmpeg process (the static build of
 * @ffmpeg-installer/ffmpeg, which has libopus) per synthesis task, fed 16-bit PCM sentence
 * after sentence, whose Ogg pages come back as they are made. Pages are handed out whole, so
 * every binary frame is one or more complete Ogg pages of one continuous stream.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { floatToPcm16 } from './wav.js';

/**
 * DashScope sample rate → the Opus rate it is encoded at. libopus takes 8, 12, 16, 24 or
 * 48 kHz only: 22050 Hz goes up to 24 kHz and 44100 Hz to 48 kHz (12 kHz is not a DashScope
 * rate). The OpusHead "input sample rate" field carries the rate used.
 */
export const OPUS_RATE_FOR: Readonly<Record<number, number>> = {
  8000: 8000,
  16000: 16000,
  22050: 24000,
  24000: 24000,
  44100: 48000,
  48000: 48000,
};

/** Opus granule positions count 48 kHz samples whatever the input rate. */
const GRANULE_HZ = 48_000;
/** Audio the encoder may still hold after a sentence (frame + look-ahead + page), seconds. */
const ENCODER_SLACK_S = 0.08;
/** Longest wait for a sentence's pages before sending what has come. */
const SENTENCE_WAIT_MS = 2_000;

let ffmpegPathCache: string | undefined;

/** The ffmpeg binary shipped by @ffmpeg-installer/ffmpeg. */
export function ffmpegPath(): string {
  if (ffmpegPathCache === undefined) {
    const require = createRequire(import.meta.url);
    ffmpegPathCache = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  }
  return ffmpegPathCache;
}

/** One Ogg page's length and granule position, or undefined while incomplete. */
function readPage(buf: Buffer, off: number): { length: number; granule: bigint } | undefined {
  if (buf.length - off < 27) return undefined;
  if (buf.toString('latin1', off, off + 4) !== 'OggS') throw new Error('not an Ogg page');
  const segments = buf[off + 26]!;
  if (buf.length - off < 27 + segments) return undefined;
  let body = 0;
  for (let i = 0; i < segments; i++) body += buf[off + 27 + i]!;
  const length = 27 + segments + body;
  if (buf.length - off < length) return undefined;
  return { length, granule: buf.readBigInt64LE(off + 6) };
}

/**
 * A running Opus encoder for one task. `encode` resolves with the pages of everything written
 * so far except what the encoder still holds; `finish` ends the stream and resolves with the
 * rest (the last pages, end-of-stream flag included). `close` kills the process.
 */
export class OpusStream {
  private readonly proc: ChildProcessWithoutNullStreams;
  private pending: Buffer = Buffer.alloc(0);
  private pages: Buffer[] = [];
  /** Highest granule position seen (48 kHz samples, pre-skip included). */
  private granule = 0n;
  private preSkip = 0;
  private writtenSamples = 0;
  private exited: Promise<number | null>;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private stderr = '';
  private ended = false;

  constructor(
    /** Rate of the PCM written (one of the Opus rates). */
    readonly sampleRate: number,
    bitRateKbps: number,
  ) {
    this.proc = spawn(
      ffmpegPath(),
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-analyzeduration',
        '0',
        '-probesize',
        '32',
        '-f',
        's16le',
        '-ar',
        String(sampleRate),
        '-ac',
        '1',
        '-i',
        'pipe:0',
        '-c:a',
        'libopus',
        '-b:a',
        `${bitRateKbps}k`,
        '-frame_duration',
        '20',
        '-page_duration',
        '20000',
        '-flush_packets',
        '1',
        '-f',
        'ogg',
        'pipe:1',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.proc.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.proc.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-2000);
    });
    this.proc.stdin.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (err) => {
        this.fail(err);
        resolve(null);
      });
      this.proc.on('close', (code) => {
        this.ended = true;
        this.wakeUp();
        resolve(code);
      });
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let off = 0;
    for (;;) {
      const page = readPage(this.pending, off);
      if (page === undefined) break;
      const bytes = this.pending.subarray(off, off + page.length);
      // The first page is OpusHead: its pre-skip (bytes 10–11 of the packet) offsets granules.
      if (bytes.toString('latin1', 28, 36) === 'OpusHead') this.preSkip = bytes.readUInt16LE(38);
      if (page.granule > this.granule) this.granule = page.granule;
      this.pages.push(Buffer.from(bytes));
      off += page.length;
    }
    this.pending = Buffer.from(this.pending.subarray(off));
    this.wakeUp();
  }

  private take(): Buffer {
    const out = Buffer.concat(this.pages);
    this.pages = [];
    return out;
  }

  private async waitFor(done: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && this.failure === undefined && !this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private check(): void {
    if (this.failure !== undefined)
      throw new Error(`opus encoder failed: ${this.failure.message} ${this.stderr}`.trim());
  }

  /** Writes one sentence; resolves with the whole pages made so far. */
  async encode(samples: Float32Array): Promise<Buffer> {
    this.check();
    const pcm = floatToPcm16(samples);
    this.writtenSamples += samples.length;
    if (!this.proc.stdin.write(pcm))
      // Rejects when stdin fails instead (ffmpeg gone): no wait for ever.
      await once(this.proc.stdin, 'drain');
    const target = BigInt(
      Math.max(
        0,
        Math.floor((this.writtenSamples / this.sampleRate - ENCODER_SLACK_S) * GRANULE_HZ),
      ),
    );
    await this.waitFor(() => this.granule - BigInt(this.preSkip) >= target, SENTENCE_WAIT_MS);
    this.check();
    return this.take();
  }

  /** Ends the stream; resolves with its last pages. */
  async finish(): Promise<Buffer> {
    this.check();
    this.proc.stdin.end();
    const code = await this.exited;
    this.check();
    if (code !== 0) throw new Error(`opus encoder exited with ${String(code)}: ${this.stderr}`);
    return this.take();
  }

  /** Stops the encoder (task aborted or connection gone). */
  close(): void {
    if (!this.ended) this.proc.kill('SIGKILL');
  }
}
