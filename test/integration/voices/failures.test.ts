import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderErrorKind } from '../../../src/providers/provider.js';
import { MemoryBlobStore } from '../../doubles/memory-blob-store.js';
import { registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import {
  api,
  count,
  createVoice,
  until,
  uploadFixture,
  voiceApp,
  type VoiceTestApp,
} from './helpers.js';
import type { FakeProvider } from '../../doubles/fake-provider.js';

const dialects = await testDialects();

interface Case {
  name: string;
  arrange(fake: FakeProvider, blobs: MemoryBlobStore): void;
  status: number;
  /** A fragment of the voice's error_info that a user can act on. */
  info: RegExp;
}

const createFails =
  (kind: ProviderErrorKind, times = Infinity) =>
  (fake: FakeProvider) =>
    void fake.fail('create', kind, times);

const cases: Case[] = [
  {
    name: 'the provider rejects the sample at enrolment',
    arrange: createFails('sample'),
    status: 422,
    info: /could not use this sample/,
  },
  {
    name: 'the provider refuses our credentials',
    arrange: createFails('auth'),
    status: 502,
    info: /credentials.*API key/,
  },
  {
    name: 'the provider is down beyond the retries',
    arrange: createFails('unavailable'),
    status: 502,
    info: /unavailable.*try again later/,
  },
  {
    name: 'the voice quota is full',
    arrange: createFails('quota'),
    status: 503,
    info: /quota is full.*delete unused voices/,
  },
  {
    name: 'the provider keeps throttling',
    arrange: createFails('throttled'),
    status: 503,
    info: /busy/,
  },
  {
    name: 'the voice never becomes usable',
    arrange: (fake) => {
      fake.deployment = { kind: 'forever' };
    },
    status: 503,
    info: /did not finish preparing the voice in time/,
  },
  {
    name: 'the provider undeploys the voice at review',
    arrange: (fake) => {
      fake.deployment = { kind: 'undeployed' };
    },
    status: 422,
    info: /rejected the sample during review.*clean recording/,
  },
  {
    name: 'the provider loses the voice while it deploys',
    arrange: (fake) => void fake.fail('get', 'not_found'),
    status: 502,
    info: /lost the voice while creating it/,
  },
  {
    name: 'the audition synthesis fails',
    arrange: (fake) => void fake.fail('synthesize', 'unavailable'),
    status: 502,
    info: /unavailable/,
  },
  {
    name: 'the audition synthesis is rejected',
    arrange: (fake) => void fake.fail('synthesize', 'auth'),
    status: 502,
    info: /credentials/,
  },
  {
    name: 'the audition synthesis yields no audio',
    arrange: (fake) => {
      fake.emptySynthesis = Infinity;
    },
    status: 502,
    info: /unavailable/,
  },
  {
    name: 'storing the audition clip fails',
    arrange: (_fake, blobs) => {
      blobs.failOn.put = () => new Error('disk full');
    },
    status: 503,
    info: /could not be stored.*try again later/,
  },
];

describe.each(dialects)('a creation failing at each step on %s', (dialect) => {
  let t: VoiceTestApp;
  let blobs: MemoryBlobStore;
  let user: Awaited<ReturnType<typeof registerUser>>;
  let sample: string;

  beforeAll(async () => {
    blobs = new MemoryBlobStore();
    t = await voiceApp(dialect, { VOICE_READY_TIMEOUT_SEC: '1' }, { blobs });
    user = await registerUser(t.app);
    sample = await uploadFixture(t.app, user.access);
  });
  afterAll(async () => t.close());
  afterEach(() => {
    t.fake.reset();
    blobs.failOn = {};
  });

  /** Nothing but the sample is stored: no audition row, no blob without a row. */
  const expectOnlyTheSample = async () => {
    const rows = await t.db.db.selectFrom('files').select(['id', 'storage_key']).execute();
    expect(rows.map((r) => r.id)).toEqual([sample]);
    expect([...blobs.blobs.keys()]).toEqual([rows[0]!.storage_key]);
  };

  it.each(cases)('$name → $status, failed voice, nothing left behind', async (c) => {
    c.arrange(t.fake, blobs);
    const res = await createVoice(t.app, user.access, sample);
    expect(res.statusCode, res.body).toBe(c.status);
    const body = res.json();
    expect(body).toMatchObject({
      code: c.status,
      message: 'create voice fail',
      status: 'failed',
      voice_id: expect.any(String),
    });
    expect(body.error_info).toMatch(c.info);
    expect(body.error_info).not.toMatch(/Fake\.|stack|at .*\.ts/);
    if (c.status >= 500) expect(body.request_id).toEqual(expect.any(String));

    const got = await api(t.app, user.access, 'GET', `/api/voice/${body.voice_id}`);
    expect(got.json().voice).toMatchObject({
      status: 'failed',
      error_info: body.error_info,
      call_name: null,
      voice_audition_url: null,
    });
    await until(() => t.fake.voices.size === 0, 5000, 'no live provider voice');
    await expectOnlyTheSample();

    // A failed voice can be deleted, and then nothing of it remains.
    const del = await api(t.app, user.access, 'DELETE', `/api/voice/${body.voice_id}`);
    expect(del.statusCode).toBe(200);
    expect(await count(t, 'voices')).toBe(0);
  });

  it('retries transient enrolment failures and ends ready with exactly one provider voice', async () => {
    t.fake.fail('create', 'throttled', 2);
    const res = await createVoice(t.app, user.access, sample);
    expect(res.statusCode, res.body).toBe(200);
    expect(t.fake.calls.create).toBeGreaterThanOrEqual(3);
    expect(t.fake.liveIds()).toEqual([res.json().voice.call_name]);
    await api(t.app, user.access, 'DELETE', `/api/voice/${res.json().voice.voice_id}`);
    await until(() => t.fake.voices.size === 0);
  });

  it('retries an unavailable status query and a failed audition synthesis', async () => {
    t.fake.fail('get', 'unavailable', 2);
    const res = await createVoice(t.app, user.access, sample);
    expect(res.statusCode, res.body).toBe(200);
    t.fake.fail('synthesize', 'unavailable', 2);
    const again = await createVoice(t.app, user.access, sample);
    expect(again.statusCode, again.body).toBe(200);
    expect(t.fake.liveIds().sort()).toEqual(
      [res.json().voice.call_name, again.json().voice.call_name].sort(),
    );
    for (const r of [res, again]) {
      await api(t.app, user.access, 'DELETE', `/api/voice/${r.json().voice.voice_id}`);
    }
    await until(() => t.fake.voices.size === 0);
    await expectOnlyTheSample();
  });

  it('looks for leftovers only on a retry: a first run has nothing to adopt', async () => {
    const lists = t.fake.calls.list;
    const res = await createVoice(t.app, user.access, sample);
    expect(res.statusCode, res.body).toBe(200);
    expect(t.fake.calls.list).toBe(lists);
    await api(t.app, user.access, 'DELETE', `/api/voice/${res.json().voice.voice_id}`);
    await until(() => t.fake.voices.size === 0);
  });

  it('adopts a voice whose create response was lost instead of enrolling twice', async () => {
    t.fake.fail('create', 'unavailable', 1, { landed: true });
    const lists = t.fake.calls.list;
    const res = await createVoice(t.app, user.access, sample);
    expect(res.statusCode, res.body).toBe(200);
    expect(t.fake.calls.list).toBeGreaterThan(lists);
    expect(t.fake.calls.create).toBe(1);
    expect(t.fake.liveIds()).toEqual([res.json().voice.call_name]);
    await api(t.app, user.access, 'DELETE', `/api/voice/${res.json().voice.voice_id}`);
    await until(() => t.fake.voices.size === 0);
  });

  // A create lands at the provider but its answer is lost, and no later attempt can
  // look for it: nothing was recorded, so only the purge of the voice's prefix finds it.
  it('leaves no provider voice when an enrolment answer is lost and no attempt can adopt it', async () => {
    // The first run enrols (it has nothing to adopt), but the answer is lost; the four
    // retries each fail to list the provider's voices before they could adopt it.
    t.fake.fail('list', 'unavailable', 4);
    t.fake.fail('create', 'unavailable', Infinity, { landed: true });
    const res = await createVoice(t.app, user.access, sample);
    try {
      expect(res.statusCode, res.body).toBe(502);
      expect(t.fake.calls.create).toBe(1);
      await until(() => t.fake.voices.size === 0, 1000, 'no live provider voice');
    } finally {
      t.fake.voices.clear();
      await api(t.app, user.access, 'DELETE', `/api/voice/${res.json().voice_id}`);
    }
  });

  it('retries the provider delete of a failed creation until it succeeds', async () => {
    t.fake.deployment = { kind: 'undeployed' };
    t.fake.fail('delete', 'unavailable', 2);
    const res = await createVoice(t.app, user.access, sample);
    expect(res.statusCode).toBe(422);
    await until(() => t.fake.voices.size === 0, 5000, 'provider voice deleted');
    expect(t.fake.calls.delete).toBe(3);
    await api(t.app, user.access, 'DELETE', `/api/voice/${res.json().voice_id}`);
  });
});
