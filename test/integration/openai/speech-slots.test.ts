import { request as httpRequest } from 'node:http';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { bearer, registerUser } from '../../helpers/app.js';
import { freePort } from '../../helpers/spawn.js';
import {
  readyVoice,
  uploadFixture,
  voiceApp,
  type Json,
  type VoiceTestApp,
} from '../voices/helpers.js';

/**
 * The per-user synthesis slot (SYNTHESIZE_IN_FLIGHT_PER_USER) is one budget
 * for both speech routes, and a request that leaves before its first audio
 * gives its slot back at once.
 */
describe('synthesis slots across /api and /v1', () => {
  let t: VoiceTestApp;
  let port: number;
  let user: Awaited<ReturnType<typeof registerUser>>;
  let voice: Json;

  const routes = {
    api: () => ({
      url: `/api/voice/${voice.voice_id}/synthesize`,
      payload: { text: 'Hello there.', format: 'pcm' },
    }),
    v1: () => ({
      url: '/v1/audio/speech',
      payload: {
        model: 'tts-1',
        input: 'Hello there.',
        voice: voice.voice_id,
        response_format: 'pcm',
      },
    }),
  };
  const speak = (route: keyof typeof routes, token = user.access) =>
    t.app.inject({ method: 'POST', headers: bearer(token), ...routes[route]() });

  beforeAll(async () => {
    t = await voiceApp('sqlite', { SYNTHESIZE_IN_FLIGHT_PER_USER: '1', RETRY_AFTER_SEC: '7' });
    port = await t.app.listen({ port: await freePort(), host: '127.0.0.1' }).then(() => {
      const address = t.app.server.address();
      return typeof address === 'object' && address ? address.port : 0;
    });
    user = await registerUser(t.app, 'slots');
    voice = await readyVoice(t.app, user.access, await uploadFixture(t.app, user.access));
  });
  afterAll(async () => t.close());
  beforeEach(() => t.fake.reset());

  it.each([
    ['api', 'v1'],
    ['v1', 'api'],
  ] as const)(
    'a synthesis on %s takes the slot: %s answers 429 with Retry-After until it is done',
    async (holder, other) => {
      const gate = t.fake.holdNextSynthesis();
      const first = speak(holder);
      await gate.reached;
      const refused = await speak(other);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('7');
      if (other === 'v1') {
        expect(refused.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
      }
      gate.open();
      expect((await first).statusCode).toBe(200);
      expect((await speak(other)).statusCode).toBe(200);
    },
  );

  it.each(['api', 'v1'] as const)(
    'a client that leaves %s before the first audio frees its slot and stops the synthesis',
    async (route) => {
      const gate = t.fake.holdNextSynthesis();
      const { url, payload } = routes[route]();
      const body = JSON.stringify(payload);
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: url,
        headers: {
          ...bearer(user.access),
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      });
      req.on('error', () => undefined);
      req.end(body);
      await gate.reached;
      // The slot is taken while the provider works on the first audio.
      expect((await speak(route)).statusCode).toBe(429);
      req.destroy();
      // The held synthesis never gets its gate opened: only the client leaving frees the slot.
      await expect.poll(async () => (await speak(route)).statusCode, { timeout: 5_000 }).toBe(200);
      expect(t.fake.synthesized[0]?.signal?.aborted).toBe(true);
    },
  );
});
