import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmulatorHandle, startEmulator } from '../server.js';
import { KEY, type SampleServer, enroll, rawPost, startSampleServer, waitFor } from './helpers.js';

const GOOD = 'fixtures/speech/spk02_m_en_jfk_16k_mono.wav';

let emu: EmulatorHandle;
let samples: SampleServer;

beforeAll(async () => {
  samples = await startSampleServer();
  emu = await startEmulator({
    keys: [KEY, 'sk-other'],
    keysByHost: { 'dashscope-intl.aliyuncs.com': ['sk-intl'] },
    deployDelayMs: 50,
    quota: 1000,
  });
});
afterAll(async () => {
  await emu.close();
  await samples.close();
});
beforeEach(() => {
  emu.reset();
  emu.configure({ deployDelayMs: 50, forceUndeployed: false, quota: 1000 });
});

const customization = (): string => `${emu.httpBaseUrl}/services/audio/tts/customization`;

function create(prefix = 'myvoice', target_model = 'cosyvoice-v2', url = samples.url(GOOD)) {
  return enroll(emu, { action: 'create_voice', target_model, prefix, url });
}

describe('HTTP routing and auth', () => {
  it('answers an unknown route with a 404 JSON error', async () => {
    const r = await rawPost(`${emu.baseUrl}/api/v1/services/nope`, {});
    expect(r.status).toBe(404);
    expect(r.contentType).toMatch(/application\/json/);
    expect(r.body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    expect(typeof r.body.request_id).toBe('string');
  });

  it('rejects a missing key with 401 InvalidApiKey as JSON', async () => {
    const r = await rawPost(
      customization(),
      { model: 'voice-enrollment', input: { action: 'list_voice' } },
      {},
    );
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'InvalidApiKey', message: 'Invalid API-key provided.' });
    expect(r.body.request_id).toMatch(/[0-9a-f-]{32,36}/);
  });

  it('rejects a wrong key with 401 InvalidApiKey', async () => {
    const r = await enroll(emu, { action: 'list_voice' }, 'sk-wrong');
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('InvalidApiKey');
    expect(emu.stats().http.unauthorized).toBeGreaterThanOrEqual(1);
  });

  it('matches the Bearer scheme case-insensitively', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const r = await rawPost(
        customization(),
        { model: 'voice-enrollment', input: { action: 'list_voice' } },
        { authorization: `${scheme} ${KEY}` },
      );
      expect(r.status, scheme).toBe(200);
    }
  });

  it('keeps a separate key set per host (a key of one region is invalid on the other)', async () => {
    const call = (host: string, key: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ model: 'voice-enrollment', input: { action: 'list_voice' } });
        const req = request(
          customization(),
          {
            method: 'POST',
            headers: { host, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await call('dashscope-intl.aliyuncs.com', 'sk-intl')).toBe(200);
    expect(await call('dashscope-intl.aliyuncs.com', KEY)).toBe(401);
    expect(await call('dashscope.aliyuncs.com', 'sk-intl')).toBe(401);
    expect(await call('dashscope.aliyuncs.com', KEY)).toBe(200);
  });

  it('gives every response, errors included, a new request_id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      ids.add((await enroll(emu, { action: 'list_voice' })).body.request_id as string);
      ids.add((await enroll(emu, { action: 'nope' })).body.request_id as string);
      ids.add((await enroll(emu, { action: 'list_voice' }, 'bad')).body.request_id as string);
    }
    expect(ids.size).toBe(9);
  });
});

