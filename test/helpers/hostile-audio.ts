/**
 * Hostile audio, generated on the spot (nothing downloaded): files whose
 * headers claim seconds, or nothing, while their content plays for hours, and
 * WAV files with absurd headers. Encoded files come from the static ffmpeg of
 * @ffmpeg-installer/ffmpeg; the rest is written byte by byte.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ffmpegPath = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string })
  .path;

export interface HostileFile {
  /** Short label for test names. */
  name: string;
  /** File name (its extension matches the content). */
  file: string;
  bytes: Uint8Array;
  /** What the file really holds, in words. */
  truth: string;
}

/** Silence of `seconds` at 8 kHz mono, encoded by ffmpeg with `args`, as bytes. */
async function ffmpeg(seconds: number, ext: string, args: string[]): Promise<Uint8Array> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hostile-'));
  const out = path.join(dir, `out.${ext}`);
  try {
    await run(
      ffmpegPath,
      [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'anullsrc=r=8000:cl=mono',
        '-t',
        String(seconds),
        ...args,
        out,
      ],
      { maxBuffer: 1 << 20 },
    );
    return new Uint8Array(await readFile(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** FLAC whose STREAMINFO claims `claimSamples` samples in all (0 = unknown). */
function setFlacTotalSamples(bytes: Uint8Array, claimSamples: number): Uint8Array {
  const b = bytes.slice();
  // "fLaC", block header (4), STREAMINFO: total samples is the low 4 bits of byte 13 + bytes 14–17.
  const at = 8;
  b[at + 13] = (b[at + 13]! & 0xf0) | Math.floor(claimSamples / 2 ** 32);
  new DataView(b.buffer).setUint32(at + 14, claimSamples >>> 0);
  return b;
}

/** MP4 whose `mvhd` and `mdhd` durations claim `seconds`. */
function setMp4Durations(bytes: Uint8Array, seconds: number): Uint8Array {
  const b = bytes.slice();
  const view = new DataView(b.buffer);
  for (const box of ['mvhd', 'mdhd']) {
    for (let i = 4; i + 4 < b.length; i++) {
      if (String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!) !== box) continue;
      const body = i + 4;
      if (b[body] !== 0) continue; // version 0 only (what ffmpeg writes for short files)
      const timescale = view.getUint32(body + 12);
      view.setUint32(body + 16, Math.round(seconds * timescale));
    }
  }
  return b;
}

/** MP3 of `targetBytes` made of one silent frame repeated (no Xing header, no ID3). */
async function silentMp3Frames(targetBytes: number): Promise<Uint8Array> {
  const mp3 = await ffmpeg(5, 'mp3', [
    '-c:a',
    'libmp3lame',
    '-b:a',
    '8k',
    '-write_xing',
    '0',
    '-id3v2_version',
    '0',
  ]);
  // Find two consecutive frame syncs in the middle: the frame between them is a silent frame.
  let first = -1;
  for (let i = Math.floor(mp3.length / 2); i + 1 < mp3.length; i++) {
    if (mp3[i] === 0xff && (mp3[i + 1]! & 0xe0) === 0xe0) {
      if (first < 0) first = i;
      else if (i - first >= 24) {
        const frame = mp3.subarray(first, i);
        const out = new Uint8Array(Math.floor(targetBytes / frame.length) * frame.length);
        for (let o = 0; o < out.length; o += frame.length) out.set(frame, o);
        return out;
      }
    }
  }
  throw new Error('no MP3 frame found');
}

function ascii(b: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
}

/** A WAV: 1 s of 8 kHz 16-bit mono silence, with `junkChunks` empty chunks before the data, and fmt fields overridden. */
export function craftedWav(opts: {
  junkChunks?: number;
  fmt?: Partial<{
    channels: number;
    rate: number;
    byteRate: number;
    blockAlign: number;
    bits: number;
  }>;
}): Uint8Array {
  const fmt = { channels: 1, rate: 8000, byteRate: 16000, blockAlign: 2, bits: 16, ...opts.fmt };
  const junk = opts.junkChunks ?? 0;
  const dataBytes = 16000;
  const size = 12 + 24 + junk * 8 + 8 + dataBytes;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  ascii(b, 0, 'RIFF');
  v.setUint32(4, size - 8, true);
  ascii(b, 8, 'WAVE');
  ascii(b, 12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, fmt.channels, true);
  v.setUint32(24, fmt.rate, true);
  v.setUint32(28, fmt.byteRate, true);
  v.setUint16(32, fmt.blockAlign, true);
  v.setUint16(34, fmt.bits, true);
  let at = 36;
  for (let i = 0; i < junk; i++, at += 8) ascii(b, at, 'junk'); // size 0
  ascii(b, at, 'data');
  v.setUint32(at + 4, dataBytes, true);
  return b;
}

/**
 * Every hostile file. `hours` scales the long ones (1 h by default; the issue's
 * measurements used up to 4 h, which only makes the generation slower).
 */
export async function hostileAudio(hours = 1): Promise<HostileFile[]> {
  const sec = Math.round(hours * 3600);
  const flac = await ffmpeg(sec, 'flac', ['-c:a', 'flac']);
  const m4a = await ffmpeg(sec, 'm4a', ['-c:a', 'aac', '-b:a', '8k']);
  return [
    {
      name: 'FLAC claiming 10 s',
      file: 'claims-10s.flac',
      bytes: setFlacTotalSamples(flac, 10 * 8000),
      truth: `${hours} h of silence`,
    },
    {
      name: 'FLAC claiming no length',
      file: 'claims-nothing.flac',
      bytes: setFlacTotalSamples(flac, 0),
      truth: `${hours} h of silence`,
    },
    {
      name: 'OGG Vorbis of hours',
      file: 'long.ogg',
      bytes: await ffmpeg(sec, 'ogg', ['-c:a', 'libvorbis']),
      truth: `${hours} h of silence`,
    },
    {
      name: 'M4A claiming 10 s',
      file: 'claims-10s.m4a',
      bytes: setMp4Durations(m4a, 10),
      truth: `${hours} h of silence`,
    },
    {
      name: 'ADTS AAC (no length in any header)',
      file: 'long.aac',
      bytes: await ffmpeg(sec, 'aac', ['-c:a', 'aac', '-b:a', '8k', '-f', 'adts']),
      truth: `${hours} h of silence`,
    },
    {
      name: 'MP3 without a Xing header',
      file: 'long.mp3',
      bytes: await ffmpeg(sec, 'mp3', ['-c:a', 'libmp3lame', '-b:a', '8k', '-write_xing', '0']),
      truth: `${hours} h of silence`,
    },
    {
      name: 'MP3 of 20 MB of silent frames',
      file: 'silent-frames.mp3',
      bytes: await silentMp3Frames(20 * 1024 * 1024),
      truth: 'about 6 h of silent frames',
    },
    {
      name: 'WAV with 2 million empty chunks',
      file: 'chunks.wav',
      bytes: craftedWav({ junkChunks: 2_000_000 }),
      truth: '1 s of audio behind 16 MB of chunk headers',
    },
    {
      name: 'WAV with a zero byte rate (duration Infinity)',
      file: 'zero-byte-rate.wav',
      bytes: craftedWav({ fmt: { byteRate: 0 } }),
      truth: '1 s of audio',
    },
    {
      name: 'WAV claiming 4 billion Hz and 0 channels',
      file: 'absurd-fmt.wav',
      bytes: craftedWav({ fmt: { rate: 0xffffffff, channels: 0, blockAlign: 0 } }),
      truth: '1 s of audio',
    },
  ];
}
