import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type EmulatorHandle, startEmulator } from '../server.js';
import {
  KEY,
  type SampleServer,
  WsClient,
  type WsMessage,
  continueTask,
  createOkVoice,
  eventsOf,
  finishTask,
  newTaskId,
  runTask,
  startSampleServer,
  waitFor,
} from './helpers.js';

let emu: EmulatorHandle;
let samples: SampleServer;
let voice: string; // an OK cosyvoice-v2 voice

const MODEL = 'cosyvoice-v2';

beforeAll(async () => {
  samples = await startSampleServer();
  emu = await startEmulator({
    keys: [KEY],
    deployDelayMs: 10,
    taskIdleTimeoutMs: 400,
    connectionIdleTimeoutMs: 5000,
    audioSecondsPerChar: 0.01,
    builtinVoices: ['longxiaochun'],
  });
  voice = await createOkVoice(emu, samples, MODEL);
});
afterAll(async () => {
  await emu.close();
  await samples.close();
});
beforeEach(() => {
  emu.clearFaults();
  // The protocol closes the connection after task-failed (the default); these tests also
  // check that, with it kept open, the connection takes new tasks (the lenient reading).
  emu.configure({
    taskIdleTimeoutMs: 400,
    connectionIdleTimeoutMs: 5000,
    sentenceDelayMs: 0,
    closeAfterTaskFailed: false,
  });
});

async function started(params: Record<string, unknown> = {}, model = MODEL) {
  const c = await WsClient.open(emu.wsUrl);
  const id = newTaskId();
  c.send(runTask(id, model, { voice, ...params }));
  const ev = await c.expectEvent('task-started');
  return { c, id, ev };
}

/**
 * Expect task-failed with this code (and message), worded as the docs word it; then the
 * connection is still open and runs a new task with a new task_id to the end.
 */
async function expectFailedThenReusable(c: WsClient, code: string, message?: string | RegExp) {
  const msgs = await c.collect(['task-failed']);
  const failed = eventsOf(msgs).find((m) => m.event === 'task-failed');
  expect(
    failed,
    JSON.stringify(msgs.map((m) => (m.kind === 'event' ? m.event : m.kind))),
  ).toBeDefined();
  expect(failed!.data.header.error_code).toBe(code);
  if (message !== undefined) expect(failed!.data.header.error_message).toMatch(message);
  expect(failed!.data.header.attributes).toEqual({});
  expect(failed!.data.payload).toEqual({});
  const next = newTaskId();
  c.send(runTask(next, MODEL, { voice: 'longxiaochun' }));
  await c.expectEvent('task-started');
  c.send(continueTask(next, 'Still here.'));
  c.send(finishTask(next));
  const after = eventsOf(await c.collect());
  expect(after.at(-1)!.event).toBe('task-finished');
  expect(after.at(-1)!.data.header.task_id).toBe(next);
  c.close();
  return failed!;
}

describe('WebSocket handshake', () => {
  it('rejects a bad key at the upgrade with HTTP 401 and no JSON event', async () => {
    const ws = new WebSocket(emu.wsUrl, { headers: { authorization: 'Bearer sk-wrong' } });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.on('unexpected-response', (_req, r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      ws.on('open', () => reject(new Error('opened')));
      ws.on('error', () => undefined);
    });
    expect(res.status).toBe(401);
    expect(res.body).toBe('');
  });

  it('rejects a missing key at the upgrade with HTTP 401', async () => {
    await expect(WsClient.open(emu.wsUrl, null)).rejects.toThrow(/401/);
    expect(emu.stats().ws.rejectedUpgrades).toBeGreaterThanOrEqual(1);
  });

  it('accepts the path with and without a trailing slash (and a lower-case bearer)', async () => {
    for (const url of [emu.wsUrl, `${emu.wsUrl}/`]) {
      const c = await WsClient.open(url);
      c.close();
      await c.closed;
    }
  });

  it('answers an unknown WebSocket path with 404', async () => {
    await expect(WsClient.open(emu.wsUrl.replace('inference', 'nope'))).rejects.toThrow(/404/);
  });
});