describe('request validation', () => {
  it('rejects a wrong model with 400 InvalidParameter', async () => {
    const r = await rawPost(customization(), {
      model: 'cosyvoice-v2',
      input: { action: 'list_voice' },
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('InvalidParameter');
  });

  it('rejects an unknown action with 400 InvalidParameter', async () => {
    const r = await enroll(emu, { action: 'clone_voice' });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('InvalidParameter');
  });

  it('rejects a body without input or action, and a non-JSON body, with 400 InvalidParameter', async () => {
    for (const body of [
      { model: 'voice-enrollment' },
      { model: 'voice-enrollment', input: {} },
      'not json{',
    ]) {
      const r = await rawPost(customization(), body);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('InvalidParameter');
    }
  });

  it('rejects create_voice with a missing required field with 400 InvalidParameter', async () => {
    for (const input of [
      { action: 'create_voice', prefix: 'a', url: samples.url(GOOD) },
      { action: 'create_voice', target_model: 'cosyvoice-v2', url: samples.url(GOOD) },
      { action: 'create_voice', target_model: 'cosyvoice-v2', prefix: 'a' },
    ]) {
      const r = await enroll(emu, input);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('InvalidParameter');
    }
    expect(emu.voices()).toHaveLength(0);
  });

  it('ignores extra keys such as parameters:{} and unknown input fields', async () => {
    const r = await rawPost(customization(), {
      model: 'voice-enrollment',
      parameters: {},
      extra: true,
      input: { action: 'list_voice', something: 'else' },
    });
    expect(r.status).toBe(200);
  });

  it.each(['', 'UPPER', 'has-dash', 'elevenchars', 'sp ace', 'ünï'])(
    'rejects prefix %j with 400 InvalidParameter',
    async (prefix) => {
      const r = await create(prefix);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('InvalidParameter');
    },
  );

  it('rejects an unknown target_model with 400 InvalidParameter', async () => {
    const r = await create('ok', 'cosyvoice-v9');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('InvalidParameter');
  });
});

describe('create_voice', () => {
  it('returns {target_model}-{prefix}-{32 hex} with usage.count 1 for every supported model', async () => {
    for (const model of [
      'cosyvoice-v1',
      'cosyvoice-v2',
      'cosyvoice-v3-flash',
      'cosyvoice-v3-plus',
      'cosyvoice-v3.5-flash',
      'cosyvoice-v3.5-plus',
    ]) {
      const r = await create('abc123', model);
      expect(r.status, model).toBe(200);
      expect(r.body.usage).toEqual({ count: 1 });
      const esc = model.replace(/\./g, '\\.');
      expect(r.body.output.voice_id).toMatch(new RegExp(`^${esc}-abc123-[0-9a-f]{32}$`));
    }
  });

  it('accepts the optional v3 fields language_hints, max_prompt_audio_length, enable_preprocess', async () => {
    const r = await enroll(emu, {
      action: 'create_voice',
      target_model: 'cosyvoice-v3-plus',
      prefix: 'v3',
      url: samples.url(GOOD),
      language_hints: ['en'],
      max_prompt_audio_length: 10,
      enable_preprocess: true,
    });
    expect(r.status).toBe(200);
  });

  it('starts a voice DEPLOYING and makes it OK after the deploy delay', async () => {
    emu.configure({ deployDelayMs: 200 });
    const id = (await create()).body.output.voice_id as string;
    const q1 = await enroll(emu, { action: 'query_voice', voice_id: id });
    expect(q1.body.output.status).toBe('DEPLOYING');
    await waitFor(
      async () => (await enroll(emu, { action: 'query_voice', voice_id: id })).body.output.status,
      (s) => s === 'OK',
    );
  });

  it('can be forced to end in UNDEPLOYED by a hook', async () => {
    emu.configure({ forceUndeployed: (v) => v.prefix === 'bad' });
    const bad = (await create('bad')).body.output.voice_id as string;
    const good = (await create('good')).body.output.voice_id as string;
    await waitFor(
      () => emu.voices().map((v) => v.status),
      (s) => !s.includes('DEPLOYING'),
    );
    expect(emu.voices().find((v) => v.voice_id === bad)?.status).toBe('UNDEPLOYED');
    expect(emu.voices().find((v) => v.voice_id === good)?.status).toBe('OK');
  });

  it('does not deduplicate: the same create twice makes two voices', async () => {
    const a = await create('dup');
    const b = await create('dup');
    expect(a.body.output.voice_id).not.toBe(b.body.output.voice_id);
    expect(emu.voices()).toHaveLength(2);
    expect(emu.stats().http.byAction.create_voice).toBe(2);
  });
});

describe('quota', () => {
  it('refuses a create beyond the quota with 400 Throttling.AllocationQuota, and delete frees a slot', async () => {
    emu.configure({ quota: 2 });
    const a = (await create('q')).body.output.voice_id as string;
    await create('q');
    const over = await create('q');
    expect(over.status).toBe(400);
    expect(over.body.code).toBe('Throttling.AllocationQuota');
    expect((await enroll(emu, { action: 'delete_voice', voice_id: a })).status).toBe(200);
    expect((await create('q')).status).toBe(200);
  });

  it('defaults to a quota of 1000 voices', async () => {
    const { DEFAULT_OPTIONS } = await import('../server.js');
    expect(DEFAULT_OPTIONS.quota).toBe(1000);
  });
});

describe('list_voice', () => {
  it('filters by prefix, paginates with page_index/page_size and carries exactly four fields per item', async () => {
    for (let i = 0; i < 5; i++) await create('alpha');
    for (let i = 0; i < 2; i++) await create('beta');
    const page0 = await enroll(emu, {
      action: 'list_voice',
      prefix: 'alpha',
      page_index: 0,
      page_size: 2,
    });
    const page2 = await enroll(emu, {
      action: 'list_voice',
      prefix: 'alpha',
      page_index: 2,
      page_size: 2,
    });
    const page3 = await enroll(emu, {
      action: 'list_voice',
      prefix: 'alpha',
      page_index: 3,
      page_size: 2,
    });
    expect(page0.status).toBe(200);
    expect(page0.body.output.voice_list).toHaveLength(2);
    expect(page2.body.output.voice_list).toHaveLength(1);
    expect(page3.body.output.voice_list).toHaveLength(0);
    for (const item of page0.body.output.voice_list as Record<string, unknown>[]) {
      expect(Object.keys(item).sort()).toEqual([
        'gmt_create',
        'gmt_modified',
        'status',
        'voice_id',
      ]);
      expect(item.voice_id).toMatch(/-alpha-/);
      expect(item.gmt_create).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    }
    expect(Object.keys(page0.body.output)).toEqual(['voice_list']);
    expect(page0.body.usage).toEqual({ count: 1 });
  });

  it('defaults to page 0 of 10 and lists all prefixes without a filter (empty prefix dropped)', async () => {
    for (let i = 0; i < 12; i++) await create(i % 2 ? 'odd' : 'even');
    const r = await enroll(emu, { action: 'list_voice', prefix: '' });
    expect(r.body.output.voice_list).toHaveLength(10);
  });

  it('rejects a negative page_index or a zero page_size with 400 InvalidParameter', async () => {
    expect((await enroll(emu, { action: 'list_voice', page_index: -1 })).body.code).toBe(
      'InvalidParameter',
    );
    expect((await enroll(emu, { action: 'list_voice', page_size: 0 })).body.code).toBe(
      'InvalidParameter',
    );
  });
});

describe('query / update / delete', () => {
  it('query_voice returns the five fields without voice_id', async () => {
    const url = samples.url(GOOD);
    const id = (await create('qv', 'cosyvoice-v3-flash', url)).body.output.voice_id as string;
    const r = await enroll(emu, { action: 'query_voice', voice_id: id });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.output).sort()).toEqual([
      'gmt_create',
      'gmt_modified',
      'resource_link',
      'status',
      'target_model',
    ]);
    expect(r.body.output).toMatchObject({ resource_link: url, target_model: 'cosyvoice-v3-flash' });
  });

  it('update_voice re-enrols from a new url, returns {output:{}}, and goes back to DEPLOYING', async () => {
    const id = (await create('up')).body.output.voice_id as string;
    await waitFor(
      () => emu.voices()[0]?.status,
      (s) => s === 'OK',
    );
    emu.configure({ deployDelayMs: 5000 });
    const newUrl = samples.url('fixtures/speech/spk01_m_en_librivox.mp3');
    const r = await enroll(emu, { action: 'update_voice', voice_id: id, url: newUrl });
    expect(r.status).toBe(200);
    expect(r.body.output).toEqual({});
    expect(r.body.usage).toEqual({ count: 1 });
    const q = await enroll(emu, { action: 'query_voice', voice_id: id });
    expect(q.body.output).toMatchObject({ resource_link: newUrl, status: 'DEPLOYING' });
  });

  it('update_voice validates the new sample like create', async () => {
    const id = (await create('up')).body.output.voice_id as string;
    const r = await enroll(emu, {
      action: 'update_voice',
      voice_id: id,
      url: samples.url('fixtures/bad/png_renamed.mp3'),
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('BadRequest.UnsupportedFileFormat');
  });

  it('delete_voice returns {output:{},usage:{count:1}} and the voice is gone', async () => {
    const id = (await create('del')).body.output.voice_id as string;
    const r = await enroll(emu, { action: 'delete_voice', voice_id: id });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ output: {}, usage: { count: 1 } });
    expect(emu.voices()).toHaveLength(0);
  });

  it.each(['query_voice', 'update_voice', 'delete_voice'])(
    '%s of an unknown id gives 400 BadRequest.ResourceNotExist',
    async (action) => {
      const r = await enroll(emu, {
        action,
        voice_id: 'cosyvoice-v2-nobody-00000000000000000000000000000000',
        url: samples.url(GOOD),
      });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({
        code: 'BadRequest.ResourceNotExist',
        message: 'The Required resource not exist.',
      });
    },
  );
});

