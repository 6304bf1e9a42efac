import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmulatorHandle, startEmulator } from '../server.js';
import {
  KEY,
  WsClient,
  continueTask,
  enroll,
  eventsOf,
  finishTask,
  newTaskId,
  rawPost,
  runTask,
} from './helpers.js';

const VOICE = 'builtin';
let emu: EmulatorHandle;

beforeAll(async () => {
  emu = await startEmulator({
    keys: [KEY],
    builtinVoices: [VOICE],
    audioSecondsPerChar: 0.02,
    audioChunkMs: 100,
    taskIdleTimeoutMs: 2000,
  });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFaults();
  emu.reset();
});

const list = () => enroll(emu, { action: 'list_voice' });

describe('HTTP fault injection', () => {
  it('serves 429 Throttling as JSON, then recovers', async () => {
    emu.injectFault({ target: 'http', kind: 'throttling' });
    const r = await list();
    expect(r.status).toBe(429);
    expect(r.body).toMatchObject({
      code: 'Throttling',
      message: 'Requests throttling triggered.',
      request_id: expect.any(String),
    });
    expect((await list()).status).toBe(200);
  });

  it('serves 500 InternalError and 503 ModelUnavailable', async () => {
    emu.injectFault({ target: 'http', kind: 'internal-error' });
    emu.injectFault({ target: 'http', kind: 'model-unavailable' });
    const a = await list();
    const b = await list();
    expect([a.status, a.body.code]).toEqual([500, 'InternalError']);
    expect([b.status, b.body.code]).toEqual([503, 'ModelUnavailable']);
  });

  it('serves a custom status and code (e.g. 429 Throttling.RateQuota)', async () => {
    emu.injectFault({ target: 'http', kind: 'status', status: 429, code: 'Throttling.RateQuota' });
    const r = await list();
    expect([r.status, r.body.code]).toEqual([429, 'Throttling.RateQuota']);
  });

  it('applies a fault to the next N calls only (times)', async () => {
    emu.injectFault({ target: 'http', kind: 'throttling', times: 2 });
    expect((await list()).status).toBe(429);
    expect((await list()).status).toBe(429);
    expect((await list()).status).toBe(200);
  });

  it('applies a fault only to the matching action', async () => {
    emu.injectFault({ target: 'http', kind: 'internal-error', action: 'create_voice' });
    expect((await list()).status).toBe(200);
    const r = await enroll(emu, {
      action: 'create_voice',
      target_model: 'cosyvoice-v2',
      prefix: 'x',
      url: 'http://127.0.0.1:1/x.wav',
    });
    expect(r.status).toBe(500);
    expect(emu.pendingFaults()).toHaveLength(0);
    expect(emu.stats().http.calls.map((c) => c.faulted)).toEqual([false, true]);
    expect(emu.stats().http.byAction.create_voice).toBe(1);
  });

  it('adds latency before answering normally', async () => {
    emu.injectFault({ target: 'http', kind: 'latency', ms: 250 });
    const t0 = Date.now();
    const r = await list();
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  });

  it('answers with a body that is not JSON', async () => {
    emu.injectFault({ target: 'http', kind: 'non-json' });
    const r = await list();
    expect(r.status).toBe(502);
    expect(r.body).toBeUndefined();
    expect(r.contentType).toMatch(/text\/html/);
    emu.injectFault({ target: 'http', kind: 'non-json', status: 200, body: 'OK' });
    const r2 = await list();
    expect([r2.status, r2.text]).toEqual([200, 'OK']);
  });

  it('hangs without answering until the client gives up', async () => {
    emu.injectFault({ target: 'http', kind: 'hang' });
    await expect(
      fetch(`${emu.httpBaseUrl}/services/audio/tts/customization`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ model: 'voice-enrollment', input: { action: 'list_voice' } }),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect((await list()).status).toBe(200);
  });

  it('clearFaults() drops queued faults', async () => {
    emu.injectFault({ target: 'http', kind: 'throttling', times: 5 });
    emu.clearFaults();
    expect((await list()).status).toBe(200);
  });

  it('takes faults over the control route POST /__emulator/faults and clears them with DELETE', async () => {
    const r = await rawPost(`${emu.controlUrl}/faults`, [
      { target: 'http', kind: 'model-unavailable', action: 'list_voice' },
      { target: 'http', kind: 'throttling' },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.ids).toHaveLength(2);
    expect((await list()).status).toBe(503);
    const state = (await (await fetch(`${emu.controlUrl}/state`)).json()) as { faults: unknown[] };
    expect(state.faults).toHaveLength(1);
    await fetch(`${emu.controlUrl}/faults`, { method: 'DELETE' });
    expect((await list()).status).toBe(200);
  });

  it('rejects a malformed fault on the control route with 400', async () => {
    const r = await rawPost(`${emu.controlUrl}/faults`, { target: 'http', kind: 'explode' });
    expect(r.status).toBe(400);
    const r2 = await rawPost(`${emu.controlUrl}/faults`, {
      target: 'http',
      kind: 'drop-ws',
      afterFrames: 1,
    });
    expect(r2.status).toBe(400);
  });
});

describe('WebSocket fault injection', () => {
  async function open(id: string): Promise<WsClient> {
    const c = await WsClient.open(emu.wsUrl);
    c.send(runTask(id, 'cosyvoice-v2', { voice: VOICE, format: 'pcm', sample_rate: 16000 }));
    return c;
  }

  it('drops the connection after K binary frames', async () => {
    emu.injectFault({ target: 'ws', kind: 'drop-ws', afterFrames: 3 });
    const id = newTaskId();
    const c = await open(id);
    await c.expectEvent('task-started');
    c.send(
      continueTask(
        id,
        'A fairly long first sentence to make several frames. And another one here.',
      ),
    );
    c.send(finishTask(id));
    const msgs = await c.collect();
    expect(msgs.filter((m) => m.kind === 'binary')).toHaveLength(3);
    expect(
      eventsOf(msgs).some((m) => m.event === 'task-finished' || m.event === 'task-failed'),
    ).toBe(false);
    expect((await c.closed).code).toBe(1006); // no close frame
  });

  it.each([
    ['throttling', 'Throttling', 'Requests throttling triggered.'],
    [
      'internal-error',
      'InternalError',
      'An internal error has occured, please try again later or contact service support.',
    ],
    ['model-unavailable', 'ModelUnavailable', 'Model is unavailable, please try again later.'],
  ] as const)(
    'answers run-task with task-failed for a %s fault, worded as the docs, then closes',
    async (kind, code, message) => {
      emu.injectFault({ target: 'ws', kind });
      const c = await open(newTaskId());
      const m = await c.expectEvent('task-failed');
      expect(m.data.header.error_code).toBe(code);
      expect(m.data.header.error_message).toBe(message);
      expect((await c.closed).code).toBe(1000);
    },
  );

  it('delays task-started with a latency fault', async () => {
    emu.injectFault({ target: 'ws', kind: 'latency', ms: 250 });
    const t0 = Date.now();
    const c = await open(newTaskId());
    await c.expectEvent('task-started');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    c.close();
  });

  it('never sends task-started with a hang fault', async () => {
    emu.injectFault({ target: 'ws', kind: 'hang' });
    const c = await open(newTaskId());
    await expect(c.next(300)).rejects.toThrow(/timeout/);
    c.close();
  });

  it('sends a non-JSON text frame with a non-json fault, then closes', async () => {
    emu.injectFault({ target: 'ws', kind: 'non-json' });
    const c = await open(newTaskId());
    const m = await c.next();
    expect(m?.kind).toBe('text');
    await c.closed;
  });

  it('takes WebSocket faults over the control route', async () => {
    const r = await rawPost(`${emu.controlUrl}/faults`, {
      target: 'ws',
      kind: 'drop-ws',
      afterFrames: 1,
    });
    expect(r.status).toBe(200);
    const id = newTaskId();
    const c = await open(id);
    await c.expectEvent('task-started');
    c.send(continueTask(id, 'Some words to speak here. '));
    const msgs = await c.collect();
    expect(msgs.filter((m) => m.kind === 'binary')).toHaveLength(1);
  });
});
