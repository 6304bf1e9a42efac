/**
 * How an enrollment call reaches DashScope: one JSON POST, answered with its
 * status, `Retry-After` and body text. The default is undici's `request()` on
 * a keep-alive agent owned by the client; `fetch` (any fetch-shaped function)
 * stays as the test double's way in.
 *
 * Why not the global fetch: a creation's calls are mostly status polls, and
 * with many creations in flight fetch's per-call work (WHATWG streams,
 * headers objects, body mixins) made up most of the event loop's time; undici's
 * request() does the same call for a small fraction of it.
 */
import { Agent, request } from 'undici';

export interface TransportAnswer {
  status: number;
  retryAfter: string | null;
  text: string;
}

export interface TransportRequest {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** One POST; rejects on network failure or abort (the caller maps both). */
export interface HttpTransport {
  post(url: string, req: TransportRequest): Promise<TransportAnswer>;
  close(): Promise<void>;
}

/**
 * An enrollment answer is a small JSON document (a `list_voice` page is a
 * few kB); a body past this is no answer of DashScope's and is not read on.
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export class AnswerTooLargeError extends Error {
  readonly code = 'ANSWER_TOO_LARGE';
  constructor() {
    super(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
  }
}

/** undici's request() on its own keep-alive agent (closed by close()). */
export function undiciTransport(): HttpTransport {
  // Time limits are the caller's (one AbortSignal per call, create_voice's
  // longer than the others): undici's own header/body timeouts are off. The
  // sockets are not capped here: each job has at most one call in flight, so
  // JOB_CONCURRENCY bounds them (a cap would queue polls behind slow creates).
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  let closing: Promise<void> | undefined;
  return {
    async post(url, req) {
      const res = await request(url, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        dispatcher: agent,
      });
      const retryAfter = res.headers['retry-after'];
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          res.body.destroy();
          throw new AnswerTooLargeError();
        }
        chunks.push(chunk);
      }
      return {
        status: res.statusCode,
        retryAfter: (Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) ?? null,
        text: Buffer.concat(chunks).toString('utf8'),
      };
    },
    // Idempotent: a provider may be closed twice (undici refuses a second close).
    close: () => (closing ??= agent.close()),
  };
}

/** A fetch-shaped function as a transport (test doubles, custom fetches). */
export function fetchTransport(fetchImpl: typeof fetch): HttpTransport {
  return {
    async post(url, req) {
      const res = await fetchImpl(url, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: req.signal,
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        text: await res.text(),
      };
    },
    close: async () => {},
  };
}
