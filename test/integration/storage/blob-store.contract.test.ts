import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlobNotFoundError,
  BlobTooLargeError,
  type BlobStore,
} from '../../../src/storage/blob-store.js';
import { DiskBlobStore } from '../../../src/storage/disk.js';
import { S3BlobStore } from '../../../src/storage/s3.js';
import { MemoryBlobStore } from '../../doubles/memory-blob-store.js';
import { startS3, type S3Server } from '../../helpers/s3.js';

/** One contract, three stores: what FileService relies on holds for each. */
interface Subject {
  name: string;
  open(): Promise<BlobStore>;
  close(): Promise<void>;
  /** For stores that list in pages: starts counting the list requests sent. */
  countListPages?(store: BlobStore): () => number;
}

let s3: S3Server | undefined;
const dirs: string[] = [];

const subjects: Subject[] = [
  {
    name: 'disk',
    open: async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'timbre-blobs-'));
      dirs.push(dir);
      const store = new DiskBlobStore(dir);
      await store.init();
      return store;
    },
    close: async () => {
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  },
  {
    name: 'memory double',
    open: async () => new MemoryBlobStore(),
    close: async () => undefined,
  },
  {
    name: 's3 (s3rver)',
    open: async () => {
      s3 ??= await startS3();
      return new S3BlobStore({
        bucket: s3.bucket,
        prefix: `contract-${randomUUID()}`,
        endpoint: s3.endpoint,
        region: 'us-east-1',
        credentials: s3.credentials,
        forcePathStyle: true,
        // S3's smallest part, so a 12 MiB upload really goes multipart.
        partBytes: 5 * 1024 * 1024,
      });
    },
    close: async () => {
      await s3?.stop();
      s3 = undefined;
    },
    countListPages: (store) => {
      let pages = 0;
      (store as S3BlobStore).client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'ListObjectsV2Command') pages++;
          return next(args);
        },
        { step: 'initialize' },
      );
      return () => pages;
    },
  },
];

/** Runs `work` on every item, `width` at a time. */
async function eachLimited<T>(items: T[], width: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** `total` bytes in `chunk`-sized pieces, as a slow network would deliver them. */
function chunked(bytes: Buffer, chunk = 64 * 1024): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  return Readable.from(pieces);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

async function keys(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list()) if (!e.temporary) out.push(e.key);
  return out.sort();
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const subject of subjects) {
  describe(`BlobStore contract: ${subject.name}`, () => {
    let store: BlobStore;
    beforeAll(async () => {
      store = await subject.open();
    }, 30_000);
    afterAll(() => subject.close());

    it('stores a streamed blob and reports its size, SHA-256 and head', async () => {
      const bytes = randomBytes(300_000);
      const put = await store.put('blobs/a', chunked(bytes), { headBytes: 100 });
      expect(put.size).toBe(bytes.length);
      expect(put.sha256).toBe(sha(bytes));
      expect(put.head.equals(bytes.subarray(0, 100))).toBe(true);
      expect((await readAll(await store.read('blobs/a'))).equals(bytes)).toBe(true);
      expect((await store.stat('blobs/a'))?.size).toBe(bytes.length);
    });

    it('stores a blob larger than one multipart part intact', async () => {
      const bytes = randomBytes(12 * 1024 * 1024 + 17);
      const put = await store.put('blobs/big', chunked(bytes, 256 * 1024));
      expect(put.size).toBe(bytes.length);
      expect(put.sha256).toBe(sha(bytes));
      expect(sha(await readAll(await store.read('blobs/big')))).toBe(sha(bytes));
    }, 60_000);

    it('stores an empty blob', async () => {
      const put = await store.put('blobs/empty', Readable.from([]));
      expect(put.size).toBe(0);
      expect((await readAll(await store.read('blobs/empty'))).length).toBe(0);
    });

    it('reads an inclusive byte range', async () => {
      const bytes = randomBytes(10_000);
      await store.put('blobs/ranged', chunked(bytes, 1000));
      const part = await readAll(await store.read('blobs/ranged', { start: 1234, end: 5678 }));
      expect(part.equals(bytes.subarray(1234, 5679))).toBe(true);
      const last = await readAll(await store.read('blobs/ranged', { start: 9999, end: 9999 }));
      expect(last.equals(bytes.subarray(9999))).toBe(true);
    });

    it('says not found for a blob that does not exist', async () => {
      await expect(store.read('blobs/nope')).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await store.stat('blobs/nope')).toBeUndefined();
    });

    it('deletes, and deleting again is harmless', async () => {
      await store.put('blobs/gone', Readable.from([Buffer.from('bye')]));
      await store.delete('blobs/gone');
      await store.delete('blobs/gone');
      expect(await store.stat('blobs/gone')).toBeUndefined();
      await expect(store.read('blobs/gone')).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('refuses a blob over the limit and leaves nothing behind', async () => {
      const bytes = randomBytes(200_000);
      await expect(
        store.put('blobs/huge', chunked(bytes, 10_000), { maxBytes: 100_000 }),
      ).rejects.toBeInstanceOf(BlobTooLargeError);
      expect(await store.stat('blobs/huge')).toBeUndefined();
      expect(await keys(store)).not.toContain('blobs/huge');
    });

    it('refuses a source that flags itself truncated (a multipart limit) and keeps nothing', async () => {
      const source = Object.assign(Readable.from([Buffer.from('partial')]), { truncated: true });
      await expect(store.put('blobs/trunc', source, { maxBytes: 7 })).rejects.toBeInstanceOf(
        BlobTooLargeError,
      );
      expect(await store.stat('blobs/trunc')).toBeUndefined();
    });

    it('keeps nothing when the source fails midway', async () => {
      const source = new Readable({
        read() {
          this.push(randomBytes(50_000));
          this.destroy(new Error('client went away'));
        },
      });
      await expect(store.put('blobs/aborted', source)).rejects.toThrow();
      expect(await store.stat('blobs/aborted')).toBeUndefined();
      expect(await keys(store)).not.toContain('blobs/aborted');
    });

    it('lists past 1,000 blobs, every key once (S3 pages by continuation token)', async () => {
      const many = Array.from({ length: 1050 }, (_, i) => `paged/p-${String(i).padStart(4, '0')}`);
      await eachLimited(many, 16, (key) => store.put(key, Readable.from([Buffer.from(key)])));
      const pages = subject.countListPages?.(store);
      const listed = (await keys(store)).filter((k) => k.startsWith('paged/'));
      expect(listed).toEqual(many);
      // S3 answers at most 1,000 keys a request: the rest must come from a second page.
      if (pages) expect(pages()).toBeGreaterThanOrEqual(2);
      await eachLimited(many, 16, (key) => store.delete(key));
    }, 120_000);

    it('lists every stored blob by its key', async () => {
      await store.put('blobs/list-1', Readable.from([Buffer.from('1')]));
      await store.put('blobs/list-2', Readable.from([Buffer.from('22')]));
      const listed = await keys(store);
      expect(listed).toEqual(expect.arrayContaining(['blobs/list-1', 'blobs/list-2', 'blobs/a']));
      for await (const e of store.list()) {
        if (e.key === 'blobs/list-2') expect(e.size).toBe(2);
      }
    });
  });
}