describe('task flow', () => {
  it('answers run-task with task-started carrying the task_id', async () => {
    const { c, id, ev } = await started();
    expect(ev.data).toEqual({
      header: { task_id: id, event: 'task-started', attributes: {} },
      payload: {},
    });
    c.close();
  });

  it('emits begin, (synthesis + one binary frame) x N, end per sentence, then task-finished', async () => {
    const { c, id } = await started({ format: 'pcm', sample_rate: 16000 });
    c.send(continueTask(id, 'Hello world. How are you? '));
    c.send(continueTask(id, 'Fine'));
    c.send(finishTask(id));
    const msgs = await c.collect();
    // Strict shape: after every sentence-synthesis comes exactly one binary frame, at once.
    const seq = msgs.map((m) =>
      m.kind === 'event' ? (m.data.payload?.output?.type ?? m.event) : m.kind,
    );
    const text = seq.join(' ');
    expect(text).toMatch(
      /^(sentence-begin (sentence-synthesis binary )+sentence-end ){3}task-finished$/,
    );
    for (const m of eventsOf(msgs)) expect(m.data.header.task_id).toBe(id);
    const begins = eventsOf(msgs).filter((m) => m.data.payload?.output?.type === 'sentence-begin');
    expect(begins.map((m) => m.data.payload.output.original_text)).toEqual([
      'Hello world.',
      'How are you?',
      'Fine',
    ]);
    const ends = eventsOf(msgs).filter((m) => m.data.payload?.output?.type === 'sentence-end');
    expect(ends.map((m) => m.data.payload.output.sentence.index)).toEqual([0, 1, 2]);
    // usage.characters is a running total of every character sent, the spaces
    // between sentences included (the docs count "中 文。" as 6).
    expect(ends.map((m) => m.data.payload.usage.characters)).toEqual([12, 25, 30]);
    const fin = msgs.at(-1) as WsMessage & { kind: 'event' };
    expect(fin.data.header.attributes.request_uuid).toEqual(expect.any(String));
    expect(fin.data.payload.usage.characters).toBe(30);
    c.close();
  });

  it('holds an incomplete sentence until more text arrives', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, 'Hello there'));
    await expect(c.next(250)).rejects.toThrow(/timeout/);
    c.send(continueTask(id, ' my friend. And'));
    const begin = await c.expectEvent('result-generated');
    expect(begin.data.payload.output).toMatchObject({
      type: 'sentence-begin',
      original_text: 'Hello there my friend.',
    });
    c.close();
  });

  it('does not split inside a number like 3.14', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, 'Pi is 3.14 roughly. '));
    const begin = await c.expectEvent('result-generated');
    expect(begin.data.payload.output.original_text).toBe('Pi is 3.14 roughly.');
    c.close();
  });

  it('splits at CJK punctuation at once and counts a CJK ideograph as 2 characters', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, '你好。再见！'));
    c.send(finishTask(id));
    const msgs = await c.collect();
    const ends = eventsOf(msgs).filter((m) => m.data.payload?.output?.type === 'sentence-end');
    expect(ends.map((m) => m.data.payload.output.original_text)).toEqual(['你好。', '再见！']);
    expect(ends.map((m) => m.data.payload.usage.characters)).toEqual([5, 10]);
    c.close();
  });

  it('flushes held text on finish-task and on a continue-task with flush:true', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, 'no punctuation here', { flush: true }));
    const begin = await c.expectEvent('result-generated');
    expect(begin.data.payload.output.original_text).toBe('no punctuation here');
    c.send(continueTask(id, 'tail'));
    c.send(finishTask(id));
    const msgs = await c.collect();
    const texts = eventsOf(msgs)
      .filter((m) => m.data.payload?.output?.type === 'sentence-begin')
      .map((m) => m.data.payload.output.original_text);
    expect(texts).toEqual(['tail']);
    c.close();
  });

  it('reports word timestamps when word_timestamp_enabled is set', async () => {
    const { c, id } = await started({ word_timestamp_enabled: true });
    c.send(continueTask(id, 'one two three.'));
    c.send(finishTask(id));
    const msgs = await c.collect();
    const fin = eventsOf(msgs).at(-1)!;
    const words = fin.data.payload.output.sentence.words as {
      text: string;
      begin_time: number;
      end_time: number;
    }[];
    expect(words.map((w) => w.text)).toEqual(['one', 'two', 'three.']);
    expect(words[0]!.begin_time).toBe(0);
    expect(words[2]!.end_time).toBeGreaterThan(words[0]!.end_time);
    c.close();
  });
});