describe('programmatic and HTTP control', () => {
  it('setVoiceStatus and POST /__emulator/voices/:id/status change a voice status', async () => {
    const id = (await create('ctl')).body.output.voice_id as string;
    emu.setVoiceStatus(id, 'UNDEPLOYED');
    expect(emu.voices()[0]?.status).toBe('UNDEPLOYED');
    const r = await rawPost(`${emu.controlUrl}/voices/${id}/status`, { status: 'OK' });
    expect(r.status).toBe(200);
    const state = (await (await fetch(`${emu.controlUrl}/state`)).json()) as {
      voices: { voice_id: string; status: string; prefix: string; target_model: string }[];
      stats: { http: { byAction: Record<string, number> } };
    };
    expect(state.voices[0]).toMatchObject({
      voice_id: id,
      status: 'OK',
      prefix: 'ctl',
      target_model: 'cosyvoice-v2',
    });
    expect(state.stats.http.byAction.create_voice).toBe(1);
  });

  it('POST /__emulator/config changes the quota of a running emulator', async () => {
    expect((await rawPost(`${emu.controlUrl}/config`, { quota: 0 })).status).toBe(200);
    expect((await create()).body.code).toBe('Throttling.AllocationQuota');
  });

  it('counts calls per action in stats()', async () => {
    await enroll(emu, { action: 'list_voice' });
    await enroll(emu, { action: 'list_voice' });
    await enroll(emu, { action: 'query_voice', voice_id: 'x' });
    const s = emu.stats().http;
    expect(s.byAction).toEqual({ list_voice: 2, query_voice: 1 });
    expect(s.calls.map((c) => c.status)).toEqual([200, 200, 400]);
  });
});

