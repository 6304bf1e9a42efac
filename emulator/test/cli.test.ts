import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('CLI configuration', () => {
  it('defaults to port 8790 and key sk-test', () => {
    expect(parseEnv({})).toEqual({ port: 8790, keys: ['sk-test'], deployDelayMs: undefined });
  });

  it('reads port, comma-separated keys and the deploy delay', () => {
    expect(
      parseEnv({
        DASHSCOPE_EMULATOR_PORT: '0',
        DASHSCOPE_EMULATOR_KEYS: 'sk-a, sk-b',
        DASHSCOPE_EMULATOR_DEPLOY_DELAY_MS: '25',
      }),
    ).toEqual({ port: 0, keys: ['sk-a', 'sk-b'], deployDelayMs: 25 });
  });

  it.each([
    [{ DASHSCOPE_EMULATOR_PORT: 'abc' }, /PORT/],
    [{ DASHSCOPE_EMULATOR_PORT: '70000' }, /PORT/],
    [{ DASHSCOPE_EMULATOR_KEYS: 'sk-a,,sk-b' }, /KEYS/],
    [{ DASHSCOPE_EMULATOR_KEYS: '' }, /KEYS/],
    [{ DASHSCOPE_EMULATOR_DEPLOY_DELAY_MS: '-5' }, /DEPLOY_DELAY_MS/],
  ])('rejects %j with a clear message', (env, msg) => {
    expect(() => parseEnv(env)).toThrow(ConfigError);
    expect(() => parseEnv(env)).toThrow(msg);
  });

  it('starts from the command line, prints its URLs and serves the API', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'emulator/main.ts'], {
      cwd: root,
      env: { ...process.env, DASHSCOPE_EMULATOR_PORT: '0', DASHSCOPE_EMULATOR_KEYS: 'sk-cli' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const base = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /HTTP base:\s+(\S+)/.exec(out);
          if (m && /WebSocket:\s+ws:\/\/\S+\/api-ws\/v1\/inference/.test(out)) {
            clearTimeout(t);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const res = await fetch(`${base}/services/audio/tts/customization`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-cli' },
        body: JSON.stringify({ model: 'voice-enrollment', input: { action: 'list_voice' } }),
      });
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('exits non-zero with a message on a bad environment', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'emulator/main.ts'], {
      cwd: root,
      env: { ...process.env, DASHSCOPE_EMULATOR_PORT: 'nope' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/DASHSCOPE_EMULATOR_PORT must be an integer/);
  });
});