describe('run-task validation', () => {
  const bad: [string, (id: string) => Record<string, unknown>][] = [
    ['a missing task_id', (id) => runTask(id, MODEL, {}, { header: { task_id: undefined } })],
    [
      'a task_id that is not a UUID',
      (id) => runTask(id, MODEL, {}, { header: { task_id: 'hello' } }),
    ],
    [
      'streaming other than duplex',
      (id) => runTask(id, MODEL, {}, { header: { streaming: 'out' } }),
    ],
    [
      'task_group other than audio',
      (id) => runTask(id, MODEL, {}, { payload: { task_group: 'x' } }),
    ],
    ['task other than tts', (id) => runTask(id, MODEL, {}, { payload: { task: 'asr' } })],
    [
      'function other than SpeechSynthesizer',
      (id) => runTask(id, MODEL, {}, { payload: { function: 'X' } }),
    ],
    ['an unknown model', (id) => runTask(id, 'cosyvoice-v9', {})],
    ['no payload.input', (id) => runTask(id, MODEL, {}, { payload: { input: undefined } })],
    ['format flac', (id) => runTask(id, MODEL, { format: 'flac' })],
    ['format opus with cosyvoice-v1', (id) => runTask(id, 'cosyvoice-v1', { format: 'opus' })],
    ['sample_rate 12345', (id) => runTask(id, MODEL, { sample_rate: 12345 })],
    ['volume 101', (id) => runTask(id, MODEL, { volume: 101 })],
    ['volume -1', (id) => runTask(id, MODEL, { volume: -1 })],
    ['rate 0.4', (id) => runTask(id, MODEL, { rate: 0.4 })],
    ['rate 2.1', (id) => runTask(id, MODEL, { rate: 2.1 })],
    ['pitch 0.49', (id) => runTask(id, MODEL, { pitch: 0.49 })],
    ['pitch 2.5', (id) => runTask(id, MODEL, { pitch: 2.5 })],
    ['text_type SSML', (id) => runTask(id, MODEL, { text_type: 'SSML' })],
    ['no voice', (id) => runTask(id, MODEL, { voice: undefined })],
  ];

  it.each(bad)(
    'fails run-task with %s as InvalidParameter, and the connection takes a new task',
    async (_name, make) => {
      const c = await WsClient.open(emu.wsUrl);
      const msg = make(newTaskId());
      const params = (msg.payload as { parameters: Record<string, unknown> }).parameters;
      if (!('voice' in params) || params.voice !== undefined) params.voice ??= voice;
      if (params.voice === undefined) delete params.voice;
      c.send(msg);
      await expectFailedThenReusable(c, 'InvalidParameter');
    },
  );

  it('fails a run-task without payload.input with "task can not be null"', async () => {
    const c = await WsClient.open(emu.wsUrl);
    c.send(runTask(newTaskId(), MODEL, { voice }, { payload: { input: undefined } }));
    await expectFailedThenReusable(c, 'InvalidParameter', 'task can not be null');
  });

  it('accepts unknown parameters and the SDK extras (seed, type, hot_fix)', async () => {
    const { c } = await started({ seed: 42, type: 0, hot_fix: {}, something_new: true });
    c.close();
  });

  it('accepts every documented sample rate and the volume / rate / pitch bounds', async () => {
    for (const sample_rate of [8000, 16000, 22050, 24000, 44100, 48000]) {
      const { c } = await started({ sample_rate, volume: 0, rate: 0.5, pitch: 2.0 });
      c.close();
    }
    const { c } = await started({ volume: 100, rate: 2.0, pitch: 0.5 });
    c.close();
  });

  it('closes with 1007 on a message that is not JSON', async () => {
    const c = await WsClient.open(emu.wsUrl);
    c.send('{not json');
    expect((await c.closed).code).toBe(1007);
  });

  it('fails an unknown header.action with InvalidParameter', async () => {
    const c = await WsClient.open(emu.wsUrl);
    c.send({
      header: { action: 'pause-task', task_id: newTaskId(), streaming: 'duplex' },
      payload: {},
    });
    await expectFailedThenReusable(c, 'InvalidParameter');
  });
});