describe('errors worded as the DashScope docs word them', () => {
  const generic = 'Required parameter(s) missing or invalid, please check the request parameters.';

  it.each([
    ['a missing field', () => enroll(emu, { action: 'create_voice', prefix: 'a' }), generic],
    ['no input.action', () => enroll(emu, {}), generic],
    ['a body that is not JSON', () => rawPost(customization(), '{not json'), generic],
    [
      'an unknown enrollment model',
      () => rawPost(customization(), { model: 'voice-nope', input: { action: 'list_voice' } }),
      'Model not exist.',
    ],
    ['an unknown target_model', () => create('abc', 'cosyvoice-v9'), 'Model not exist.'],
  ] as const)('answers %s with 400 InvalidParameter', async (_name, call, message) => {
    const r = await call();
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'InvalidParameter', message });
  });

  it('answers an unknown voice with "The Required resource not exist."', async () => {
    const r = await enroll(emu, { action: 'query_voice', voice_id: 'cosyvoice-v2-x-0' });
    expect([r.status, r.body.code, r.body.message]).toEqual([
      400,
      'BadRequest.ResourceNotExist',
      'The Required resource not exist.',
    ]);
  });

  it('answers a bad key with 401 "Invalid API-key provided."', async () => {
    const r = await enroll(emu, { action: 'list_voice' }, 'sk-wrong');
    expect([r.status, r.body.code, r.body.message]).toEqual([
      401,
      'InvalidApiKey',
      'Invalid API-key provided.',
    ]);
  });

  it('answers a full voice quota with Throttling.AllocationQuota and its documented text', async () => {
    emu.configure({ quota: 0 });
    const r = await create();
    expect([r.status, r.body.code, r.body.message]).toEqual([
      400,
      'Throttling.AllocationQuota',
      'Allocated quota exceeded, please increase your quota limit.',
    ]);
  });

  it('words a status fault without a message with the documented text of its code', async () => {
    emu.injectFault({ target: 'http', kind: 'status', status: 400, code: 'Arrearage' });
    const r = await enroll(emu, { action: 'list_voice' });
    expect(r.body.message).toBe(
      'Access denied, please make sure your account is in good standing.',
    );
  });
});
