import decode from 'audio-decode';

import { AudioTooLongError, AudioUnreadableError } from './errors.js';
import { mp4TableSeconds } from './mp4-length.js';
import { sniffType } from './sniff.js';

/** Mono PCM: samples in [-1, 1] at `sampleRate`. */
export interface MonoPcm {
  samples: Float32Array;
  sampleRate: number;
}

export interface DecodedAudio extends MonoPcm {
  /** Channels the decoder produced before the mono mix-down. */
  channels: number;
  durationSec: number;
}

/** The rate every analysis in this folder works at. */
export const ANALYSIS_RATE = 16_000;

/** Bytes fed to the decoder at a time: small, so a decode stops soon after its bound. */
const DECODE_CHUNK = 4096;

type DecoderFormat =
  'mp3' | 'flac' | 'opus' | 'oga' | 'm4a' | 'wav' | 'aac' | 'aiff' | 'caf' | 'webm' | 'amr' | 'wma';

const FORMAT_BY_EXT: Record<string, DecoderFormat> = {
  wav: 'wav',
  mp3: 'mp3',
  flac: 'flac',
  m4a: 'm4a',
  mp4: 'm4a',
  m4b: 'm4a',
  mov: 'm4a',
  aac: 'aac',
  opus: 'opus',
  oga: 'oga',
  ogg: 'oga',
  ogx: 'oga',
  webm: 'webm',
  mkv: 'webm',
  aif: 'aiff',
  aiff: 'aiff',
  caf: 'caf',
  amr: 'amr',
  wma: 'wma',
  asf: 'wma',
};

export interface DecodeLimits {
  /**
   * Stop once this many seconds have decoded and throw {@link AudioTooLongError}:
   * whatever the headers claim, longer audio is never decoded whole.
   */
  maxSec?: number;
}

/**
 * Decodes any container audio-decode understands (wav, mp3, ogg/vorbis, opus,
 * flac, m4a/AAC, ADTS AAC, webm…) to mono Float32 PCM. Channels are averaged.
 * The bytes are fed in small chunks and decoding stops at `limits.maxSec`.
 * Throws {@link AudioUnreadableError} when nothing decodes and
 * {@link AudioTooLongError} past the bound.
 */
export async function decodeAudio(
  bytes: Uint8Array,
  limits: DecodeLimits = {},
): Promise<DecodedAudio> {
  if (bytes.length === 0) throw new AudioUnreadableError('empty', 'The file is empty.');
  const maxSec = limits.maxSec ?? Infinity;
  const sniffed = await sniffType(bytes.subarray(0, 64 * 1024));
  const format = sniffed ? FORMAT_BY_EXT[sniffed.ext] : undefined;
  if (!format) {
    throw new AudioUnreadableError('unknown_format', 'The file is not a recognisable audio file.');
  }
  if (format === 'm4a') {
    const tableSec = mp4TableSeconds(bytes);
    if (tableSec !== undefined && tableSec > maxSec) throw new AudioTooLongError(maxSec, tableSec);
  }
  const parts: Float32Array[] = [];
  let total = 0;
  let sampleRate = 0;
  let channels = 0;
  const take = (r: { channelData: Float32Array[]; sampleRate: number }) => {
    if (!r.channelData.length || !r.channelData[0]?.length) return;
    sampleRate ||= r.sampleRate;
    channels = Math.max(channels, r.channelData.length);
    const mono = mixToMono(r.channelData);
    parts.push(mono);
    total += mono.length;
  };
  let decoder: Awaited<ReturnType<(typeof decode)['mp3']>> | undefined;
  try {
    decoder = await decode[format]();
    for (let at = 0; at < bytes.length; at += DECODE_CHUNK) {
      take(await decoder(bytes.subarray(at, at + DECODE_CHUNK)));
      if (sampleRate > 0 && total / sampleRate > maxSec) {
        throw new AudioTooLongError(maxSec, total / sampleRate);
      }
    }
    take(await decoder());
    decoder = undefined;
  } catch (cause) {
    decoder?.free();
    if (cause instanceof AudioTooLongError) throw cause;
    throw new AudioUnreadableError('malformed', 'The audio could not be decoded.', { cause });
  }
  if (total === 0 || !(sampleRate > 0)) {
    throw new AudioUnreadableError('no_audio', 'The file contains no decodable audio.');
  }
  if (total / sampleRate > maxSec) throw new AudioTooLongError(maxSec, total / sampleRate);
  const samples = parts.length === 1 ? parts[0]! : new Float32Array(total);
  if (parts.length > 1) {
    let offset = 0;
    for (const p of parts) {
      samples.set(p, offset);
      offset += p.length;
    }
  }
  return { samples, sampleRate, channels, durationSec: total / sampleRate };
}

/** Averages channels into one; returns a copy even for mono input. */
export function mixToMono(channels: readonly Float32Array[]): Float32Array {
  const first = channels[0];
  if (!first) return new Float32Array(0);
  if (channels.length === 1) return Float32Array.from(first);
  const n = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i]! += ch[i]!;
  const k = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i]! *= k;
  return out;
}

const ZERO_CROSSINGS = 16;
const PHASES = 512;
const kernelCache = new Map<number, { table: Float32Array; halfWidth: number }>();

/** Blackman-windowed sinc sampled at 1/PHASES of an input sample, for one cutoff. */
function sincKernel(cutoff: number): { table: Float32Array; halfWidth: number } {
  const key = Math.round(cutoff * 1e6);
  const cached = kernelCache.get(key);
  if (cached) return cached;
  const halfWidth = Math.ceil(ZERO_CROSSINGS / cutoff);
  const table = new Float32Array(halfWidth * PHASES + 2);
  for (let i = 0; i < table.length; i++) {
    const x = i / PHASES;
    const t = x * cutoff;
    const sinc = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
    const w = x / halfWidth;
    table[i] =
      w >= 1 ? 0 : sinc * (0.42 + 0.5 * Math.cos(Math.PI * w) + 0.08 * Math.cos(2 * Math.PI * w));
  }
  const kernel = { table, halfWidth };
  kernelCache.set(key, kernel);
  return kernel;
}

/**
 * Windowed-sinc (Blackman, 16 zero crossings each side) resampler. When
 * downsampling, the kernel is widened so it also acts as the anti-alias filter.
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || samples.length === 0) return Float32Array.from(samples);
  const ratio = toRate / fromRate;
  const outLength = Math.max(1, Math.round(samples.length * ratio));
  const out = new Float32Array(outLength);
  const { table, halfWidth } = sincKernel(Math.min(1, ratio) * 0.95);
  const step = fromRate / toRate;
  for (let i = 0; i < outLength; i++) {
    const center = i * step;
    const base = Math.floor(center);
    const lo = Math.max(0, base - halfWidth + 1);
    const hi = Math.min(samples.length - 1, base + halfWidth);
    let acc = 0;
    let norm = 0;
    for (let j = lo; j <= hi; j++) {
      const k = table[Math.round(Math.abs(j - center) * PHASES)] ?? 0;
      acc += samples[j]! * k;
      norm += k;
    }
    out[i] = norm !== 0 ? acc / norm : 0;
  }
  return out;
}

/** Resamples mono PCM to the analysis rate (16 kHz). */
export function toAnalysisRate(pcm: MonoPcm): MonoPcm {
  return {
    samples: resample(pcm.samples, pcm.sampleRate, ANALYSIS_RATE),
    sampleRate: ANALYSIS_RATE,
  };
}
