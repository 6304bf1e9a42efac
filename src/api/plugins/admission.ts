import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { ERRORS } from '../../errors.js';

/** How many at once, how many may wait, for how long a turn is held (see Config). */
export type AdmissionSettings = Config['createSetup'];

/**
 * Turns at the set-up of a burst-prone route (voice creation). A hundred
 * creations arriving together would otherwise be authenticated, parsed,
 * checked and written all at once, and every other request (a health check,
 * a listing) would wait behind that whole stretch of the event loop; with
 * turns, at most `concurrent` are in set-up while the others wait in arrival
 * order doing nothing, so another request waits behind a few set-ups at most.
 * A turn ends when the request hands its work off (the voice is queued: a
 * request that then waits for the job does not hold it), answers, is
 * aborted, or after `holdMs` (a long set-up: the first assessment of a
 * sample). The total work is the same; what changes is who waits.
 */
export class Admission {
  private active = 0;
  private readonly waiting = new Set<{ admit: () => void }>();

  constructor(private readonly s: AdmissionSettings) {}

  get inSetUp(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.size;
  }

  /**
   * Waits for a turn; resolves with the function that ends it (idempotent).
   * Rejects with a 503 when too many wait, or with `signal`'s reason when the
   * request goes away while waiting.
   */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (this.active < this.s.concurrent) {
      this.active++;
    } else {
      if (this.waiting.size >= this.s.maxWaiting) {
        throw ERRORS.unavailable('Too many voice creations are arriving at once', {
          info: 'try again in a few seconds',
          headers: { 'retry-after': String(this.s.retryAfterSec) },
        });
      }
      // Admitted by a leaving request, which hands its turn over (`active` stays).
      await new Promise<void>((resolve, reject) => {
        const entry = { admit: resolve };
        this.waiting.add(entry);
        signal?.addEventListener(
          'abort',
          () => {
            if (this.waiting.delete(entry)) reject(signal.reason as Error);
          },
          { once: true },
        );
      });
    }
    let done = false;
    const leave = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const first = this.waiting.values().next().value;
      if (first) {
        this.waiting.delete(first);
        first.admit();
      } else {
        this.active--;
      }
    };
    const timer = setTimeout(leave, this.s.holdMs);
    timer.unref();
    return leave;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's set-up takes turns (see Admission). */
    admission?: boolean;
  }
  interface FastifyRequest {
    /** Ends this request's turn (a no-op for routes without turns). */
    leaveAdmission: () => void;
  }
}

const noop = () => undefined;

/**
 * Whether a request's body is all here: none announced, or as many bytes
 * buffered as `Content-Length` says (a small JSON body usually arrives with
 * its headers).
 */
function bodyArrived(request: FastifyRequest): boolean {
  const raw = request.raw;
  if (raw.complete) return true;
  const length = request.headers['content-length'];
  if (length === undefined) return request.headers['transfer-encoding'] === undefined;
  return raw.readableLength >= Number(length);
}

/**
 * Hooks for the routes of `app` whose config says `admission: true`. Call it
 * before any other onRequest hook of the scope (authentication included), so
 * a waiting request has cost nothing yet. A request whose body is still on
 * its way takes its turn only once the body is in (at `preValidation`): a
 * client sending slowly holds no turn, and cannot stall the others.
 */
export function useAdmission(app: FastifyInstance, admission: Admission): void {
  if (!app.hasRequestDecorator('leaveAdmission')) app.decorateRequest('leaveAdmission', noop);
  const aborts = new WeakMap<FastifyRequest, AbortController>();
  const take = async (request: FastifyRequest) => {
    const gone = new AbortController();
    aborts.set(request, gone);
    request.leaveAdmission = await admission.enter(gone.signal);
  };
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.admission && bodyArrived(request)) await take(request);
  });
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config.admission && !aborts.has(request)) await take(request);
  });
  app.addHook('onResponse', async (request) => request.leaveAdmission());
  app.addHook('onRequestAbort', async (request) => {
    aborts.get(request)?.abort(ERRORS.badRequest('The request was aborted'));
    request.leaveAdmission();
  });
}
