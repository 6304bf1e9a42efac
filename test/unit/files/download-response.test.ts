import { describe, expect, it } from 'vitest';
import {
  contentDisposition,
  planDownload,
  type ConditionalRequest,
  type DownloadMode,
} from '../../../src/services/files/download-response.js';

const file = {
  size: 1000,
  sha256: 'a'.repeat(64),
  updated_at: '2026-01-02T03:04:05.678Z',
  kind: 'audio' as const,
  mime_type: 'audio/wav',
  file_name: 'voice.wav',
  is_public: 1,
  storage_key: 'blobs/0190-abc',
};
const etag = `"${'a'.repeat(32)}"`;
const lastModified = 'Fri, 02 Jan 2026 03:04:05 GMT';

interface Row {
  name: string;
  req: ConditionalRequest;
  mode?: DownloadMode;
  file?: Partial<typeof file>;
  kind: string;
  status?: number;
  headers?: Record<string, string | undefined>;
  range?: { start: number; end: number };
}

const rows: Row[] = [
  {
    name: 'a plain request streams the whole file',
    req: {},
    kind: 'stream',
    status: 200,
    headers: { 'content-length': '1000', etag, 'last-modified': lastModified },
  },
  {
    name: 'a byte range streams a part with its content-range',
    req: { range: 'bytes=10-19' },
    kind: 'stream',
    status: 206,
    range: { start: 10, end: 19 },
    headers: { 'content-range': 'bytes 10-19/1000', 'content-length': '10' },
  },
  {
    name: 'a suffix range takes the last bytes',
    req: { range: 'bytes=-100' },
    kind: 'stream',
    status: 206,
    range: { start: 900, end: 999 },
  },
  {
    name: 'a range past the end is unsatisfiable',
    req: { range: 'bytes=5000-' },
    kind: 'unsatisfiable',
  },
  {
    name: 'If-Range with the current ETag keeps the range',
    req: { range: 'bytes=0-9', ifRange: etag },
    kind: 'stream',
    status: 206,
  },
  {
    name: 'If-Range with an old ETag sends the whole file',
    req: { range: 'bytes=0-9', ifRange: '"old"' },
    kind: 'stream',
    status: 200,
    headers: { 'content-range': undefined },
  },
  {
    name: 'a matching If-None-Match is not modified',
    req: { ifNoneMatch: etag },
    kind: 'not-modified',
    status: 304,
  },
  {
    name: 'a weak matching ETag is not modified',
    req: { ifNoneMatch: `"x", W/${etag}` },
    kind: 'not-modified',
  },
  { name: 'If-None-Match * is not modified', req: { ifNoneMatch: '*' }, kind: 'not-modified' },
  { name: 'another ETag streams', req: { ifNoneMatch: '"other"' }, kind: 'stream', status: 200 },
  {
    name: 'If-Modified-Since at the last change is not modified',
    req: { ifModifiedSince: lastModified },
    kind: 'not-modified',
  },
  {
    name: 'If-Modified-Since before the last change streams',
    req: { ifModifiedSince: 'Thu, 01 Jan 2026 00:00:00 GMT' },
    kind: 'stream',
  },
  {
    name: 'If-None-Match wins over If-Modified-Since',
    req: { ifNoneMatch: '"other"', ifModifiedSince: lastModified },
    kind: 'stream',
  },
  {
    name: 'a private file is not cached by shared caches',
    req: {},
    file: { is_public: 0 },
    kind: 'stream',
    headers: { 'cache-control': 'private, max-age=0, must-revalidate' },
  },
  {
    name: 'a file that is neither audio nor image is served as opaque bytes',
    req: {},
    file: { kind: 'other' as 'audio', mime_type: 'text/html' },
    kind: 'stream',
    headers: { 'content-type': 'application/octet-stream' },
  },
  {
    name: 'x-accel hands the blob to nginx with no body of its own',
    req: { range: 'bytes=0-9' },
    mode: { kind: 'x-accel', prefix: '/_blobs/' },
    kind: 'x-accel',
    status: 200,
    headers: {
      'x-accel-redirect': '/_blobs/blobs/0190-abc',
      'content-length': undefined,
      'content-type': 'audio/wav',
    },
  },
  {
    name: 'x-accel still answers a revalidation itself',
    req: { ifNoneMatch: etag },
    mode: { kind: 'x-accel', prefix: '/_blobs/' },
    kind: 'not-modified',
  },
  {
    name: 'redirect mode sends the client to the store, never cached',
    req: {},
    mode: { kind: 'redirect', ttlSec: 60 },
    kind: 'redirect',
    status: 302,
    headers: { 'cache-control': 'private, no-store', etag: undefined },
  },
  {
    name: 'redirect mode still answers a revalidation itself',
    req: { ifNoneMatch: etag },
    mode: { kind: 'redirect', ttlSec: 60 },
    kind: 'not-modified',
  },
];

describe('planDownload', () => {
  it.each(rows)('$name', (row) => {
    const plan = planDownload({ ...file, ...row.file }, row.req, row.mode);
    expect(plan.kind).toBe(row.kind);
    if (row.status !== undefined) expect('status' in plan && plan.status).toBe(row.status);
    if (row.range) expect('range' in plan && plan.range).toEqual(row.range);
    for (const [k, v] of Object.entries(row.headers ?? {})) {
      expect('headers' in plan ? plan.headers[k] : 'no headers', k).toBe(v);
    }
  });

  it('reports the size of an unsatisfiable range', () => {
    expect(planDownload(file, { range: 'bytes=1000-' })).toEqual({
      kind: 'unsatisfiable',
      size: 1000,
    });
  });
});

describe('contentDisposition', () => {
  it.each([
    ['voice.wav', `inline; filename="voice.wav"; filename*=UTF-8''voice.wav`],
    ['声音.wav', `inline; filename="__.wav"; filename*=UTF-8''%E5%A3%B0%E9%9F%B3.wav`],
    ['a"b\\c.mp3', `inline; filename="a_b_c.mp3"; filename*=UTF-8''a%22b%5Cc.mp3`],
    ["it's (1).wav", `inline; filename="it's (1).wav"; filename*=UTF-8''it%27s%20%281%29.wav`],
  ])('%s', (name, expected) => {
    expect(contentDisposition(name)).toBe(expected);
  });
});