describe('voice checks', () => {
  it('fails an unknown voice with InvalidParameter', async () => {
    const c = await WsClient.open(emu.wsUrl);
    c.send(
      runTask(newTaskId(), MODEL, { voice: 'cosyvoice-v2-ghost-0123456789abcdef0123456789abcdef' }),
    );
    await expectFailedThenReusable(c, 'InvalidParameter');
  });

  it('fails a voice used with a model other than its target_model', async () => {
    const c = await WsClient.open(emu.wsUrl);
    c.send(runTask(newTaskId(), 'cosyvoice-v3-plus', { voice }));
    await expectFailedThenReusable(c, 'InvalidParameter', /cosyvoice-v2/);
  });

  it.each(['DEPLOYING', 'UNDEPLOYED'] as const)(
    'fails a voice whose status is %s',
    async (status) => {
      emu.setVoiceStatus(voice, status);
      try {
        const c = await WsClient.open(emu.wsUrl);
        c.send(runTask(newTaskId(), MODEL, { voice }));
        await expectFailedThenReusable(c, 'InvalidParameter', new RegExp(status));
      } finally {
        emu.setVoiceStatus(voice, 'OK');
      }
    },
  );

  it('accepts a configured built-in voice with any model', async () => {
    const c = await WsClient.open(emu.wsUrl);
    c.send(runTask(newTaskId(), 'cosyvoice-v1', { voice: 'longxiaochun' }));
    await c.expectEvent('task-started');
    c.close();
  });
});

describe('text rules', () => {
  it('fails text sent before task-started', async () => {
    emu.injectFault({ target: 'ws', kind: 'latency', ms: 300 });
    const c = await WsClient.open(emu.wsUrl);
    const id = newTaskId();
    c.send(runTask(id, MODEL, { voice }));
    c.send(continueTask(id, 'too early.'));
    await expectFailedThenReusable(c, 'InvalidParameter', /before task-started/);
  });

  it('fails a continue-task with the wrong task_id', async () => {
    const { c } = await started();
    c.send(continueTask(newTaskId(), 'whose task is this.'));
    await expectFailedThenReusable(c, 'InvalidParameter');
  });

  it('fails a continue-task without a running task', async () => {
    const c = await WsClient.open(emu.wsUrl);
    c.send(continueTask(newTaskId(), 'hello.'));
    await expectFailedThenReusable(c, 'InvalidParameter');
  });

  it('accepts 20,000 characters in one continue-task and fails 20,001', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, 'a'.repeat(20_000)));
    await expect(c.next(200)).rejects.toThrow(/timeout/);
    c.send(continueTask(id, 'b'.repeat(20_001)));
    await expectFailedThenReusable(c, 'InvalidParameter', /20000/);
  });

  it('counts CJK ideographs as 2 toward the 20,000 limit (10,001 ideographs fail)', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, '字'.repeat(10_000)));
    await expect(c.next(200)).rejects.toThrow(/timeout/);
    c.send(continueTask(id, '字'.repeat(10_001)));
    await expectFailedThenReusable(c, 'InvalidParameter');
  });

  it('fails a task once it exceeds 200,000 characters in total', async () => {
    const { c, id } = await started();
    for (let i = 0; i < 10; i++) c.send(continueTask(id, 'c'.repeat(20_000)));
    await expect(c.next(300)).rejects.toThrow(/timeout/);
    c.send(continueTask(id, 'd'));
    await expectFailedThenReusable(c, 'InvalidParameter', /200000/);
  });

  it('with enable_ssml fails a second continue-task with "Text request limit violated, expected 1."', async () => {
    const { c, id } = await started({ enable_ssml: true });
    c.send(continueTask(id, '<speak>Hello.</speak>'));
    c.send(continueTask(id, '<speak>Again.</speak>'));
    const failed = await expectFailedThenReusable(c, 'InvalidParameter');
    expect(failed.data.header.error_message).toBe('Text request limit violated, expected 1.');
  });

  it('counts characters as the docs do: a space is 1, an ideograph 2', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, '中 文。'));
    c.send(finishTask(id));
    const msgs = await c.collect();
    expect(eventsOf(msgs).at(-1)!.data.payload.usage.characters).toBe(6);
    c.close();
  });

  it('takes the SDK defaults format "Default" and sample_rate 0 as mp3 at 22050 Hz', async () => {
    const { c, id } = await started({ format: 'Default', sample_rate: 0 });
    c.send(continueTask(id, 'Hello.'));
    c.send(finishTask(id));
    const msgs = await c.collect();
    const audio = Buffer.concat(
      msgs.filter((m) => m.kind === 'binary').map((m) => (m as { data: Buffer }).data),
    );
    expect(eventsOf(msgs).at(-1)!.event).toBe('task-finished');
    // An MPEG audio frame sync (or an ID3 tag) at the start: MP3, not WAV/PCM.
    expect(audio[0] === 0xff || audio.subarray(0, 3).toString() === 'ID3').toBe(true);
    c.close();
  });

  it('does not count SSML tags', async () => {
    const { c, id } = await started({ enable_ssml: true });
    c.send(continueTask(id, '<speak rate="1.2">你好</speak>'));
    c.send(finishTask(id));
    const msgs = await c.collect();
    expect(eventsOf(msgs).at(-1)!.data.payload.usage.characters).toBe(4);
    c.close();
  });
});

