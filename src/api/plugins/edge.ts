import underPressure from '@fastify/under-pressure';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../../config.js';
import { ERRORS } from '../../errors.js';
import { openAiError } from '../openai/errors.js';

/**
 * The HTTP edge: what the framework and Node answer on their own (a bad URL,
 * a parameter too long, a broken request line or headers, a request that
 * times out) answered inside the `{code, message, error_info}` envelope, and
 * load shedding (503 with Retry-After) while the server is too busy.
 */

/** Longest request target served; longer ones get 414 (Node's header limit answers 431 beyond 16 KiB). */
export const MAX_URL_LENGTH = 8192;

/** Routes that answer under pressure too: health says what it sees, metrics are how pressure is seen. */
export function exemptFromShedding(url: string): boolean {
  const p = url.split('?')[0];
  return p === '/api/health' || p === '/metrics';
}

/**
 * Fastify's `frameworkErrors` option: router-level errors, in the envelope
 * (in OpenAI's error shape under `/v1`).
 */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const status = tooLong ? 414 : error.code === 'FST_ERR_BAD_URL' ? 400 : (error.statusCode ?? 400);
  const message = tooLong ? 'URI too long' : status === 400 ? 'Malformed URL' : 'Bad request';
  const info = tooLong
    ? 'a path parameter is longer than any id'
    : 'the URL is not validly percent-encoded';
  if (request.url === '/v1' || request.url.startsWith('/v1/')) {
    const err = tooLong
      ? ERRORS.uriTooLong(message, { info })
      : ERRORS.badRequest(message, { info });
    const answer = openAiError(err, request.id);
    void reply.status(answer.status).type('application/json; charset=utf-8').send(answer.body);
    return;
  }
  void reply
    .status(status)
    .type('application/json; charset=utf-8')
    .send({ code: status, message, error_info: info });
}

/**
 * Fastify's `clientErrorHandler`: errors Node's HTTP parser raises before a
 * request exists (bad Content-Length, header overflow, a malformed request
 * line, a request timeout). The answer is written on the socket, then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let message = 'Malformed request';
  let info = 'the request could not be parsed';
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      status = 431;
      message = 'Request header fields too large';
      info = 'the request line and headers must fit in 16 KiB';
      break;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      status = 408;
      message = 'Request timeout';
      info = 'the request was not received in time';
      break;
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      info = 'the Content-Length header is invalid';
      break;
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE':
      info = 'the Transfer-Encoding or a chunk is invalid';
      break;
    case undefined:
    default:
      break;
  }
  if (socket.writable) {
    const body = JSON.stringify({ code: status, message, error_info: info });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * Hooks every request passes: a 414 for an overlong URL, and load shedding.
 * Shedding answers 503 with Retry-After while the event loop lags past
 * `config.shedEventLoopDelayMs` (measured by @fastify/under-pressure) or any
 * of `pressureChecks` says the server is too busy (e.g. a worker pool's queue
 * is full); /api/health and /metrics are never shed.
 */
export async function registerEdge(
  app: FastifyInstance,
  config: Config,
  pressureChecks: readonly (() => boolean)[],
): Promise<void> {
  const retryAfter = String(config.retryAfterSec);
  const shed = (reason: string) =>
    ERRORS.unavailable('Server busy', {
      info: `${reason}; retry in ${retryAfter} s`,
      headers: { 'retry-after': retryAfter },
    });

  app.addHook('onRequest', async (request) => {
    if (request.url.length > MAX_URL_LENGTH) {
      throw ERRORS.uriTooLong('URI too long', {
        info: `the URL is longer than ${MAX_URL_LENGTH} characters`,
      });
    }
    if (
      pressureChecks.length &&
      !exemptFromShedding(request.url) &&
      pressureChecks.some((busy) => busy())
    ) {
      throw shed('too much work is queued');
    }
  });

  if (config.shedEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: config.shedEventLoopDelayMs,
      retryAfter: config.retryAfterSec,
      pressureHandler: (request: FastifyRequest) =>
        exemptFromShedding(request.url)
          ? undefined
          : Promise.reject(shed('the server is overloaded')),
    });
  }
}
