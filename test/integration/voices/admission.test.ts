import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import { createVoice, until, uploadFixture, voiceApp, type VoiceTestApp } from './helpers.js';

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
      CREATE_SETUP_HOLD_SEC: '1',
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

  /**
   * A client that sends a creation's headers and then nothing: its body read
   * holds the only turn. Returns once an injected creation is refused for it.
   */
  async function slowClientHoldingTheTurn() {
    for (let attempt = 0; attempt < 5; attempt++) {
      const socket = connect(port, '127.0.0.1');
      let answered = false;
      socket.on('data', () => (answered = true));
      await new Promise((r) => socket.once('connect', r));
      socket.write(
        'POST /api/voice/create_voice HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          `Authorization: ${bearer(token).authorization}\r\nContent-Length: 200\r\n\r\n{`,
      );
      // Let the server read the headers before anything else asks for the turn.
      await new Promise((r) => setTimeout(r, 100));
      const res = await createVoice(t.app, token, sample, {}, { query: '?async=1' });
      if (res.statusCode === 503 && !answered) return { socket, refused: res };
      socket.destroy();
    }
    throw new Error('the slow client never held the turn');
  }

  it('refuses with 503 and Retry-After while the turns and the line are full', async () => {
    const { socket, refused } = await slowClientHoldingTheTurn();
    socket.destroy();
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json()).toMatchObject({ code: 503, message: expect.stringMatching(/at once/) });
    expect(refused.json().error_info).toMatch(/try again/);
  });

  it('ends a turn held by a slow body after CREATE_SETUP_HOLD_SEC', async () => {
    const { socket } = await slowClientHoldingTheTurn();
    try {
      const since = Date.now();
      await until(async () => {
        const res = await createVoice(t.app, token, sample, {}, { query: '?async=1' });
        return res.statusCode === 202;
      }, 5000);
      // The client keeps its connection, not the turn: about 1 s after it took it.
      expect(Date.now() - since).toBeLessThan(2000);
      expect(socket.destroyed).toBe(false);
    } finally {
      socket.destroy();
    }
  });
});
