import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Admission, useAdmission } from '../../../src/api/plugins/admission.js';
import { AppError } from '../../../src/errors.js';

const settings = { concurrent: 2, maxWaiting: 2, holdMs: 60_000, retryAfterSec: 5 };
const tick = () => new Promise((r) => setImmediate(r));

describe('Admission', () => {
  it('lets a few in at once and the rest in arrival order as turns end', async () => {
    const a = new Admission(settings);
    const order: string[] = [];
    const first = await a.enter();
    const second = await a.enter();
    const third = a.enter().then((leave) => (order.push('third'), leave));
    const fourth = a.enter().then((leave) => (order.push('fourth'), leave));
    await tick();
    expect(order).toEqual([]);
    expect(a.inSetUp).toBe(2);
    expect(a.queued).toBe(2);
    first();
    await tick();
    expect(order).toEqual(['third']);
    second();
    await tick();
    expect(order).toEqual(['third', 'fourth']);
    (await third)();
    (await fourth)();
    expect(a.inSetUp).toBe(0);
  });

  it('ends a turn once, however often it is ended', async () => {
    const a = new Admission({ ...settings, concurrent: 1 });
    const leave = await a.enter();
    leave();
    leave();
    const again = await a.enter();
    expect(a.inSetUp).toBe(1);
    const waiting = a.enter();
    await tick();
    expect(a.queued).toBe(1);
    again();
    (await waiting)();
    expect(a.inSetUp).toBe(0);
  });

  it('answers 503 with Retry-After when the line is full', async () => {
    const a = new Admission({ ...settings, concurrent: 1, maxWaiting: 1 });
    await a.enter();
    void a.enter();
    const err = await a.enter().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 503, headers: { 'retry-after': '5' } });
  });

  it('drops a waiter whose request went away, without giving it a turn', async () => {
    const a = new Admission({ ...settings, concurrent: 1 });
    const leave = await a.enter();
    const gone = new AbortController();
    const waiting = a.enter(gone.signal);
    await tick();
    gone.abort(new Error('client gone'));
    await expect(waiting).rejects.toThrow('client gone');
    expect(a.queued).toBe(0);
    leave();
    expect(a.inSetUp).toBe(0);
  });

  it('ends a turn held past its limit by itself', async () => {
    const a = new Admission({ ...settings, concurrent: 1, holdMs: 20 });
    await a.enter();
    const start = Date.now();
    (await a.enter())();
    expect(Date.now() - start).toBeGreaterThanOrEqual(15);
    expect(a.inSetUp).toBe(0);
  });
});

describe('useAdmission (turns on a route)', () => {
  let app: FastifyInstance;
  let base: string;
  let port: number;
  let hold: { promise: Promise<void>; open: () => void };
  let leaveEarly = false;

  const deferred = () => {
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    return { promise, open };
  };

  beforeAll(async () => {
    app = Fastify();
    app.setErrorHandler((err: AppError, _req, reply) =>
      reply.status(err.status ?? 500).send({ message: err.message }),
    );
    await app.register(async (scope) => {
      useAdmission(scope, new Admission({ ...settings, concurrent: 1, maxWaiting: 0 }));
      scope.post('/work', { config: { admission: true } }, async (request) => {
        if (leaveEarly) request.leaveAdmission();
        await hold.promise;
        return { ok: true };
      });
      scope.post('/free', async () => ({ ok: true }));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => app.close());
  beforeEach(() => {
    hold = deferred();
    leaveEarly = false;
  });

  const post = (path: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });

  it('holds the turn through the handler: the next request is refused while the line is full', async () => {
    const first = post('/work');
    await until(async () => (await post('/work')).status === 503);
    // Routes without turns are not affected.
    expect((await post('/free')).status).toBe(200);
    hold.open();
    expect((await first).status).toBe(200);
    hold = deferred();
    hold.open();
    expect((await post('/work')).status).toBe(200);
  });

  it('frees the turn when the handler leaves it, while the request goes on', async () => {
    leaveEarly = true;
    const first = post('/work');
    await new Promise((r) => setTimeout(r, 50));
    const second = post('/work');
    hold.open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  });

  it('gives no turn to a client still sending its body, and one once the body is in', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.write(
      'POST /work HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a"',
    );
    try {
      await new Promise((r) => setTimeout(r, 100));
      // The slow client holds nothing: this one takes the only turn and finishes.
      hold.open();
      expect((await post('/work')).status).toBe(200);
      // Its body complete, the slow client takes a turn and is answered.
      socket.write(':1}');
      await until(() => answer.startsWith('HTTP/1.1 200'));
    } finally {
      socket.destroy();
    }
  });
});

async function until(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
