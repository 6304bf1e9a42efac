import { readFile } from 'node:fs/promises';

import { parseBuffer } from 'music-metadata';

import { decodeAudio, type DecodedAudio, type DecodeLimits } from './decode.js';
import { AudioUnreadableError } from './errors.js';
import { sniffType } from './sniff.js';

export interface ProbeResult {
  /** Short container name: wav, mp3, ogg, flac, m4a, aac, webm, aiff… */
  container: string;
  /** Short codec name: pcm_s16le, mp3, vorbis, opus, flac, aac… */
  codec: string;
  sampleRate: number;
  channels: number;
  durationSec: number;
  /** Bits per second, when the container states or implies it. */
  bitrate?: number;
  /** music-metadata's own container and codec labels, for diagnostics. */
  detail: { container?: string; codec?: string };
}

/**
 * Reads container, codec, sample rate, channels and duration from the file
 * headers (music-metadata). Falls back to decoding when the headers say
 * nothing about duration (raw ADTS AAC) and for the channel count of MP4
 * audio (MP4 sample entries often claim 2 channels for mono AAC).
 *
 * Throws {@link AudioUnreadableError} when the bytes cannot be parsed as audio.
 */
/** Audio the probe had to decode anyway (MP4 channels, ADTS duration), for reuse. */
const decodedDuringProbe = new WeakMap<ProbeResult, DecodedAudio>();

/** The decoded audio of bytes that `probe` came from, reusing a decode the probe already did. */
export async function decodeProbed(
  bytes: Uint8Array,
  probe: ProbeResult,
  limits: DecodeLimits = {},
): Promise<DecodedAudio> {
  return decodedDuringProbe.get(probe) ?? decodeAudio(bytes, limits);
}

/**
 * Whether the body plays for much less than the headers promise (a cut-off
 * upload, garbage after a valid header): less than `minRatio` × the promised
 * duration − `slackSec`, for promises longer than `minPromisedSec`. Returns
 * what is wrong in words, or undefined.
 */
export function truncation(
  probe: ProbeResult,
  decoded: DecodedAudio,
  rule: { minRatio: number; slackSec: number; minPromisedSec: number },
): string | undefined {
  if (probe.durationSec <= rule.minPromisedSec) return undefined;
  if (decoded.durationSec >= probe.durationSec * rule.minRatio - rule.slackSec) return undefined;
  return (
    `The headers promise ${probe.durationSec.toFixed(1)} s of audio but only ` +
    `${decoded.durationSec.toFixed(1)} s decode: the file is damaged or truncated.`
  );
}

/**
 * Reads the headers (see above). `limits.maxSec` bounds the decode the probe
 * may need (MP4 channels, ADTS duration): past it, {@link AudioTooLongError}.
 */
export async function probeAudio(
  input: Uint8Array | string,
  limits: DecodeLimits = {},
): Promise<ProbeResult> {
  const bytes = typeof input === 'string' ? new Uint8Array(await readFile(input)) : input;
  if (bytes.length === 0) throw new AudioUnreadableError('empty', 'The file is empty.');
  checkRiff(bytes);
  const sniffed = await sniffType(bytes);
  let format;
  try {
    ({ format } = await parseBuffer(
      bytes,
      // The extension as well: in worker threads music-metadata's MIME lookup can fail
      // (its content-type parsing), and it then falls back to the file name.
      {
        mimeType: sniffed?.mime,
        size: bytes.length,
        ...(sniffed ? { path: `audio.${sniffed.ext}` } : {}),
      },
      { duration: true, skipCovers: true },
    ));
  } catch (cause) {
    throw new AudioUnreadableError(
      sniffed ? 'malformed' : 'unknown_format',
      sniffed && !sniffed.mime.startsWith('audio/')
        ? `The file is ${sniffed.mime}, not audio.`
        : 'The file is not a recognisable audio file.',
      { cause },
    );
  }
  const codec = normaliseCodec(format.codec, format.bitsPerSample);
  if (!codec || !format.sampleRate || !format.numberOfChannels) {
    throw new AudioUnreadableError('malformed', 'The audio headers are incomplete or damaged.');
  }
  const container = normaliseContainer(format.container, sniffed?.ext);
  let durationSec = format.duration;
  let channels = format.numberOfChannels;
  let decoded: DecodedAudio | undefined;
  if (durationSec === undefined || !(durationSec > 0) || container === 'm4a') {
    decoded = await decodeAudio(bytes, limits);
    durationSec = format.duration && format.duration > 0 ? format.duration : decoded.durationSec;
    if (container === 'm4a') channels = decoded.channels;
  }
  if (!Number.isFinite(durationSec) || !(durationSec > 0)) {
    throw new AudioUnreadableError('malformed', 'The audio headers give no usable duration.');
  }
  if (format.sampleRate < MIN_RATE || format.sampleRate > MAX_RATE || channels > MAX_CHANNELS) {
    throw new AudioUnreadableError(
      'malformed',
      `The audio headers are not plausible (${format.sampleRate} Hz, ${channels} channels).`,
    );
  }
  const result: ProbeResult = {
    container,
    codec,
    sampleRate: format.sampleRate,
    channels,
    durationSec,
    detail: { container: format.container, codec: format.codec },
  };
  if (format.bitrate && Number.isFinite(format.bitrate))
    result.bitrate = Math.round(format.bitrate);
  if (decoded) decodedDuringProbe.set(result, decoded);
  return result;
}

