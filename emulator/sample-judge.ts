/**
 * Reference-audio checks done by create_voice / update_voice: download the URL the way the
 * service does, then judge size, container (by content), sample rate, decodability, duration,
 * silence and amount of speech.
 */
import decode from 'audio-decode';
import { fileTypeFromBuffer } from 'file-type';
import { parseBuffer } from 'music-metadata';
import { DOC_MESSAGES } from './errors.js';
import type { EmulatorOptions } from './types.js';
import { parseWav } from './wav.js';

export interface SampleAccepted {
  ok: true;
  container: 'wav' | 'mp3' | 'm4a';
  sampleRate: number;
  durationSeconds: number;
  activeSpeechSeconds: number;
  rmsDbfs: number;
}

export interface SampleRejected {
  ok: false;
  status: number;
  code: string;
  message: string;
}

export type SampleVerdict = SampleAccepted | SampleRejected;

type JudgeOptions = Pick<
  EmulatorOptions,
  | 'sampleFetchTimeoutMs'
  | 'maxSampleBytes'
  | 'minSampleRateHz'
  | 'minSpeechSeconds'
  | 'maxSampleSeconds'
  | 'audioErrorHttpStatus'
>;

/** Overall level below which a sample is silent. */
const SILENT_RMS_DBFS = -50;
/** A 20 ms frame above this level counts as active (speech). */
const ACTIVE_FRAME_DBFS = -40;
/** Below this share of active frames the sample has "too little speech" (silent error). */
const MIN_ACTIVE_RATIO = 0.2;

const PREPROCESS_ERROR = DOC_MESSAGES.preprocess;

function reject(status: number, code: string, message: string): SampleRejected {
  return { ok: false, status, code, message };
}

type Download = { ok: true; bytes: Uint8Array } | SampleRejected;

async function download(url: URL, o: JudgeOptions): Promise<Download> {
  let res: Response;
  const signal = AbortSignal.timeout(o.sampleFetchTimeoutMs);
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch {
    // Unreachable host, refused connection, timeout: the service reports a server error.
    return reject(500, 'InternalError', `${PREPROCESS_ERROR}: failed to download the audio url`);
  }
  const tooLarge = reject(430, 'Audio.FileSizeExceed', DOC_MESSAGES.fileTooLarge);
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return reject(
      500,
      'InternalError',
      `${PREPROCESS_ERROR}: audio url returned HTTP ${res.status}`,
    );
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > o.maxSampleBytes) {
    await res.body?.cancel().catch(() => undefined);
    return tooLarge;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > o.maxSampleBytes) {
          // Stop reading as soon as the limit is passed.
          await reader.cancel().catch(() => undefined);
          return tooLarge;
        }
        chunks.push(value);
      }
    } catch {
      return reject(500, 'InternalError', `${PREPROCESS_ERROR}: audio download interrupted`);
    }
  }
  return { ok: true, bytes: Buffer.concat(chunks) };
}

interface Analysis {
  rmsDbfs: number;
  activeSeconds: number;
  activeRatio: number;
}

/** Level and 20 ms-frame energy analysis of the first channel. */
export function analyse(samples: Float32Array, sampleRate: number): Analysis {
  const frame = Math.max(1, Math.round(sampleRate * 0.02));
  let total = 0;
  let frames = 0;
  let active = 0;
  for (let i = 0; i + frame <= samples.length; i += frame) {
    let e = 0;
    for (let j = i; j < i + frame; j++) e += samples[j]! * samples[j]!;
    total += e;
    frames++;
    if (10 * Math.log10(e / frame + 1e-12) > ACTIVE_FRAME_DBFS) active++;
  }
  const n = frames * frame;
  return {
    rmsDbfs: n === 0 ? -Infinity : 10 * Math.log10(total / n + 1e-20),
    activeSeconds: (active * frame) / sampleRate,
    activeRatio: frames === 0 ? 0 : active / frames,
  };
}

