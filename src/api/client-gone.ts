import type { FastifyReply } from 'fastify';

/**
 * A signal that aborts when the client goes away before its response has
 * been sent in full (the connection closed while the work was still running),
 * so long work such as a synthesis stops and frees what it holds at once.
 */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  // Gone already (during the hooks before the handler): the event has passed.
  if (res.closed && !res.writableFinished) {
    controller.abort(new Error('the client went away'));
    return controller.signal;
  }
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client went away'));
  });
  return controller.signal;
}