function normaliseCodec(codec: string | undefined, bits: number | undefined): string | undefined {
  if (!codec) return undefined;
  const c = codec.toLowerCase();
  if (c === 'pcm') return `pcm_s${bits ?? 16}le`;
  if (c.includes('layer 3')) return 'mp3';
  if (c.includes('layer 2')) return 'mp2';
  if (c.includes('vorbis')) return 'vorbis';
  if (c.includes('opus')) return 'opus';
  if (c.includes('flac')) return 'flac';
  if (c.includes('aac')) return 'aac';
  return c;
}

function normaliseContainer(container: string | undefined, sniffedExt: string | undefined): string {
  const c = (container ?? '').toLowerCase();
  if (c === 'wave') return 'wav';
  if (c === 'mpeg') return 'mp3';
  if (c === 'ogg') return 'ogg';
  if (c === 'flac') return 'flac';
  if (c.startsWith('adts')) return 'aac';
  if (c.startsWith('m4a') || c.startsWith('mp4') || c.includes('isom')) return 'm4a';
  if (c.includes('webm') || c.includes('matroska')) return 'webm';
  return sniffedExt ?? (c || 'unknown');
}

const MIN_RATE = 1000;
const MAX_RATE = 768_000;
const MAX_CHANNELS = 32;
/** A real WAV has a handful of chunks (fmt, data, LIST, fact, bext…). */
const MAX_WAV_CHUNKS = 64;

/**
 * Strict RIFF/WAVE check: a RIFF size that disagrees with the file, or a data
 * chunk that runs past the end, marks a damaged or truncated file even though
 * lenient players still play what is there.
 */
function checkRiff(bytes: Uint8Array): void {
  if (bytes.length < 12) return;
  const tag = (o: number) =>
    String.fromCharCode(bytes[o]!, bytes[o + 1]!, bytes[o + 2]!, bytes[o + 3]!);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffSize = view.getUint32(4, true);
  if (riffSize < 4 || riffSize + 8 > bytes.length + 1) {
    throw new AudioUnreadableError(
      'truncated',
      `The WAV header says ${riffSize + 8} bytes but the file has ${bytes.length}: it is damaged or truncated.`,
    );
  }
  let offset = 12;
  let chunks = 0;
  let sawFmt = false;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    if (++chunks > MAX_WAV_CHUNKS) {
      throw new AudioUnreadableError(
        'malformed',
        `The WAV file has more than ${MAX_WAV_CHUNKS} chunks before its audio: it is damaged or not a recording.`,
      );
    }
    if (id === 'fmt ') {
      checkWavFmt(view, offset + 8, size);
      sawFmt = true;
    }
    if (id === 'data') {
      if (!sawFmt) {
        throw new AudioUnreadableError(
          'malformed',
          'The WAV file has no format chunk before its data.',
        );
      }
      if (offset + 8 + size > bytes.length + 1) {
        throw new AudioUnreadableError(
          'truncated',
          'The WAV data chunk runs past the end of the file: it is damaged or truncated.',
        );
      }
      return;
    }
    offset += 8 + size + (size % 2);
  }
  throw new AudioUnreadableError('malformed', 'The WAV file has no data chunk.');
}

/** The `fmt ` fields a decoder divides by or allocates from must be plausible. */
function checkWavFmt(view: DataView, at: number, size: number): void {
  if (size < 16 || at + 16 > view.byteLength) {
    throw new AudioUnreadableError('malformed', 'The WAV format chunk is too short.');
  }
  const channels = view.getUint16(at + 2, true);
  const rate = view.getUint32(at + 4, true);
  const byteRate = view.getUint32(at + 8, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bits = view.getUint16(at + 14, true);
  const plausible =
    channels >= 1 &&
    channels <= MAX_CHANNELS &&
    rate >= MIN_RATE &&
    rate <= MAX_RATE &&
    bits >= 1 &&
    bits <= 64 &&
    blockAlign >= 1 &&
    // At least one bit per frame (ADPCM packs 4), at most 64 bits per sample.
    byteRate >= rate / 8 &&
    byteRate <= rate * channels * 8;
  if (!plausible) {
    throw new AudioUnreadableError(
      'malformed',
      `The WAV format chunk is not plausible (${channels} channels, ${rate} Hz, ${bits} bits, ${byteRate} bytes/s): the file is damaged.`,
    );
  }
}