export async function judgeSample(rawUrl: string, o: JudgeOptions): Promise<SampleVerdict> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return reject(400, 'InvalidParameter', DOC_MESSAGES.invalidParameter);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    // oss:// temp URLs are resolved by DashScope's own storage, which the emulator does not have.
    return reject(500, 'InternalError', `${PREPROCESS_ERROR}: cannot download ${url.protocol} url`);
  }

  const dl = await download(url, o);
  if (!dl.ok) return dl;
  const bytes = dl.bytes;
  const audioErr = o.audioErrorHttpStatus;
  const decoderError = reject(audioErr, 'Audio.DecoderError', DOC_MESSAGES.decoder);
  const unsupported = reject(
    400,
    'BadRequest.UnsupportedFileFormat',
    'Unsupported file format, only wav (16-bit), mp3 and m4a are supported',
  );

  // Format by content, never by extension or Content-Type.
  const ft = await fileTypeFromBuffer(bytes).catch(() => undefined);
  // M4A is an MP4 container; some encoders label it with a generic `isom` brand (detected as
  // mp4). Raw ADTS AAC is not M4A and is rejected (unverified; the stricter reading).
  const containers: Record<string, SampleAccepted['container']> = {
    wav: 'wav',
    mp3: 'mp3',
    m4a: 'm4a',
    mp4: 'm4a',
  };
  const container = ft ? containers[ft.ext] : undefined;
  if (!container) return unsupported;

  let headerRate: number | undefined;
  if (container === 'wav') {
    const wav = parseWav(bytes);
    // Broken RIFF sizes: lenient decoders (ffmpeg) play such files, but the emulator takes the
    // stricter reading and reports a decoder error (unverified).
    if ('error' in wav) return decoderError;
    if (wav.audioFormat !== 1 || wav.bitsPerSample !== 16) return unsupported;
    headerRate = wav.sampleRate;
  } else {
    try {
      const meta = await parseBuffer(bytes, { mimeType: ft?.mime, size: bytes.byteLength });
      headerRate = meta.format.sampleRate;
    } catch {
      return decoderError;
    }
  }
  const rateError = reject(audioErr, 'Audio.AudioRateError', DOC_MESSAGES.audioRate);
  if (headerRate !== undefined && headerRate < o.minSampleRateHz) return rateError;

  let channel: Float32Array;
  let sampleRate: number;
  try {
    const decoded = await decode(bytes);
    const first = decoded.channelData[0];
    if (!first || first.length === 0 || !(decoded.sampleRate > 0)) return decoderError;
    channel = first; // Stereo is accepted; the first channel is used.
    sampleRate = decoded.sampleRate;
  } catch {
    return decoderError;
  }
  if (sampleRate < o.minSampleRateHz) return rateError;

  const durationSeconds = channel.length / sampleRate;
  if (durationSeconds > o.maxSampleSeconds) {
    // The docs list "bad/long audio" under 500 InternalError (not InvalidParameter).
    return reject(
      500,
      'InternalError',
      `${PREPROCESS_ERROR}: audio longer than ${o.maxSampleSeconds} seconds`,
    );
  }
  const short = reject(400, 'Audio.AudioShortError', DOC_MESSAGES.audioShort);
  if (durationSeconds < o.minSpeechSeconds) return short;

  const a = analyse(channel, sampleRate);
  const silent = reject(
    audioErr,
    'Audio.AudioSilentError',
    'audio is silent or has too little speech',
  );
  if (a.rmsDbfs < SILENT_RMS_DBFS || a.activeRatio < MIN_ACTIVE_RATIO) return silent;
  if (a.activeSeconds < o.minSpeechSeconds) return short;

  return {
    ok: true,
    container,
    sampleRate,
    durationSeconds,
    activeSpeechSeconds: a.activeSeconds,
    rmsDbfs: a.rmsDbfs,
  };
}
