import { afterEach, describe, expect, it } from 'vitest';
import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';

const METRICS_TOKEN = 'metrics-token-0123456789';

describe('load shedding', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers 503 with Retry-After while a pressure check says busy; health and metrics stay served', async () => {
    t = await makeApp('sqlite', { RETRY_AFTER_SEC: '3', METRICS_TOKEN });
    const user = await registerUser(t.app, 'shed');
    let busy = false;
    t.app.services.pressureChecks.push(() => busy);
    const mine = () =>
      t!.app.inject({ method: 'GET', url: '/api/voice/my_voices', headers: bearer(user.access) });

    expect((await mine()).statusCode).toBe(200);
    busy = true;
    const shed = await mine();
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('3');
    expect(shed.json()).toMatchObject({
      code: 503,
      message: 'Server busy',
      error_info: expect.stringMatching(/too much work is queued/),
    });
    expect((await t.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
    const metrics = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(metrics.statusCode).toBe(200);
    busy = false;
    expect((await mine()).statusCode).toBe(200);
  });

  it('answers 503 inside the envelope while the event loop lags past the threshold', async () => {
    t = await makeApp('sqlite', { SHED_EVENT_LOOP_DELAY_MS: '1', RETRY_AFTER_SEC: '2' });
    const user = await registerUser(t.app, 'lag');
    let shed;
    for (let i = 0; i < 60 && !shed; i++) {
      const until = Date.now() + 120;
      while (Date.now() < until) {
        // Block the event loop, as CPU work on it would.
      }
      await new Promise((r) => setTimeout(r, 30));
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/voice/my_voices',
        headers: bearer(user.access),
      });
      if (res.statusCode === 503) shed = res;
      else expect(res.statusCode).toBe(200);
    }
    if (!shed) throw new Error('no request was shed');
    expect(shed.headers['retry-after']).toBe('2');
    expect(shed.json()).toMatchObject({
      code: 503,
      message: 'Server busy',
      error_info: expect.stringMatching(/overloaded/),
    });
    // Health is never shed: it answers what it sees.
    expect((await t.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
  }, 30_000);
});
