import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  BlobNotFoundError,
  BlobTooLargeError,
  type BlobEntry,
  type BlobStat,
  type BlobStore,
  type PutResult,
} from '../../src/storage/blob-store.js';

interface Stored {
  bytes: Buffer;
  mtime: Date;
}

/** Which operation a test wants to fail, and how. */
export type FailOn = Partial<Record<'put' | 'read' | 'delete' | 'stat', () => Error>>;

/**
 * An in-memory `BlobStore` for tests: the same contract as the disk store
 * (atomic put, size limit, ranges, typed not-found), plus knobs to make an
 * operation fail and a record of the calls made.
 */
export class MemoryBlobStore implements BlobStore {
  readonly blobs = new Map<string, Stored>();
  /** Leftovers of interrupted writes, as `list()` reports them (tests may add some). */
  readonly temporary = new Map<string, Stored>();
  readonly calls: { op: string; key: string }[] = [];
  failOn: FailOn = {};

  constructor(private readonly now: () => Date = () => new Date()) {}

  async put(
    key: string,
    source: Readable,
    opts: { maxBytes?: number; headBytes?: number } = {},
  ): Promise<PutResult> {
    this.calls.push({ op: 'put', key });
    const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      const injected = this.failOn.put?.();
      if (injected) throw injected;
      for await (const chunk of source) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        size += buf.length;
        if (size > max) throw new BlobTooLargeError(max);
        chunks.push(buf);
      }
      if ((source as Readable & { truncated?: boolean }).truncated) {
        throw new BlobTooLargeError(opts.maxBytes ?? 0);
      }
    } catch (err) {
      source.resume();
      throw err;
    }
    const bytes = Buffer.concat(chunks);
    this.blobs.set(key, { bytes, mtime: this.now() });
    return {
      size,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      head: Buffer.from(bytes.subarray(0, opts.headBytes ?? 4100)),
    };
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    this.calls.push({ op: 'read', key });
    const injected = this.failOn.read?.();
    if (injected) throw injected;
    const blob = this.blobs.get(key);
    if (!blob) throw new BlobNotFoundError(key);
    const bytes = range ? blob.bytes.subarray(range.start, range.end + 1) : blob.bytes;
    return Readable.from([Buffer.from(bytes)]);
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    const injected = this.failOn.stat?.();
    if (injected) throw injected;
    const blob = this.blobs.get(key);
    return blob ? { size: blob.bytes.length, mtime: blob.mtime } : undefined;
  }

  async delete(key: string): Promise<void> {
    this.calls.push({ op: 'delete', key });
    const injected = this.failOn.delete?.();
    if (injected) throw injected;
    this.blobs.delete(key);
  }

  async *list(): AsyncIterable<BlobEntry> {
    for (const [key, b] of [...this.blobs]) {
      yield { key, size: b.bytes.length, mtime: b.mtime, temporary: false };
    }
    for (const [key, b] of [...this.temporary]) {
      yield { key, size: b.bytes.length, mtime: b.mtime, temporary: true };
    }
  }

  async deleteTemporary(key: string): Promise<void> {
    this.calls.push({ op: 'deleteTemporary', key });
    this.temporary.delete(key);
  }
}
