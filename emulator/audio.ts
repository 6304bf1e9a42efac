/**
 * The emulator's "voice": a pitched harmonic buzz with a syllable-like envelope, whose length
 * follows the text, encoded as real PCM / WAV / MP3 bytes at the requested rate.
 */
import { createMp3Encoder, type WasmMediaEncoder } from 'wasm-media-encoders';
import { OPUS_RATE_FOR, OpusStream } from './opus.js';
import { countChars } from './text.js';
import { floatToPcm16, wavHeader } from './wav.js';

/** Formats the emulator produces (Opus in an Ogg stream, through ffmpeg: see opus.ts). */
export type AudioFormat = 'pcm' | 'wav' | 'mp3' | 'opus';

export const SAMPLE_RATES = [8000, 16000, 22050, 24000, 44100, 48000] as const;

export interface VoiceParams {
  sampleRate: number;
  /** 0..100, 50 = normal */
  volume: number;
  /** 0.5..2.0 */
  rate: number;
  /** 0.5..2.0 */
  pitch: number;
  secondsPerChar: number;
  /** Varies the timbre slightly per voice. */
  seed: number;
}

const SYLLABLE_S = 0.16;

/** Synthesize a mono float signal for one sentence. */
export function synthesize(text: string, p: VoiceParams): Float32Array {
  const chars = Math.max(1, countChars(text));
  const seconds = Math.max(0.2, (chars * p.secondsPerChar) / p.rate);
  const n = Math.max(1, Math.round(seconds * p.sampleRate));
  const out = new Float32Array(n);
  const amp = 0.8 * Math.min(1, Math.max(0, p.volume / 100));
  if (amp === 0) return out;
  const baseF0 = (110 + (p.seed % 90)) * p.pitch;
  const syll = SYLLABLE_S / p.rate;
  const nyquist = p.sampleRate / 2;
  const harmonics = 10;
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / p.sampleRate;
    // Declining intonation over the sentence plus a little vibrato.
    const f0 = baseF0 * (1.15 - 0.3 * (i / n)) * (1 + 0.02 * Math.sin(2 * Math.PI * 5 * t));
    phase += (2 * Math.PI * f0) / p.sampleRate;
    if (phase > 2 * Math.PI * 1000) phase -= 2 * Math.PI * 1000;
    const k = Math.floor(t / syll);
    const pos = (t - k * syll) / syll; // 0..1 within the syllable
    // Syllable envelope: on for 80%, raised-cosine shaped, 20% gap.
    const env = pos < 0.8 ? Math.sin((Math.PI * pos) / 0.8) : 0;
    // A "vowel" per syllable: emphasise a different harmonic band.
    const formant = 2 + ((k * 7 + p.seed) % 5);
    let s = 0;
    let norm = 0;
    for (let h = 1; h <= harmonics; h++) {
      if (f0 * h >= nyquist) break;
      const w = 1 / h + (Math.abs(h - formant) < 1.5 ? 0.6 : 0);
      s += w * Math.sin(phase * h);
      norm += w;
    }
    out[i] = norm > 0 ? (amp * env * s) / norm : 0;
  }
  return out;
}

let mp3Encoder: Promise<WasmMediaEncoder<'audio/mpeg'>> | undefined;

/**
 * One shared LAME encoder: each sentence is configured, encoded and finalized in one
 * synchronous step, so concurrent tasks never interleave inside it.
 */
function sharedMp3Encoder(): Promise<WasmMediaEncoder<'audio/mpeg'>> {
  mp3Encoder ??= createMp3Encoder();
  return mp3Encoder;
}

type Mp3Rate = 8000 | 16000 | 22050 | 24000 | 44100 | 48000;

/** Encodes sentence after sentence into one continuous byte stream of the chosen format. */
export class AudioStreamEncoder {
  private headerSent = false;
  private mp3: WasmMediaEncoder<'audio/mpeg'> | undefined;
  private opus: OpusStream | undefined;

  private constructor(
    readonly format: AudioFormat,
    /** The rate the audio is made at: the requested one, or its Opus rate for `opus`. */
    readonly sampleRate: number,
  ) {}

