import type { Readable } from 'node:stream';
import type { FileRow } from '../../repositories/file.repository.js';
import { parseRange } from '../../storage/range.js';

/**
 * Download responses as data: from a file row and the request's conditional
 * headers to status, headers and what to send. No I/O here, so every rule
 * (ETag, 304, Range, If-Range, 416, the hand-off modes) is table-tested.
 */

export interface ConditionalRequest {
  range?: string;
  ifRange?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

/** What a download resolves to; the HTTP layer only sends it. */
export interface DownloadDescriptor {
  status: 200 | 206 | 302 | 304;
  headers: Record<string, string>;
  body?: Readable;
}

/**
 * How bytes leave: `stream` through this process; `x-accel` tells nginx to
 * send the file itself (`X-Accel-Redirect`, local storage behind nginx);
 * `redirect` sends the client to a short presigned URL of the store (S3).
 */
export type DownloadMode =
  { kind: 'stream' } | { kind: 'x-accel'; prefix: string } | { kind: 'redirect'; ttlSec: number };

export type DownloadPlan =
  | { kind: 'not-modified'; status: 304; headers: Record<string, string> }
  | { kind: 'unsatisfiable'; size: number }
  | {
      kind: 'stream';
      status: 200 | 206;
      headers: Record<string, string>;
      range?: { start: number; end: number };
    }
  | { kind: 'x-accel'; status: 200; headers: Record<string, string> }
  | { kind: 'redirect'; status: 302; headers: Record<string, string> };

type DownloadFile = Pick<
  FileRow,
  | 'size'
  | 'sha256'
  | 'updated_at'
  | 'kind'
  | 'mime_type'
  | 'file_name'
  | 'is_public'
  | 'storage_key'
>;

export function etagOf(file: Pick<FileRow, 'sha256'>): string {
  return `"${file.sha256.slice(0, 32)}"`;
}

/** The Content-Type a download is served with (anything not audio or image is opaque bytes). */
export function downloadContentType(file: Pick<FileRow, 'kind' | 'mime_type'>): string {
  return file.kind === 'audio' || file.kind === 'image'
    ? file.mime_type
    : 'application/octet-stream';
}

export function planDownload(
  file: DownloadFile,
  req: ConditionalRequest,
  mode: DownloadMode = { kind: 'stream' },
): DownloadPlan {
  const size = Number(file.size);
  const etag = etagOf(file);
  const lastModified = new Date(file.updated_at);
  lastModified.setMilliseconds(0);
  const headers: Record<string, string> = {
    'accept-ranges': 'bytes',
    etag,
    'last-modified': lastModified.toUTCString(),
    'content-type': downloadContentType(file),
    'content-disposition': contentDisposition(file.file_name),
    'cache-control':
      file.is_public === 1
        ? 'public, max-age=0, must-revalidate'
        : 'private, max-age=0, must-revalidate',
    'x-content-type-options': 'nosniff',
  };
  if (notModified(req, etag, lastModified)) return { kind: 'not-modified', status: 304, headers };
  if (mode.kind === 'redirect') {
    // The store answers Range itself; the redirect must not outlive its signature.
    return {
      kind: 'redirect',
      status: 302,
      headers: { 'cache-control': 'private, no-store', 'x-content-type-options': 'nosniff' },
    };
  }
  if (mode.kind === 'x-accel') {
    // nginx serves the bytes (and Range) from the file; these headers pass through.
    headers['x-accel-redirect'] = `${mode.prefix}${encodeURI(file.storage_key)}`;
    return { kind: 'x-accel', status: 200, headers };
  }
  const range = req.ifRange && req.ifRange !== etag ? undefined : parseRange(req.range, size);
  if (range === 'unsatisfiable') return { kind: 'unsatisfiable', size };
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    headers['content-length'] = String(range.end - range.start + 1);
    return { kind: 'stream', status: 206, headers, range };
  }
  headers['content-length'] = String(size);
  return { kind: 'stream', status: 200, headers };
}

export function notModified(req: ConditionalRequest, etag: string, lastModified: Date): boolean {
  if (req.ifNoneMatch) {
    return req.ifNoneMatch
      .split(',')
      .some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');
  }
  if (req.ifModifiedSince) {
    const since = Date.parse(req.ifModifiedSince);
    return Number.isFinite(since) && lastModified.getTime() <= since;
  }
  return false;
}

/** RFC 6266 / 5987: an ASCII fallback plus the UTF-8 name, so Chinese names survive. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `inline; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
