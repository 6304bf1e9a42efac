import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, registerUser, bearer, type TestApp } from '../../helpers/app.js';
import { REDACT_PATHS, scrubUrl } from '../../../src/logger.js';

describe('request logs', () => {
  let t: TestApp;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = pino(
      {
        level: 'info',
        redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
        serializers: {
          req: (req: { method: string; url: string }) => ({
            method: req.method,
            url: scrubUrl(req.url),
          }),
        },
      },
      sink,
    );
    t = await makeApp('sqlite', {}, { logger });
  });
  afterAll(async () => t.close());

  it('are JSON lines with the request id and never carry passwords or tokens', async () => {
    const u = await registerUser(t.app, 'logme');
    await t.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { ...bearer(u.access), 'x-request-id': 'req-12345678' },
    });
    const all = lines.join('');
    expect(all).not.toContain('secret123');
    expect(all).not.toContain(u.access);
    expect(all).not.toContain(u.refresh);
    const parsed = lines.map((l) => JSON.parse(l) as { reqId?: string });
    expect(parsed.some((l) => l.reqId === 'req-12345678')).toBe(true);
  });

  it('scrubs signatures from logged URLs', () => {
    expect(scrubUrl('/api/temfile/download/abc?exp=1&sig=deadbeef')).toBe(
      '/api/temfile/download/abc?exp=1&sig=[Redacted]',
    );
  });
});
