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

/** Zero crossings of the windowed sinc on each side (at the output's cutoff). */
const ZERO_CROSSINGS = 8;
/** Largest number of phases a filter bank may have (rates with a small common divisor). */
const MAX_PHASES = 4096;

/** A polyphase filter bank for one rate pair: `phases` rows of `taps` weights, each row summing to 1. */
interface FilterBank {
  /** Output samples per `step` input samples (the reduced ratio to/from). */
  phases: number;
  step: number;
  taps: number;
  halfWidth: number;
  weights: Float32Array;
}

/** Largest filter bank built (weights): about 1 MB; a larger one falls back to linear. */
const MAX_BANK_WEIGHTS = 1 << 18;
/** Rate pairs whose bank is kept (the rates a client's file claims are its own). */
const BANKS_KEPT = 16;
const bankCache = new Map<string, FilterBank | null>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The Blackman-windowed sinc for `fromRate` → `toRate`, sampled once per
 * output phase. When downsampling, the cutoff follows the output rate so the
 * filter is also the anti-alias filter. Null when the ratio needs more than
 * {@link MAX_PHASES} phases (non-integer or co-prime rates) or the bank more
 * than {@link MAX_BANK_WEIGHTS} weights.
 */
function filterBank(fromRate: number, toRate: number): FilterBank | null {
  const key = `${fromRate}>${toRate}`;
  const cached = bankCache.get(key);
  if (cached !== undefined) return cached;
  let bank: FilterBank | null = null;
  if (Number.isInteger(fromRate) && Number.isInteger(toRate)) {
    const g = gcd(fromRate, toRate);
    const phases = toRate / g;
    const step = fromRate / g;
    const cutoff = Math.min(1, toRate / fromRate) * 0.95;
    const halfWidth = Math.ceil(ZERO_CROSSINGS / cutoff);
    const taps = 2 * halfWidth;
    if (phases <= MAX_PHASES && phases * taps <= MAX_BANK_WEIGHTS) {
      const weights = new Float32Array(phases * taps);
      for (let p = 0; p < phases; p++) {
        let sum = 0;
        const row = p * taps;
        for (let k = 0; k < taps; k++) {
          // Distance from input sample (base - halfWidth + 1 + k) to the output's position (base + p/phases).
          const d = k - halfWidth + 1 - p / phases;
          const t = d * cutoff;
          const sinc = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
          const w = Math.abs(d) / halfWidth;
          const h =
            w >= 1
              ? 0
              : sinc * (0.42 + 0.5 * Math.cos(Math.PI * w) + 0.08 * Math.cos(2 * Math.PI * w));
          weights[row + k] = h;
          sum += h;
        }
        for (let k = 0; k < taps; k++) weights[row + k]! /= sum;
      }
      bank = { phases, step, taps, halfWidth, weights };
    }
  }
  if (bankCache.size >= BANKS_KEPT) bankCache.delete(bankCache.keys().next().value as string);
  bankCache.set(key, bank);
  return bank;
}

/**
 * Polyphase windowed-sinc resampler (Blackman, {@link ZERO_CROSSINGS} zero
 * crossings each side): each output sample is one row of precomputed weights
 * against the input, with no per-tap kernel lookup. Rates without a usable
 * common divisor fall back to linear interpolation after the same low-pass.
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || samples.length === 0) return Float32Array.from(samples);
  const outLength = Math.max(1, Math.round((samples.length * toRate) / fromRate));
  const bank = filterBank(fromRate, toRate);
  if (!bank) return resampleLinear(samples, fromRate, toRate, outLength);
  const { phases, step, taps, halfWidth, weights } = bank;
  const out = new Float32Array(outLength);
  const n = samples.length;
  let base = 0;
  let phase = 0;
  for (let i = 0; i < outLength; i++) {
    const first = base - halfWidth + 1;
    const row = phase * taps;
    let acc = 0;
    if (first >= 0 && first + taps <= n) {
      for (let k = 0; k < taps; k++) acc += samples[first + k]! * weights[row + k]!;
    } else {
      // Edges: the missing neighbours count as silence.
      const lo = Math.max(0, -first);
      const hi = Math.min(taps, n - first);
      for (let k = lo; k < hi; k++) acc += samples[first + k]! * weights[row + k]!;
    }
    out[i] = acc;
    phase += step;
    while (phase >= phases) {
      phase -= phases;
      base++;
    }
  }
  return out;
}

/** Fallback for unusual rate pairs: a moving-average low-pass when downsampling, then linear interpolation. */
function resampleLinear(
  samples: Float32Array,
  fromRate: number,
  toRate: number,
  outLength: number,
): Float32Array {
  let src = samples;
  const width = Math.floor(fromRate / toRate);
  if (width > 1) {
    src = new Float32Array(samples.length);
    let acc = 0;
    for (let i = 0; i < samples.length; i++) {
      acc += samples[i]!;
      if (i >= width) acc -= samples[i - width]!;
      src[i] = acc / Math.min(i + 1, width);
    }
  }
  const out = new Float32Array(outLength);
  const ratio = fromRate / toRate;
  for (let i = 0; i < outLength; i++) {
    const x = i * ratio;
    const j = Math.floor(x);
    const a = src[Math.min(j, src.length - 1)]!;
    const b = src[Math.min(j + 1, src.length - 1)]!;
    out[i] = a + (b - a) * (x - j);
  }
  return out;
}

/** Mono PCM at the analysis rate (16 kHz): resampled, or the same samples (not copied) when already there. */
export function toAnalysisRate(pcm: MonoPcm): MonoPcm {
  if (pcm.sampleRate === ANALYSIS_RATE) return pcm;
  return {
    samples: resample(pcm.samples, pcm.sampleRate, ANALYSIS_RATE),
    sampleRate: ANALYSIS_RATE,
  };
}