  /** `bitRateKbps` applies to Opus only (DashScope's `bit_rate`). */
  static async create(
    format: AudioFormat,
    sampleRate: number,
    bitRateKbps = 32,
  ): Promise<AudioStreamEncoder> {
    if (format === 'opus') {
      const rate = OPUS_RATE_FOR[sampleRate];
      if (rate === undefined) throw new RangeError(`no Opus rate for ${sampleRate} Hz`);
      const enc = new AudioStreamEncoder(format, rate);
      enc.opus = new OpusStream(rate, bitRateKbps);
      return enc;
    }
    const enc = new AudioStreamEncoder(format, sampleRate);
    if (format === 'mp3') enc.mp3 = await sharedMp3Encoder();
    return enc;
  }

  /**
   * One sentence as binary frames of about `parts` each. PCM/WAV frames are cut on sample
   * boundaries, MP3 anywhere, Opus between whole Ogg pages (the encoder may keep the last few
   * tens of milliseconds of a sentence until the next one or {@link finish}).
   */
  async frames(samples: Float32Array, parts: number): Promise<Buffer[]> {
    if (this.format === 'opus') return groupPages(await this.opus!.encode(samples), parts);
    const header = this.format === 'wav' && !this.headerSent ? 44 : 0;
    return splitFrames(this.encode(samples), parts, header);
  }

  /** Bytes still held at the end of the task (Opus: the last pages), else none. */
  async finish(): Promise<Buffer[]> {
    if (this.format !== 'opus') return [];
    const tail = await this.opus!.finish();
    return tail.length === 0 ? [] : [tail];
  }

  /** Releases the encoder (an Opus task's ffmpeg process). */
  close(): void {
    this.opus?.close();
  }

  /**
   * Bytes for one sentence. WAV: the first call carries the 44-byte header, whose sizes are
   * 0xFFFFFFFF because the total length is unknown while streaming (DashScope's exact header
   * values are unverified; clients should not trust them). MP3: each sentence is a run of
   * complete MPEG frames, so the concatenation is a valid stream.
   */
  private encode(samples: Float32Array): Buffer {
    switch (this.format) {
      case 'pcm':
        return floatToPcm16(samples);
      case 'opus':
        throw new Error('opus is encoded by frames()');
      case 'wav': {
        const pcm = floatToPcm16(samples);
        if (this.headerSent) return pcm;
        this.headerSent = true;
        return Buffer.concat([wavHeader(this.sampleRate, 1, 0xffffffff), pcm]);
      }
      case 'mp3': {
        const enc = this.mp3!;
        enc.configure({
          channels: 1,
          sampleRate: this.sampleRate,
          bitrate: 64,
          outputSampleRate: this.sampleRate as Mp3Rate,
        });
        const a = Buffer.from(enc.encode([samples]));
        const b = Buffer.from(enc.finalize());
        return Buffer.concat([a, b]);
      }
    }
  }
}

/** Whole Ogg pages grouped into at most `parts` frames (none when there are no pages). */
function groupPages(bytes: Buffer, parts: number): Buffer[] {
  const pages: Buffer[] = [];
  for (let off = 0; off + 27 <= bytes.length;) {
    const segments = bytes[off + 26]!;
    let len = 27 + segments;
    for (let i = 0; i < segments; i++) len += bytes[off + 27 + i]!;
    pages.push(bytes.subarray(off, off + len));
    off += len;
  }
  if (pages.length === 0) return [];
  const per = Math.ceil(pages.length / Math.max(1, parts));
  const out: Buffer[] = [];
  for (let i = 0; i < pages.length; i += per) out.push(Buffer.concat(pages.slice(i, i + per)));
  return out;
}

/**
 * Split one sentence's bytes into roughly `parts` binary frames. PCM/WAV cuts stay on sample
 * boundaries (even offsets after any header); MP3 is cut anywhere (clients append frames).
 */
export function splitFrames(bytes: Buffer, parts: number, headerBytes: number): Buffer[] {
  const n = Math.max(1, Math.min(parts, Math.floor(bytes.length / 2) || 1));
  if (n === 1) return [bytes];
  const body = bytes.length - headerBytes;
  let size = Math.ceil(body / n);
  if (size % 2) size++;
  const out: Buffer[] = [];
  let off = 0;
  while (off < bytes.length) {
    const end = Math.min(bytes.length, off === 0 ? headerBytes + size : off + size);
    out.push(bytes.subarray(off, end));
    off = end;
  }
  return out;
}
