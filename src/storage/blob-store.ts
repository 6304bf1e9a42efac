import type { Readable } from 'node:stream';
import { wholeRange } from './range.js';

/** What a completed write produced. */
export interface PutResult {
  size: number;
  /** Hex SHA-256 of the bytes written. */
  sha256: string;
  /** The first bytes (up to `headBytes`), for type sniffing without a second read. */
  head: Buffer;
}

export interface BlobStat {
  size: number;
  mtime: Date;
}

/** A blob found while sweeping. `temporary` marks leftovers of interrupted writes. */
export interface BlobEntry {
  key: string;
  size: number;
  mtime: Date;
  temporary: boolean;
}

/**
 * Where file bytes live. Keys are ours (never user input). Implementations:
 * `DiskBlobStore` (local folder, the embedded default) and `S3BlobStore`
 * (any S3-compatible bucket). A double lives in test/doubles/.
 */
export interface BlobStore {
  /**
   * Streams `source` into `key` atomically: readers see either nothing or the
   * complete blob, never a partial one. Rejects with BlobTooLargeError past
   * `maxBytes`, leaving nothing behind; an aborted source leaves nothing either.
   */
  put(
    key: string,
    source: Readable,
    opts?: { maxBytes?: number; headBytes?: number },
  ): Promise<PutResult>;
  /** Bytes `start`..`end` inclusive (whole blob without a range). Throws BlobNotFoundError. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Undefined when the blob does not exist. */
  stat(key: string): Promise<BlobStat | undefined>;
  /** Idempotent. */
  delete(key: string): Promise<void>;
  /** Every blob and temporary leftover, for the sweeper. */
  list(): AsyncIterable<BlobEntry>;
  /** Removes a temporary leftover reported by `list`. */
  deleteTemporary(key: string): Promise<void>;
  /**
   * A short-lived URL that fetches the blob straight from the store (S3-compatible
   * stores only), answering with the given type and disposition.
   */
  presignGet?(
    key: string,
    opts: { ttlSec: number; contentType?: string; contentDisposition?: string },
  ): Promise<string>;
}

/** A whole blob of `size` bytes (as its row records it) in memory. */
export async function readWhole(store: BlobStore, key: string, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.read(key, wholeRange(size))) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export class BlobTooLargeError extends Error {
  override readonly name = 'BlobTooLargeError';
  constructor(readonly limit: number) {
    super(`blob exceeds ${limit} bytes`);
  }
}

export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
  constructor(readonly key: string) {
    super(`blob ${key} not found`);
  }
}
