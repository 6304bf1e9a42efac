import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { readyVoice, uploadFixture, voiceApp, type VoiceTestApp } from './helpers.js';

// The job's polling does not depend on the database: SQLite only.
describe('polling the provider while it prepares a voice', () => {
  let t: VoiceTestApp;
  let token: string;
  let sample: string;

  beforeAll(async () => {
    t = await voiceApp('sqlite', {}, { jobSettings: { pollMinMs: 10, pollMaxMs: 100 } });
    token = (await registerUser(t.app)).access;
    sample = await uploadFixture(t.app, token);
  });
  afterAll(async () => t.close());

  it('follows the provider pace learned from earlier voices: fewer status queries, none early', async () => {
    t.fake.deployment = { kind: 'after', ms: 600 };
    const polls = async () => {
      t.fake.calls.get = 0;
      await readyVoice(t.app, token, sample);
      return t.fake.calls.get;
    };
    // The first voice: back-off from 10 ms to 100 ms, about 11 queries over 600 ms.
    const first = await polls();
    expect(first).toBeGreaterThanOrEqual(8);
    // Then: one query at once, a sleep through most of the learned time, a few close queries.
    const second = await polls();
    const third = await polls();
    expect(second).toBeLessThan(first);
    expect(third).toBeLessThan(first);
    expect(Math.max(second, third)).toBeLessThanOrEqual(6);
  });
});
