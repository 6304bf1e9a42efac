import type { Readable } from 'node:stream';
import { parseStream } from 'music-metadata';
import { v7 as uuidv7 } from 'uuid';
import {
  AudioUnreadableError,
  decodeProbed,
  probeAudio,
  sniffType,
  truncation,
} from '../../audio/index.js';
import { ERRORS } from '../../errors.js';
import { BlobTooLargeError, type BlobStore } from '../../storage/blob-store.js';
import {
  ALLOWED_NAME_EXTS,
  extensionOf,
  sanitizeFileName,
  typeBySniffedExt,
  type AllowedType,
} from '../file-types.js';
import type { AudioFacts } from './file-row.js';
import { wavFromHeader } from './wav-header.js';

/** An upload's bytes, stored under a fresh key, not yet a file. */
export interface Staged {
  key: string;
  size: number;
  sha256: string;
  head: Buffer;
  name: string;
}

export interface Inspected {
  type: AllowedType;
  audio: AudioFacts | null;
}

/** Bytes kept from the start of an upload: enough for type sniffing and most WAV headers. */
const HEAD_BYTES = 64 * 1024;
/** Audio up to this size is probed in memory (strict checks, decode fallback); larger is streamed. */
const IN_MEMORY_PROBE_BYTES = 20 * 1024 * 1024;
/**
 * Formats whose header duration is not read from the stream itself (an MP3
 * Info/Xing frame or a bitrate estimate, FLAC STREAMINFO, an MP4 moov box):
 * a truncated or garbled body still parses. These are decoded once to check
 * the header's claim, when the claim is short enough to decode cheaply.
 */
const DECODE_CHECKED = new Set(['mp3', 'flac', 'm4a']);
const DECODE_CHECK_MAX_SEC = 180;

/**
 * Upload inspection: streams an upload into the store (size, SHA-256 and
 * head taken in the same pass as the write), then decides what it is from
 * its content, not its name. A PCM WAV is settled from its header alone.
 */
export class UploadInspector {
  constructor(
    private readonly blobs: BlobStore,
    private readonly maxBytes: number,
  ) {}

  async stage(filename: string, stream: Readable): Promise<Staged> {
    const name = sanitizeFileName(filename);
    const key = `blobs/${uuidv7()}`;
    try {
      const put = await this.blobs.put(key, stream, {
        maxBytes: this.maxBytes,
        headBytes: HEAD_BYTES,
      });
      return { key, name, size: put.size, sha256: put.sha256, head: put.head };
    } catch (err) {
      stream.resume();
      if (err instanceof BlobTooLargeError) {
        throw ERRORS.tooLarge('File too large', {
          info: `the limit is ${this.maxBytes} bytes`,
        });
      }
      throw err;
    }
  }

  async inspect(staged: Staged): Promise<Inspected> {
    if (staged.size === 0) throw ERRORS.badRequest('The file is empty');
    const nameExt = extensionOf(staged.name);
    if (nameExt && !ALLOWED_NAME_EXTS.includes(nameExt)) {
      throw ERRORS.unsupportedMedia(`Unsupported file type .${nameExt}`, {
        info: `allowed: ${ALLOWED_NAME_EXTS.join(', ')}`,
      });
    }
    const sniffed = await sniffType(staged.head);
    const type = sniffed ? typeBySniffedExt(sniffed.ext) : undefined;
    if (!type) {
      throw ERRORS.unsupportedMedia('Unsupported file type', {
        info: sniffed
          ? `the content is ${sniffed.mime}; allowed: ${ALLOWED_NAME_EXTS.join(', ')}`
          : 'the content is not a recognised audio or image format',
      });
    }
    if (nameExt && !type.names.includes(nameExt)) {
      throw ERRORS.unsupportedMedia(`The file extension .${nameExt} does not match its content`, {
        info: `the content is ${type.ext}`,
      });
    }
    if (type.kind === 'image') return { type, audio: null };
    try {
      return { type, audio: await this.probe(staged, type) };
    } catch (err) {
      if (err instanceof AudioUnreadableError || isParseError(err)) {
        throw ERRORS.unprocessable('The audio cannot be parsed', {
          info:
            err instanceof AudioUnreadableError ? err.message : 'the file is damaged or truncated',
        });
      }
      throw err;
    }
  }

  private async probe(staged: Staged, type: AllowedType): Promise<AudioFacts> {
    if (type.ext === 'wav') {
      const fromHeader = wavFromHeader(staged.head, staged.size);
      if (fromHeader) return fromHeader;
    }
    if (staged.size <= IN_MEMORY_PROBE_BYTES) {
      const bytes = await this.readAll(staged.key);
      const p = await probeAudio(bytes);
      if (DECODE_CHECKED.has(type.ext) && p.durationSec <= DECODE_CHECK_MAX_SEC) {
        const problem = truncation(p, await decodeProbed(bytes, p), {
          minRatio: 0.9,
          slackSec: 0.5,
          minPromisedSec: 0,
        });
        if (problem) throw new AudioUnreadableError('truncated', problem);
      }
      return {
        duration: p.durationSec,
        codec: p.codec,
        sampleRate: p.sampleRate,
        channels: p.channels,
      };
    }
    const { format } = await parseStream(
      await this.blobs.read(staged.key),
      { mimeType: type.mime, size: staged.size },
      { duration: true, skipCovers: true },
    );
    if (!format.sampleRate || !format.numberOfChannels || !format.duration) {
      throw new AudioUnreadableError('malformed', 'The audio headers are incomplete or damaged.');
    }
    return {
      duration: format.duration,
      codec: (format.codec ?? type.ext).toLowerCase(),
      sampleRate: format.sampleRate,
      channels: format.numberOfChannels,
    };
  }

  private async readAll(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.blobs.read(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}

function isParseError(err: unknown): boolean {
  const name = (err as Error)?.name ?? '';
  const msg = (err as Error)?.message ?? '';
  return /Couldn't|Invalid|Unexpected|End-Of-Stream|FieldDecodingError|unsupported|corrupt/i.test(
    `${name} ${msg}`,
  );
}
