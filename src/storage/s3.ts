import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import {
  BlobNotFoundError,
  BlobTooLargeError,
  type BlobEntry,
  type BlobStat,
  type BlobStore,
  type PutResult,
} from './blob-store.js';
import { Meter } from './meter.js';

const KEY_RE = /^[a-z0-9][a-z0-9/_-]{0,200}$/;

export interface S3StoreOptions {
  bucket: string;
  /** Folder inside the bucket ('' for the root), without slashes at either end. */
  prefix: string;
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
  /** Multipart part size (S3's minimum is 5 MiB). */
  partBytes?: number;
  /** Parts in flight at once per upload. */
  queueSize?: number;
}

/**
 * Blobs in an S3-compatible bucket (AWS, MinIO, R2, Ceph, s3rver). Uploads
 * stream as multipart (the object appears only once complete, so readers
 * never see a partial one); checksums are sent only when the API requires
 * them, which third-party stores need. Abandoned multipart uploads are
 * invisible to readers; a bucket lifecycle rule removes them (see README).
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;

  constructor(private readonly opts: S3StoreOptions) {
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    };
    this.client = new S3Client(config);
  }

  private objectKey(key: string): string {
    if (!KEY_RE.test(key) || key.includes('..')) throw new Error(`invalid blob key ${key}`);
    return this.opts.prefix ? `${this.opts.prefix}/${key}` : key;
  }

  async put(
    key: string,
    source: Readable,
    opts: { maxBytes?: number; headBytes?: number } = {},
  ): Promise<PutResult> {
    const Key = this.objectKey(key);
    const meter = new Meter(opts.maxBytes ?? Number.POSITIVE_INFINITY, opts.headBytes ?? 4100);
    // Errors of the source (an aborted request) reach the upload through the meter.
    source.once('error', (err) => meter.destroy(err));
    source.pipe(meter);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key, Body: meter },
      partSize: this.opts.partBytes ?? 8 * 1024 * 1024,
      queueSize: this.opts.queueSize ?? 4,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      source.unpipe(meter);
      // `leavePartsOnError: false` aborts the multipart upload; a store that refuses
      // the abort leaves invisible parts for its lifecycle rule.
      throw meter.failure ?? err;
    }
    // A multipart file stream that hit its size limit ends quietly but flags itself.
    if ((source as Readable & { truncated?: boolean }).truncated) {
      await this.delete(key);
      throw new BlobTooLargeError(opts.maxBytes ?? 0);
    }
    return { size: meter.bytesSeen, sha256: meter.hash.digest('hex'), head: meter.headBuffer() };
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.opts.bucket,
          Key: this.objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const body = out.Body;
      if (body instanceof Readable) return body;
      if (!body) return Readable.from([]);
      // any: the SDK's body mixin type; in Node it is always an IncomingMessage (a Readable).
      return Readable.from(body as unknown as AsyncIterable<Uint8Array>);
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key);
      throw err;
    }
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }),
      );
      return { size: out.ContentLength ?? 0, mtime: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }),
    );
  }

  async *list(): AsyncIterable<BlobEntry> {
    const base = this.opts.prefix ? `${this.opts.prefix}/` : '';
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.opts.bucket,
          Prefix: base,
          ContinuationToken: token,
          MaxKeys: 1000,
        }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        yield {
          key: o.Key.slice(base.length),
          size: o.Size ?? 0,
          mtime: o.LastModified ?? new Date(0),
          temporary: false,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** S3 has no visible temporaries: unfinished multipart uploads never list as objects. */
  async deleteTemporary(key: string): Promise<void> {
    throw new Error(`not a temporary key: ${key}`);
  }

  async presignGet(
    key: string,
    opts: { ttlSec: number; contentType?: string; contentDisposition?: string },
  ): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.opts.bucket,
        Key: this.objectKey(key),
        ResponseContentType: opts.contentType,
        ResponseContentDisposition: opts.contentDisposition,
      }),
      { expiresIn: opts.ttlSec },
    );
  }

  close(): void {
    this.client.destroy();
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
