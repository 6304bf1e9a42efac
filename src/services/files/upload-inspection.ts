import type { Readable } from 'node:stream';
import { v7 as uuidv7 } from 'uuid';
import { AudioUnreadableError } from '../../audio/errors.js';
import { sniffType } from '../../audio/sniff.js';
import { ERRORS } from '../../errors.js';
import { BlobTooLargeError, readWhole, type BlobStore } from '../../storage/blob-store.js';
import {
  ALLOWED_NAME_EXTS,
  extensionOf,
  sanitizeFileName,
  typeBySniffedExt,
  type AllowedType,
} from '../file-types.js';
import type { AudioFacts } from './file-row.js';
import type { AudioWork } from '../../workers/audio-work.js';
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
/**
 * Upload inspection: streams an upload into the store (size, SHA-256 and
 * head taken in the same pass as the write), then decides what it is from
 * its content, not its name. A PCM WAV is settled from its header alone.
 */
export class UploadInspector {
  constructor(
    private readonly blobs: BlobStore,
    private readonly maxBytes: number,
    private readonly audio: AudioWork,
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
      if (err instanceof AudioUnreadableError) {
        throw ERRORS.unprocessable('The audio cannot be parsed', { info: err.message });
      }
      throw err;
    }
  }

  /**
   * A PCM WAV is settled from its header (its data chunk is never read
   * again); anything else is probed and decoded, bounded by content seconds
   * whatever the headers claim, on the worker pool. For those formats the
   * header alone is not trusted on purpose: an MP3, FLAC or M4A header (or a
   * prefix music-metadata could read) may promise seconds in front of hours,
   * or of a truncated body, which only decoding the content reveals. So they
   * are read back once, from the store, after the write.
   */
  private async probe(staged: Staged, type: AllowedType): Promise<AudioFacts> {
    if (type.ext === 'wav') {
      const fromHeader = wavFromHeader(staged.head, staged.size);
      if (fromHeader) {
        if (fromHeader.duration > this.audio.limits.maxSampleSec) {
          throw this.audio.tooLong('The recording');
        }
        return fromHeader;
      }
    }
    const inspection = await this.audio.inspectUpload(
      await readWhole(this.blobs, staged.key, staged.size),
    );
    if (!inspection.ok) {
      const { problem } = inspection;
      if (problem.kind === 'too_long') throw this.audio.tooLong('The recording');
      throw ERRORS.unprocessable('The audio cannot be parsed', { info: problem.message });
    }
    const p = inspection.probe;
    return {
      duration: p.durationSec,
      codec: p.codec,
      sampleRate: p.sampleRate,
      channels: p.channels,
    };
  }
}
