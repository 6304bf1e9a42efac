/**
 * Graceful shutdown: on SIGTERM the server stops taking new work, lets an
 * upload in flight and a creation job in flight finish, then exits 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../emulator/server.js';
import { providerPrefix } from '../../src/services/voice.service.js';
import { killAll, spawnServer } from '../helpers/spawn.js';
import { call, register, speechBytes, until, uploadSample } from './helpers.js';

let emu: EmulatorHandle;
let dataDir: string;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, keys: ['sk-test'], deployDelayMs: 3000 });
  dataDir = mkdtempSync(path.join(tmpdir(), 'timbre-shutdown-'));
});

afterAll(async () => {
  await killAll();
  await emu?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('SIGTERM', () => {
  it('finishes the upload and the job in flight, refuses new connections, then exits 0', async () => {
    const server = await spawnServer({
      DATA_DIR: dataDir,
      JWT_SECRET_KEY: 'e2e-secret-e2e-secret-e2e-secret-0123',
      BCRYPT_ROUNDS: '4',
      VOICE_PROVIDER: 'dashscope',
      DASHSCOPE_API_KEY: 'sk-test',
      DASHSCOPE_BASE_URL: emu.httpBaseUrl,
      DASHSCOPE_WS_URL: emu.wsUrl,
      SWEEP_INTERVAL_SEC: '0',
      SHUTDOWN_GRACE_SEC: '60',
      LOG_LEVEL: 'info',
    });
    const user = await register(server.baseUrl, 'graceful');
    const fileId = await uploadSample(server.baseUrl, user.access, 'jfk.wav', speechBytes());
    const created = await call(server.baseUrl, 'POST', '/api/voice/create_voice?async=1', {
      token: user.access,
      body: {
        audio_file_id: fileId,
        voice_name: 'Graceful',
        voice_gender: 'male',
        voice_description: 'finished during shutdown',
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const voiceId = created.body.voice_id as string;
    const prefix = providerPrefix(user.userId, voiceId);
    // The job is in flight: the provider has the enrollment, still deploying.
    await until(() => emu.voices().some((v) => v.prefix === prefix), 'the enrollment');

    // An upload in flight: headers and half the body sent, the rest after SIGTERM.
    const bytes = speechBytes();
    const boundary = '----timbreshutdown';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="late.wav"\r\n` +
        `Content-Type: audio/wav\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const body = Buffer.concat([head, bytes, tail]);
    const half = Math.floor(body.length / 2);
    const url = new URL('/api/file/upload', server.baseUrl);
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${user.access}`,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': String(body.length),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, half));
      setTimeout(() => {
        process.kill(-server.proc.pid!, 'SIGTERM');
        setTimeout(() => req.end(body.subarray(half)), 800);
      }, 300);
    });

    const uploaded = await answer.catch((err: unknown) => {
      throw new Error(`${String(err)}\n${server.output().slice(-4000)}`);
    });
    expect(uploaded.status, uploaded.text).toBe(201);

    // No new connections once it stopped listening.
    await expect(
      fetch(`${server.baseUrl}/api/health`, { signal: AbortSignal.timeout(2000) }),
    ).rejects.toThrow();

    expect(await server.exited).toBe(0);
    const out = server.output();
    expect(out).toMatch(/"msg":"shutting down/);
    // The job finished before the process left.
    expect(out).toMatch(new RegExp(`"voice_id":"${voiceId}"[^\\n]*"msg":"voice ready"`));
    expect(out.indexOf('"msg":"voice ready"')).toBeLessThan(out.indexOf('"msg":"stopped"'));
  }, 120_000);
});
