import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnswerTooLargeError,
  MAX_ANSWER_BYTES,
  undiciTransport,
} from '../../../src/providers/dashscope/http-transport.js';

let server: Server;
let url: string;
const seen: { body: string; auth: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ body, auth: req.headers.authorization });
      if (req.url === '/huge') {
        // Past the cap, sent in pieces (and more than the cap in all).
        const piece = Buffer.alloc(64 * 1024, 0x61);
        for (let i = 0; i < MAX_ANSWER_BYTES / piece.length + 4; i++) res.write(piece);
        res.end();
      } else if (req.url === '/hang') {
        res.writeHead(200);
        res.write('{');
      } else {
        res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' });
        res.end('{"code":"Throttling"}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const req = (signal = AbortSignal.timeout(5000)) => ({
  headers: { Authorization: 'Bearer k', 'Content-Type': 'application/json' },
  body: '{"a":1}',
  signal,
});

describe('the undici transport of enrollment calls', () => {
  it('sends the headers and body and returns status, Retry-After and text', async () => {
    const t = undiciTransport();
    try {
      const answer = await t.post(`${url}/`, req());
      expect(answer).toEqual({ status: 429, retryAfter: '7', text: '{"code":"Throttling"}' });
      expect(seen.at(-1)).toEqual({ body: '{"a":1}', auth: 'Bearer k' });
    } finally {
      await t.close();
    }
  });

  it('stops reading an answer larger than the cap', async () => {
    const t = undiciTransport();
    try {
      await expect(t.post(`${url}/huge`, req())).rejects.toBeInstanceOf(AnswerTooLargeError);
    } finally {
      await t.close();
    }
  });

  it('rejects when the caller aborts while the answer is still coming', async () => {
    const t = undiciTransport();
    try {
      await expect(t.post(`${url}/hang`, req(AbortSignal.timeout(200)))).rejects.toThrow();
    } finally {
      await t.close();
    }
  });

  it('may be closed twice', async () => {
    const t = undiciTransport();
    await t.post(`${url}/`, req());
    await t.close();
    await expect(t.close()).resolves.not.toThrow();
  });
});
