import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  DashScopeVoiceProvider,
  type DashScopeLogger,
} from '../../../src/providers/dashscope/index.js';
import { FakeEnrollment } from './fake-enrollment.js';

describe('DashScope provider logging', () => {
  it('accepts a pino logger and never logs the key', async () => {
    const lines: string[] = [];
    const logger: DashScopeLogger = pino(
      { level: 'debug' },
      { write: (line: string) => void lines.push(line) },
    );
    const fake = new FakeEnrollment();
    fake.createScript.push('create-then-hang');
    fake.otherScript.push('429');
    const p = new DashScopeVoiceProvider({
      apiKey: fake.key,
      fetch: fake.fetch,
      logger,
      requestTimeoutMs: 50,
      createTimeoutMs: 50,
      createSettleMs: 0,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    await p.createVoice({
      sampleUrl: 'http://x.test/a.wav',
      targetModel: 'cosyvoice-v2',
      prefix: 'abc',
    });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(fake.key);
  });
});
