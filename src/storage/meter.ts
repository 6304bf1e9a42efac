import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BlobTooLargeError } from './blob-store.js';

/**
 * Bytes an upload's streams may hold (the pass-through of the multipart
 * part, the meter, the disk write): with Node's 16 KiB default every 64 KiB
 * network chunk stalls the upload until its write lands; with room for a
 * few, they go out as one writev. At most three times this per upload.
 */
export const UPLOAD_BUFFER = 1024 * 1024;

/** Counts, hashes, keeps the head and enforces the size limit while bytes flow. */
export class Meter extends Transform {
  /** Bytes seen so far (not `size`: the S3 uploader reads a body's `size` as its length). */
  bytesSeen = 0;
  readonly hash = createHash('sha256');
  private readonly head: Buffer[] = [];
  private headLen = 0;
  /** Why the meter stopped the stream (size limit), for callers whose error gets wrapped. */
  failure: Error | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly headBytes: number,
  ) {
    super({ highWaterMark: UPLOAD_BUFFER });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytesSeen += chunk.length;
    if (this.bytesSeen > this.maxBytes) {
      this.failure = new BlobTooLargeError(this.maxBytes);
      cb(this.failure);
      return;
    }
    if (this.headLen < this.headBytes) {
      const part = chunk.subarray(0, this.headBytes - this.headLen);
      this.head.push(part);
      this.headLen += part.length;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  headBuffer(): Buffer {
    return Buffer.concat(this.head);
  }
}
