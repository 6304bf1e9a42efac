import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { MemoryBlobStore } from '../../doubles/memory-blob-store.js';
import {
  fileRowCount,
  makeWav,
  rowKeys,
  serveApp,
  storedFiles,
  until,
  upload,
  type Served,
} from './helpers.js';

const dialects = await testDialects();

describe.each(dialects)('nothing orphaned on %s', (dialect) => {
  let t: Served;
  let token: string;
  beforeAll(async () => {
    t = await serveApp(dialect, { FILE_MAX_BYTES: String(64 * 1024 * 1024) });
    token = (await registerUser(t.app)).access;
  });
  afterAll(async () => t.close());

  const blobsOnly = () => storedFiles(t).filter((f) => f.startsWith('blobs/'));

  it('writes no row when the client dies mid-upload, and sweep leaves only referenced blobs', async () => {
    await upload(t.base, token, { name: 'kept.wav', bytes: makeWav(1) });
    const rowsBefore = await fileRowCount(t);
    const boundary = '----timbre-abort-test';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n` +
        'Content-Type: audio/wav\r\n\r\n',
    );
    const wav = makeWav(60, 48000); // ~5.8 MB; we send only part of it
    const declared = head.length + wav.length + `\r\n--${boundary}--\r\n`.length;
    let response: number | undefined;
    const req = request(`${t.base}/api/file/upload`, {
      method: 'POST',
      headers: {
        ...bearer(token),
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(declared),
      },
    });
    req.on('response', (res) => (response = res.statusCode));
    req.on('error', () => undefined);
    req.write(head);
    // Send about 2 MB in chunks, and wait until the server has staged some of it.
    for (let off = 0; off < 2_000_000; off += 64 * 1024) {
      req.write(wav.subarray(off, off + 64 * 1024));
    }
    await until(() => storedFiles(t).some((f) => f.startsWith('.tmp/')), 5000);
    req.destroy();
    // The server notices the abort: the temporary write is removed (or left for the sweeper).
    await until(() => !storedFiles(t).some((f) => f.startsWith('.tmp/')), 5000).catch(
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(response).toBeUndefined();
    expect(await fileRowCount(t)).toBe(rowsBefore);

    const result = await t.app.services.files.sweep(0);
    expect(result.missing).toBe(0);
    expect(storedFiles(t).filter((f) => f.startsWith('.tmp/'))).toEqual([]);
    expect(blobsOnly()).toEqual(await rowKeys(t));
    // The server still works afterwards.
    expect((await upload(t.base, token, { name: 'after.wav', bytes: makeWav(1) })).status).toBe(
      201,
    );
  });

  it('sweep removes an orphan blob and a temporary leftover placed in the storage dir', async () => {
    const dir = t.config.storage.dir;
    mkdirSync(path.join(dir, 'blobs'), { recursive: true });
    writeFileSync(path.join(dir, 'blobs', 'orphan-by-hand'), 'nobody points here');
    writeFileSync(path.join(dir, '.tmp', 'interrupted'), 'half a write');
    // Younger than the default age: kept (it may belong to a write in flight).
    const young = await t.app.services.files.sweep();
    expect(young).toMatchObject({ orphans: 0, temporary: 0 });
    expect(storedFiles(t)).toContain('blobs/orphan-by-hand');

    const r = await t.app.services.files.sweep(0);
    expect(r.orphans).toBeGreaterThanOrEqual(1);
    expect(r.temporary).toBeGreaterThanOrEqual(1);
    expect(storedFiles(t)).not.toContain('blobs/orphan-by-hand');
    expect(storedFiles(t)).not.toContain('.tmp/interrupted');
    expect(blobsOnly()).toEqual(await rowKeys(t));
  });

  it('sweep counts (and keeps) a row whose blob was deleted behind its back', async () => {
    const up = await upload(t.base, token, { name: 'victim.wav', bytes: makeWav(1) });
    const row = await t.db.db
      .selectFrom('files')
      .select('storage_key')
      .where('id', '=', up.body.file_id)
      .executeTakeFirstOrThrow();
    await t.app.services.blobs.delete(row.storage_key);
    const r = await t.app.services.files.sweep(0);
    expect(r.missing).toBe(1);
    expect(await fileRowCount(t)).toBeGreaterThan(0);
    // Clean up so later sweeps in this file are exact again.
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/file/delete/${up.body.file_id}`,
      headers: bearer(token),
    });
    expect(del.statusCode).toBe(200);
    expect((await t.app.services.files.sweep(0)).missing).toBe(0);
  });
});

describe.each(dialects)('adapters as arguments (MemoryBlobStore) on %s', (dialect) => {
  let t: TestApp;
  let blobs: MemoryBlobStore;
  let token: string;
  beforeAll(async () => {
    blobs = new MemoryBlobStore();
    t = await makeApp(dialect, {}, { blobs });
    token = (await registerUser(t.app)).access;
  });
  afterAll(async () => t.close());

  const multipart = (name: string, bytes: Buffer) => {
    const boundary = '----timbre-memory';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return {
      payload: body,
      headers: { ...bearer(token), 'content-type': `multipart/form-data; boundary=${boundary}` },
    };
  };

  it('stores uploads in the injected store, not on disk', async () => {
    const { payload, headers } = multipart('m.wav', makeWav(1));
    const r = await t.app.inject({ method: 'POST', url: '/api/file/upload', payload, headers });
    expect(r.statusCode).toBe(201);
    expect(blobs.blobs.size).toBe(1);
    expect(storedFiles(t).filter((f) => f.startsWith('blobs/'))).toEqual([]);
    const dl = await t.app.inject({
      method: 'GET',
      url: `/api/file/download/${r.json().file_id}`,
      headers: { ...bearer(token), range: 'bytes=0-3' },
    });
    expect(dl.statusCode).toBe(206);
    expect(dl.body).toBe('RIFF');
  });

  it('answers 500 with only a request_id when the store fails, and writes no row', async () => {
    const rows = await fileRowCount(t);
    blobs.failOn.put = () => new Error('disk on fire: /secret/path');
    try {
      const { payload, headers } = multipart('m.wav', makeWav(1));
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/file/upload',
        payload,
        headers: { ...headers, 'x-request-id': 'req-store-fails-1' },
      });
      expect(r.statusCode).toBe(500);
      expect(r.json()).toEqual({
        code: 500,
        message: 'internal server error',
        request_id: 'req-store-fails-1',
      });
      expect(r.body).not.toContain('fire');
      expect(await fileRowCount(t)).toBe(rows);
    } finally {
      delete blobs.failOn.put;
    }
  });

  it('keeps going when removing a rejected upload fails (the sweeper gets it later)', async () => {
    blobs.failOn.delete = () => new Error('delete failed');
    try {
      const { payload, headers } = multipart('t.wav', Buffer.from('just text, not audio'));
      const r = await t.app.inject({ method: 'POST', url: '/api/file/upload', payload, headers });
      expect(r.statusCode).toBe(415);
    } finally {
      delete blobs.failOn.delete;
    }
    const swept = await t.app.services.files.sweep(0);
    expect(swept.orphans).toBe(1);
    expect([...blobs.blobs.keys()].sort()).toEqual(await rowKeys(t));
  });

  it('sweeps temporary leftovers the store reports', async () => {
    blobs.temporary.set('.tmp/x', { bytes: Buffer.from('x'), mtime: new Date(0) });
    const r = await t.app.services.files.sweep(0);
    expect(r.temporary).toBe(1);
    expect(blobs.temporary.size).toBe(0);
  });
});
