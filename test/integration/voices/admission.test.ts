import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import { createVoice, uploadFixture, voiceApp, type VoiceTestApp } from './helpers.js';

// Turns at creation set-up (api/plugins/admission.ts); the database plays no part: SQLite.
describe('creation set-up takes turns', () => {
  let t: VoiceTestApp;
  let token: string;
  let sample: string;
  let port: number;

  beforeAll(async () => {
    t = await voiceApp('sqlite', {
      CREATE_SETUP_CONCURRENCY: '1',
      CREATE_SETUP_QUEUE: '0',
    });
    token = (await registerUser(t.app)).access;
    sample = await uploadFixture(t.app, token);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(async () => t.close());

  it('a creation waiting for its job leaves its turn to the next one', async () => {
    const held = t.fake.holdNextSynthesis();
    const waiting = createVoice(t.app, token, sample);
    await held.reached;
    // With one turn and no line, this would be refused if the first still held it.
    const next = await createVoice(t.app, token, sample, {}, { query: '?async=1' });
    expect(next.statusCode, next.body).toBe(202);
    held.open();
    expect((await waiting).statusCode).toBe(200);
  });

  it('a client sending its body slowly holds no turn', async () => {
    // Headers and the start of a body, then nothing.
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /api/voice/create_voice HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Authorization: ${bearer(token).authorization}\r\nContent-Length: 200\r\n\r\n{`,
    );
    try {
      await new Promise((r) => setTimeout(r, 100));
      // With one turn and no line, this would be refused if the slow client held it.
      const res = await createVoice(t.app, token, sample, {}, { query: '?async=1' });
      expect(res.statusCode, res.body).toBe(202);
      expect(socket.destroyed).toBe(false);
    } finally {
      socket.destroy();
    }
  });
});
