import decode from 'audio-decode';

import { AudioUnreadableError } from './errors.js';

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

/**
 * Decodes any container audio-decode understands (wav, mp3, ogg/vorbis, opus,
 * flac, m4a/AAC, ADTS AAC, webm…) to mono Float32 PCM. Channels are averaged.
 * Throws {@link AudioUnreadableError} when nothing decodes.
 */
export async function decodeAudio(bytes: Uint8Array): Promise<DecodedAudio> {
  if (bytes.length === 0) throw new AudioUnreadableError('empty', 'The file is empty.');
  let data: { channelData: Float32Array[]; sampleRate: number };
  try {
    data = await decode(bytes);
  } catch (cause) {
    throw new AudioUnreadableError('malformed', 'The audio could not be decoded.', { cause });
  }
  const first = data.channelData[0];
  if (!first || first.length === 0 || !(data.sampleRate > 0)) {
    throw new AudioUnreadableError('no_audio', 'The file contains no decodable audio.');
  }
  const samples = mixToMono(data.channelData);
  return {
    samples,
    sampleRate: data.sampleRate,
    channels: data.channelData.length,
    durationSec: samples.length / data.sampleRate,
  };
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
