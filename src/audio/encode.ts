import { createMp3Encoder } from 'wasm-media-encoders';

import { resample } from './decode.js';

/** Output sample rates the service offers (Hz). */
export const OUTPUT_SAMPLE_RATES = [8000, 16000, 22050, 24000, 44100, 48000] as const;
export type OutputSampleRate = (typeof OUTPUT_SAMPLE_RATES)[number];

export function isOutputSampleRate(rate: number): rate is OutputSampleRate {
  return (OUTPUT_SAMPLE_RATES as readonly number[]).includes(rate);
}

/** Resamples mono PCM to one of {@link OUTPUT_SAMPLE_RATES}; throws RangeError for others. */
export function toOutputRate(pcm: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!isOutputSampleRate(toRate)) {
    throw new RangeError(
      `Unsupported output sample rate ${toRate}; use one of ${OUTPUT_SAMPLE_RATES.join(', ')}.`,
    );
  }
  return resample(pcm, fromRate, toRate);
}

/** Float [-1, 1] → signed 16-bit little-endian PCM bytes (clamped, rounded). */
export function encodePcm16(pcm: Float32Array): Uint8Array {
  const out = new Uint8Array(pcm.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) {
    const s = Math.max(-1, Math.min(1, pcm[i]!));
    view.setInt16(i * 2, Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), true);
  }
  return out;
}

/** A 44-byte canonical RIFF/WAVE header for 16-bit mono PCM. */
export function wavHeader(sampleRate: number, dataBytes: number): Uint8Array {
  const header = new Uint8Array(44);
  const view = new DataView(header.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) header[offset + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  return header;
}

/** 16-bit PCM mono WAV file. */
export function encodeWav(pcm: Float32Array, sampleRate: number): Uint8Array {
  const data = encodePcm16(pcm);
  const out = new Uint8Array(44 + data.length);
  out.set(wavHeader(sampleRate, data.length), 0);
  out.set(data, 44);
  return out;
}

export interface Mp3Options {
  /** Constant bitrate in kbit/s; default 64 (speech, mono). */
  bitrate?: 32 | 48 | 64 | 96 | 128;
}

/** MP3 (LAME via wasm-media-encoders), mono, at `sampleRate` (which must be an MP3 rate). */
export async function encodeMp3(
  pcm: Float32Array,
  sampleRate: number,
  options: Mp3Options = {},
): Promise<Uint8Array> {
  if (!isOutputSampleRate(sampleRate)) {
    throw new RangeError(
      `Unsupported MP3 sample rate ${sampleRate}; use one of ${OUTPUT_SAMPLE_RATES.join(', ')}.`,
    );
  }
  const encoder = await createMp3Encoder();
  // Without outputSampleRate LAME may pick another rate for low bitrates.
  encoder.configure({
    channels: 1,
    sampleRate,
    outputSampleRate: sampleRate,
    bitrate: options.bitrate ?? 64,
  });
  const parts: Uint8Array[] = [];
  const block = 16_384;
  for (let i = 0; i < pcm.length; i += block) {
    // encode() returns a view into WASM memory that the next call overwrites: copy it.
    parts.push(encoder.encode([pcm.subarray(i, i + block)]).slice());
  }
  parts.push(encoder.finalize().slice());
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