describe('timers', () => {
  it('fails an idle task with CLIENT_ERROR "request timeout after 23 seconds.", and the connection takes a new task', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, 'Waiting'));
    const t0 = Date.now();
    const failed = await expectFailedThenReusable(
      c,
      'CLIENT_ERROR',
      'request timeout after 23 seconds.',
    );
    expect(failed.data.header.error_message).toBe('request timeout after 23 seconds.');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
  });

  it('resets the task idle timer on every client message', async () => {
    const { c, id } = await started();
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 200));
      c.send(continueTask(id, 'more'));
    }
    c.send(finishTask(id));
    const msgs = await c.collect();
    expect(eventsOf(msgs).at(-1)!.event).toBe('task-finished');
    c.close();
  });

  it('closes a connection left idle after a task (connection idle timeout)', async () => {
    emu.configure({ connectionIdleTimeoutMs: 300 });
    const { c, id } = await started();
    c.send(finishTask(id));
    await c.collect();
    const t0 = Date.now();
    const closed = await c.closed;
    expect(closed.code).toBe(1000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('does not time out a task after finish-task while audio is still being produced', async () => {
    emu.configure({ sentenceDelayMs: 150, taskIdleTimeoutMs: 200 });
    const { c, id } = await started();
    c.send(continueTask(id, 'One. Two. Three. Four.'));
    c.send(finishTask(id));
    const msgs = await c.collect();
    expect(eventsOf(msgs).at(-1)!.event).toBe('task-finished');
    c.close();
  });
});

describe('connection reuse and lifecycle', () => {
  it('runs sequential tasks with new task_ids on one connection', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, 'First.'));
    c.send(finishTask(id));
    expect(eventsOf(await c.collect()).at(-1)!.event).toBe('task-finished');
    const id2 = newTaskId();
    c.send(runTask(id2, MODEL, { voice }));
    await c.expectEvent('task-started');
    c.send(continueTask(id2, 'Second.'));
    c.send(finishTask(id2));
    const msgs = await c.collect();
    expect(eventsOf(msgs).at(-1)!.data.header.task_id).toBe(id2);
    expect(eventsOf(msgs).at(-1)!.data.payload.usage.characters).toBe(7);
    c.close();
  });

  it('takes a run-task with a new task_id sent before the previous task-finished arrives', async () => {
    const { c, id } = await started();
    c.send(continueTask(id, 'First.'));
    c.send(finishTask(id));
    const id2 = newTaskId();
    c.send(runTask(id2, MODEL, { voice }));
    // Whatever the first task still sends comes first; then the second starts.
    let m = await c.next(5000);
    while (m && !(m.kind === 'event' && m.event === 'task-started')) {
      if (m.kind === 'event') expect(m.event).not.toBe('task-failed');
      m = await c.next(5000);
    }
    expect(m?.kind === 'event' && m.data.header.task_id).toBe(id2);
    c.send(continueTask(id2, 'Second.'));
    c.send(finishTask(id2));
    const msgs = await c.collect();
    expect(eventsOf(msgs).at(-1)!.event).toBe('task-finished');
    expect(eventsOf(msgs).at(-1)!.data.header.task_id).toBe(id2);
    c.close();
  });

  it('fails a reused task_id', async () => {
    const { c, id } = await started();
    c.send(finishTask(id));
    await c.collect();
    c.send(runTask(id, MODEL, { voice }));
    await expectFailedThenReusable(c, 'InvalidParameter', /already/);
  });

  it('runs tasks with new task_ids one after another on one connection, after a task-failed too', async () => {
    const c = await WsClient.open(emu.wsUrl);
    const run = async (text: string): Promise<string> => {
      const id = newTaskId();
      c.send(runTask(id, MODEL, { voice }));
      await c.expectEvent('task-started');
      c.send(continueTask(id, text));
      c.send(finishTask(id));
      const last = eventsOf(await c.collect()).at(-1)!;
      expect([last.event, last.data.header.task_id]).toEqual(['task-finished', id]);
      return id;
    };
    await run('First.');
    await run('Second.');
    // A task that fails (a voice the engine refuses)…
    const bad = newTaskId();
    c.send(runTask(bad, MODEL, { voice: 'cosyvoice-v2-ghost-0123456789abcdef0123456789abcdef' }));
    const failed = await c.expectEvent('task-failed');
    expect(failed.data.header.task_id).toBe(bad);
    // …one that fails mid-task (text before the limit, then over it)…
    const mid = newTaskId();
    c.send(runTask(mid, MODEL, { voice }));
    await c.expectEvent('task-started');
    c.send(continueTask(mid, 'x'.repeat(20_001)));
    expect((await c.expectEvent('task-failed')).data.header.task_id).toBe(mid);
    // …and the connection still takes new tasks.
    await run('Third.');
    await run('Fourth.');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.close();
  });

  it('cancels a task on finish-task with directive "cancel" (the SDK streaming_cancel), then takes a new one', async () => {
    emu.configure({ sentenceDelayMs: 100 });
    const { c, id } = await started();
    c.send(continueTask(id, 'One. Two. Three. Four. Five. Six. '));
    await c.expectEvent('result-generated');
    c.send({
      header: { action: 'finish-task', task_id: id, streaming: 'duplex' },
      payload: { input: { directive: 'cancel' } },
    });
    const msgs = await c.collect();
    const last = eventsOf(msgs).at(-1)!;
    expect([last.event, last.data.header.task_id]).toEqual(['task-finished', id]);
    const ends = eventsOf(msgs).filter((m) => m.data.payload?.output?.type === 'sentence-end');
    expect(ends.length).toBeLessThan(5);
    emu.configure({ sentenceDelayMs: 0 });
    const next = newTaskId();
    c.send(runTask(next, MODEL, { voice }));
    await c.expectEvent('task-started');
    c.close();
  });

  it('closes the connection after task-failed, as the protocol says (the default)', async () => {
    emu.configure({ closeAfterTaskFailed: true });
    const c = await WsClient.open(emu.wsUrl);
    c.send(runTask(newTaskId(), 'no-such-model', { voice }));
    const failed = await c.expectEvent('task-failed');
    expect(failed.data.header.error_message).toBe('Model not exist.');
    expect((await c.closed).code).toBe(1000);
  });

  it('silently aborts a running task when a new run-task arrives', async () => {
    emu.configure({ sentenceDelayMs: 100 });
    const { c, id } = await started();
    c.send(continueTask(id, 'One. Two. Three. Four. Five. '));
    await c.expectEvent('result-generated'); // first sentence-begin of the old task
    const id2 = newTaskId();
    c.send(runTask(id2, MODEL, { voice }));
    // Drain: old-task messages may still be in flight, but none follow the new task-started.
    const rest = await c.collect(['task-started']);
    c.send(finishTask(id2));
    rest.push(...(await c.collect(['task-finished'])));
    const startIdx = rest.findIndex((m) => m.kind === 'event' && m.event === 'task-started');
    expect(startIdx).toBeGreaterThanOrEqual(0);
    const after = eventsOf(rest.slice(startIdx));
    expect(after.every((m) => m.data.header.task_id === id2)).toBe(true);
    expect(eventsOf(rest).some((m) => m.event === 'task-failed')).toBe(false);
    expect(
      eventsOf(rest).filter((m) => m.data.header.task_id === id && m.event === 'task-finished'),
    ).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 300));
    await expect(c.next(50)).rejects.toThrow(/timeout/);
    c.close();
  });

  it('frees the task and connection state when the client disconnects mid-task', async () => {
    emu.configure({ sentenceDelayMs: 100 });
    // Let sockets closed by earlier tests finish closing.
    const before = await waitFor(
      () => emu.stats().ws,
      (s) => s.activeConnections === 0,
    );
    expect(before.activeTasks).toBe(0);
    const { c, id } = await started();
    c.send(continueTask(id, 'One. Two. Three. Four. '));
    await c.expectEvent('result-generated');
    expect(emu.stats().ws.activeTasks).toBe(before.activeTasks + 1);
    c.ws.terminate();
    await c.closed;
    const s = await new Promise<ReturnType<EmulatorHandle['stats']>['ws']>((resolve) =>
      setTimeout(() => resolve(emu.stats().ws), 400),
    );
    expect(s.activeTasks).toBe(before.activeTasks);
    expect(s.activeConnections).toBe(before.activeConnections);
  });
});
