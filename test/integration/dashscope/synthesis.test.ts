/**
 * The DashScope provider's WebSocket synthesis against the emulator, over
 * real sockets.
 */
import decode from 'audio-decode';
import { createServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../../emulator/server.js';
import {
  DashScopeVoiceProvider,
  type DashScopeProviderOptions,
} from '../../../src/providers/dashscope/index.js';
import { InstrumentedProvider } from '../../../src/providers/instrumented.js';
import {
  ProviderError,
  type SynthesizeInput,
  type VoiceProvider,
} from '../../../src/providers/provider.js';
import { collect, startFixtureServer, waitFor, wavInfo, type FixtureServer } from './helpers.js';

const KEY = 'sk-integration-key-0002';
const MODEL = 'cosyvoice-v2';
const SENTENCE = 'The quick brown fox jumps over the lazy dog while the band plays on.';

let emu: EmulatorHandle;
let files: FixtureServer;
let voice: string;
const providers: DashScopeVoiceProvider[] = [];
const calls: string[] = [];

function provider(extra: Partial<DashScopeProviderOptions> = {}): DashScopeVoiceProvider {
  const p = new DashScopeVoiceProvider({
    apiKey: KEY,
    baseUrl: emu.httpBaseUrl,
    wsUrl: emu.wsUrl,
    retries: 2,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    connectTimeoutMs: 2000,
    taskStartTimeoutMs: 2000,
    synthesisTimeoutMs: 20_000,
    ...extra,
  });
  providers.push(p);
  return p;
}

/** `p` as the app wires it: measured by the instrumented wrapper, outcomes into `calls`. */
function measured(p: DashScopeVoiceProvider): VoiceProvider {
  return new InstrumentedProvider(p, (op, outcome) => calls.push(`${op}:${outcome}`));
}

function input(extra: Partial<SynthesizeInput> = {}): SynthesizeInput {
  return {
    voiceId: voice,
    targetModel: MODEL,
    text: SENTENCE,
    format: 'wav',
    sampleRate: 16000,
    ...extra,
  };
}

async function failure(
  stream: AsyncIterable<Uint8Array>,
): Promise<{ err: ProviderError; chunks: number }> {
  let chunks = 0;
  try {
    for await (const _ of stream) chunks++;
  } catch (e) {
    expect(e).toBeInstanceOf(ProviderError);
    return { err: e as ProviderError, chunks };
  }
  throw new Error('expected the synthesis to fail');
}

beforeAll(async () => {
  files = await startFixtureServer();
  emu = await startEmulator({
    port: 0,
    keys: [KEY],
    deployDelayMs: 0,
    audioSecondsPerChar: 0.02,
    taskIdleTimeoutMs: 2000,
    connectionIdleTimeoutMs: 10_000,
  });
  const p = new DashScopeVoiceProvider({ apiKey: KEY, baseUrl: emu.httpBaseUrl });
  voice = (
    await p.createVoice({
      sampleUrl: files.url('speech/spk02_m_en_jfk_16k_mono.wav'),
      targetModel: MODEL,
      prefix: 'synth',
    })
  ).id;
  emu.setVoiceStatus(voice, 'OK');
});
afterAll(async () => {
  await emu.close();
  await files.close();
});
beforeEach(() => {
  emu.clearFaults();
  emu.configure({ audioSecondsPerChar: 0.02, connectionIdleTimeoutMs: 10_000, sentenceDelayMs: 0 });
  calls.length = 0;
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('DashScope synthesis against the emulator', () => {
  it('streams a WAV at the requested sample rate', async () => {
    const { bytes, chunks } = await collect(
      measured(provider()).synthesize(input({ sampleRate: 24000 })),
    );
    expect(chunks).toBeGreaterThan(1);
    const info = wavInfo(bytes);
    expect(info).toMatchObject({ sampleRate: 24000, channels: 1, bitsPerSample: 16 });
    const seconds = info.dataBytes / (24000 * 2);
    expect(seconds).toBeGreaterThan(0.5);
    const decoded = await decode(bytes);
    expect(decoded.sampleRate).toBe(24000);
    expect(decoded.channelData[0]?.length).toBe(info.dataBytes / 2);
    expect(calls).toEqual(['synthesize:ok']);
  });

  it('streams an MP3 that decodes at the requested rate', async () => {
    const { bytes } = await collect(
      provider().synthesize(input({ format: 'mp3', sampleRate: 22050 })),
    );
    const decoded = await decode(bytes);
    expect(decoded.sampleRate).toBe(22050);
    expect((decoded.channelData[0]?.length ?? 0) / 22050).toBeGreaterThan(0.5);
  });

  it('streams raw 16-bit PCM', async () => {
    const { bytes } = await collect(
      provider().synthesize(input({ format: 'pcm', sampleRate: 8000 })),
    );
    expect(bytes.length % 2).toBe(0);
    expect(bytes.toString('ascii', 0, 4)).not.toBe('RIFF');
    expect(bytes.length / (8000 * 2)).toBeGreaterThan(0.5);
  });

  it('gives a slow reader every byte, pausing the socket instead of buffering without bound', async () => {
    const text = `${SENTENCE} ${SENTENCE} ${SENTENCE}`;
    const fast = await collect(provider().synthesize(input({ text, format: 'pcm' })));
    const slow = provider({ streamHighWaterBytes: 4096, synthesisStallTimeoutMs: 500 });
    const parts: Uint8Array[] = [];
    for await (const chunk of slow.synthesize(input({ text, format: 'pcm' }))) {
      parts.push(chunk);
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(Buffer.concat(parts).length).toBe(fast.bytes.length);
    expect(parts.length).toBeGreaterThan(5);
    expect(slow.poolStats()).toMatchObject({ idle: 1, open: 1 });
  });

  it('speaks Chinese text', async () => {
    const text = '今天天气很好。我们一起去公园散步吧！';
    const { bytes } = await collect(
      provider().synthesize(input({ text, format: 'pcm', sampleRate: 16000 })),
    );
    expect(bytes.length / (16000 * 2)).toBeGreaterThan(0.5);
  });

  it('splits text over 20,000 weighted characters into several continue-tasks (CJK counts 2)', async () => {
    emu.configure({ audioSecondsPerChar: 0.0005 });
    const before = emu.stats().ws.continueTasks;
    // 12,500 characters but 25,000 weighted: one message would be refused.
    // No sentence ends, so the emulator speaks it as one long sentence.
    const text = '今天天气很好我们一起去公园散步吧'.repeat(781) + '你好你好';
    const { bytes } = await collect(
      provider().synthesize(input({ text, format: 'pcm', sampleRate: 8000 })),
    );
    expect(bytes.length).toBeGreaterThan(1000);
    expect(emu.stats().ws.continueTasks - before).toBe(2);
  });

  it('refuses text over 200,000 weighted characters as request, before connecting', async () => {
    const before = emu.stats().ws.connections;
    const { err } = await failure(provider().synthesize(input({ text: '字'.repeat(100_001) })));
    expect(err.kind).toBe('request');
    expect(err.message).toMatch(/too long: 200002 characters/);
    expect(emu.stats().ws.connections).toBe(before);
  });

  it('refuses empty text as request', async () => {
    expect((await failure(provider().synthesize(input({ text: '' })))).err.kind).toBe('request');
    expect((await failure(provider().synthesize(input({ text: '  \n ' })))).err.kind).toBe(
      'request',
    );
  });

  it('refuses a voice of another model as request', async () => {
    const { err } = await failure(
      provider().synthesize(input({ targetModel: 'cosyvoice-v3-plus' })),
    );
    expect(err.kind).toBe('request');
    expect(err.details.providerCode).toBe('InvalidParameter');
    expect(err.message).toMatch(/418/);
  });

  it('refuses an unknown voice as request', async () => {
    const { err } = await failure(
      provider().synthesize(
        input({ voiceId: 'cosyvoice-v2-synth-00000000000000000000000000000000' }),
      ),
    );
    expect(err.kind).toBe('request');
    expect(err.message).toMatch(/voice not found/);
  });

  it('rejects a bad key at the upgrade as auth, without the key in the message', async () => {
    const bad = 'sk-bad-ws-key-98765';
    const { err } = await failure(provider({ apiKey: bad }).synthesize(input()));
    expect(err.kind).toBe('auth');
    expect(err.details.httpStatus).toBe(401);
    expect(err.message).toMatch(/DashScope API key was rejected/);
    expect(err.message).not.toContain(bad);
    expect(emu.stats().ws.rejectedUpgrades).toBeGreaterThanOrEqual(1);
  });

  it('times out an endpoint that never answers the upgrade as unavailable', async () => {
    const held: Socket[] = [];
    const silent = createServer((s) => void held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const p = provider({
        wsUrl: `ws://127.0.0.1:${port}/api-ws/v1/inference`,
        connectTimeoutMs: 200,
      });
      const { err } = await failure(p.synthesize(input()));
      expect(err.kind).toBe('unavailable');
      expect(err.message).toMatch(/Could not connect to DashScope/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('times out a provider that never starts the task as unavailable (after one retry)', async () => {
    emu.injectFault({ target: 'ws', kind: 'hang', times: 2 });
    const started = Date.now();
    const { err } = await failure(
      measured(provider({ taskStartTimeoutMs: 200 })).synthesize(input()),
    );
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/did not start the synthesis task within 200 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(calls).toEqual(['synthesize:unavailable']);
  });

  it('times out a provider that stalls mid-synthesis as unavailable', async () => {
    emu.configure({ sentenceDelayMs: 1000 });
    const { err, chunks } = await failure(
      provider({ synthesisStallTimeoutMs: 200 }).synthesize(
        input({ text: `${SENTENCE} ${SENTENCE}` }),
      ),
    );
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/sent nothing for 200 ms/);
    expect(chunks).toBe(0);
  });

  it('retries a transient failure before any audio once, transparently', async () => {
    emu.injectFault({ target: 'ws', kind: 'drop-ws', afterFrames: 0 });
    const before = emu.stats().ws.connections;
    const { bytes } = await collect(provider().synthesize(input()));
    expect(wavInfo(bytes).dataBytes).toBeGreaterThan(0);
    expect(emu.stats().ws.connections - before).toBe(2);
  });

  it('retries a task-failed InternalError before any audio once', async () => {
    emu.injectFault({ target: 'ws', kind: 'internal-error' });
    const { bytes } = await collect(provider().synthesize(input({ format: 'pcm' })));
    expect(bytes.length).toBeGreaterThan(0);
  });

  it('reports a connection dropped mid-synthesis as unavailable, without retrying', async () => {
    emu.injectFault({ target: 'ws', kind: 'drop-ws', afterFrames: 2 });
    const runTasks = emu.stats().ws.runTasks;
    const { err, chunks } = await failure(
      provider().synthesize(input({ text: `${SENTENCE} ${SENTENCE}` })),
    );
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/connection dropped mid-synthesis/);
    expect(chunks).toBe(2);
    expect(emu.stats().ws.runTasks - runTasks).toBe(1);
  });

  it('maps a task-failed Throttling to throttled (after its one retry)', async () => {
    emu.injectFault({ target: 'ws', kind: 'throttling', times: 2 });
    const { err } = await failure(provider().synthesize(input()));
    expect(err.kind).toBe('throttled');
  });
});

describe('DashScope socket reuse against the emulator', () => {
  it('runs two syntheses on one connection', async () => {
    const p = provider();
    const before = emu.stats().ws.connections;
    await collect(p.synthesize(input()));
    await collect(p.synthesize(input({ format: 'mp3', sampleRate: 24000 })));
    expect(emu.stats().ws.connections - before).toBe(1);
    expect(p.poolStats()).toMatchObject({ opened: 1, reused: 1, open: 1, idle: 1, busy: 0 });
  });

  it('runs concurrent syntheses on separate connections, then keeps them for reuse', async () => {
    const p = provider({ maxSockets: 2 });
    const before = emu.stats().ws.connections;
    await Promise.all([1, 2, 3].map(() => collect(p.synthesize(input()))));
    expect(emu.stats().ws.connections - before).toBe(2);
    expect(p.poolStats()).toMatchObject({ opened: 2, reused: 1, idle: 2 });
  });

  it('never reuses a connection after task-failed', async () => {
    const p = provider();
    await failure(p.synthesize(input({ targetModel: 'cosyvoice-v3-plus' })));
    expect(p.poolStats().open).toBe(0);
    await collect(p.synthesize(input()));
    expect(p.poolStats()).toMatchObject({ opened: 2, reused: 0 });
  });

  it('closes a connection whose stream was abandoned mid-task', async () => {
    const p = provider();
    for await (const _ of measured(p).synthesize(input({ text: `${SENTENCE} ${SENTENCE}` }))) break;
    expect(p.poolStats().open).toBe(0);
    await waitFor(
      () => emu.stats().ws.activeConnections === 0,
      2000,
      'the emulator to see the close',
    );
    expect(calls).toEqual(['synthesize:aborted']);
  });

  it('closes idle connections after the idle time', async () => {
    const p = provider({ socketIdleMs: 150 });
    await collect(p.synthesize(input()));
    expect(p.poolStats().idle).toBe(1);
    await waitFor(() => p.poolStats().open === 0, 2000, 'the idle socket to close');
  });

  it('recovers when the server closed the idle connection', async () => {
    emu.configure({ connectionIdleTimeoutMs: 100 });
    const p = provider();
    await collect(p.synthesize(input()));
    await waitFor(() => p.poolStats().open === 0, 2000, 'the server to close the idle socket');
    const { bytes } = await collect(p.synthesize(input()));
    expect(bytes.length).toBeGreaterThan(44);
    expect(p.poolStats().opened).toBe(2);
  });

  it('close() closes every connection', async () => {
    const p = provider({ maxSockets: 3 });
    await Promise.all([1, 2].map(() => collect(p.synthesize(input()))));
    expect(p.poolStats().open).toBe(2);
    await p.close();
    expect(p.poolStats().open).toBe(0);
    await waitFor(
      () => emu.stats().ws.activeConnections === 0,
      2000,
      'the emulator to see the closes',
    );
  });

  it('stops a synthesis when the caller aborts', async () => {
    emu.configure({ sentenceDelayMs: 300 });
    const p = provider();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err: unknown = await collect(p.synthesize(input({ signal: ac.signal }))).catch(
      (e: unknown) => e,
    );
    expect((err as Error).name).toBe('AbortError');
    expect(p.poolStats().open).toBe(0);
  });
});
