/**
 * A tiny in-memory stand-in for DashScope's enrollment endpoint, shaped as a
 * `fetch`, with scripted misbehaviour for the next create calls.
 */

export interface FakeVoice {
  voice_id: string;
  target_model: string;
  resource_link: string;
  status: 'DEPLOYING' | 'OK' | 'UNDEPLOYED';
  gmt_create: string;
}

/**
 * What the next create does:
 * - `ok`: creates and answers 200
 * - `create-then-hang`: creates, then never answers (until the request is aborted)
 * - `create-then-500`: creates, then answers 500 InternalError
 * - `create-later-then-hang`: answers nothing; the voice appears `delayMs` later
 * - `hang`: never answers, creates nothing
 * - `500`: 500 InternalError, creates nothing
 * - `429`: 429 Throttling (with `retryAfter` seconds if given), creates nothing
 * - `network`: rejects like a refused connection
 */
export type CreateBehaviour =
  | 'ok'
  | 'create-then-hang'
  | 'create-then-500'
  | 'create-later-then-hang'
  | 'hang'
  | '500'
  | '429'
  | 'network';

interface Body {
  model?: string;
  input?: Record<string, unknown>;
}

export class FakeEnrollment {
  readonly voices: FakeVoice[] = [];
  readonly calls: string[] = [];
  readonly createScript: CreateBehaviour[] = [];
  /** Behaviour for every non-create action, in order; default ok. */
  readonly otherScript: ('ok' | '500' | '429' | 'html')[] = [];
  retryAfter: number | undefined;
  /** Runs as each create arrives, before its scripted behaviour. */
  beforeCreate: ((attempt: number) => void) | undefined;
  delayMs = 30;
  /** Omit resource_link from query_voice (some real deployments might). */
  hideResourceLink = false;
  private seq = 0;
  private clock = Date.parse('2026-01-01T00:00:00Z');

  constructor(readonly key = 'sk-test-key-123456') {}

  add(prefix: string, url: string, model = 'cosyvoice-v2'): FakeVoice {
    this.seq++;
    this.clock += 1000;
    const voice: FakeVoice = {
      voice_id: `${model}-${prefix}-${this.seq.toString(16).padStart(32, '0')}`,
      target_model: model,
      resource_link: url,
      status: 'DEPLOYING',
      gmt_create: new Date(this.clock).toISOString().replace('T', ' ').slice(0, 19),
    };
    this.voices.push(voice);
    return voice;
  }

  count(action: string): number {
    return this.calls.filter((c) => c === action).length;
  }

  readonly fetch: typeof fetch = async (_url, init) => {
    const signal = init?.signal ?? undefined;
    const body = JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as Body;
    const input = body.input ?? {};
    const action = String(input.action);
    this.calls.push(action);
    const auth = new Headers(init?.headers).get('authorization');
    if (auth !== `Bearer ${this.key}`) {
      return json(401, { code: 'InvalidApiKey', message: 'Invalid API-key provided.' });
    }
    if (action === 'create_voice') {
      this.beforeCreate?.(this.count('create_voice'));
      const behaviour = this.createScript.shift() ?? 'ok';
      const prefix = String(input.prefix);
      const url = String(input.url);
      const model = String(input.target_model);
      switch (behaviour) {
        case 'ok':
          return json(200, {
            output: { voice_id: this.add(prefix, url, model).voice_id },
            usage: { count: 1 },
          });
        case 'create-then-hang':
          this.add(prefix, url, model);
          return hang(signal);
        case 'create-then-500':
          this.add(prefix, url, model);
          return json(500, { code: 'InternalError', message: 'audio preprocess server error' });
        case 'create-later-then-hang':
          setTimeout(() => this.add(prefix, url, model), this.delayMs);
          return hang(signal);
        case 'hang':
          return hang(signal);
        case '500':
          return json(500, { code: 'InternalError', message: 'audio preprocess server error' });
        case '429':
          return json(
            429,
            { code: 'Throttling', message: 'Requests throttling triggered.' },
            this.retryAfter,
          );
        case 'network':
          throw new TypeError('fetch failed', {
            cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
          });
      }
    }
    const other = this.otherScript.shift() ?? 'ok';
    if (other === '500') return json(500, { code: 'InternalError', message: 'oops' });
    if (other === '429')
      return json(429, { code: 'Throttling', message: 'slow down' }, this.retryAfter);
    if (other === 'html') return new Response('<html>bad gateway</html>', { status: 502 });
    const voiceId = String(input.voice_id);
    const voice = this.voices.find((v) => v.voice_id === voiceId);
    switch (action) {
      case 'list_voice': {
        const prefix = typeof input.prefix === 'string' ? input.prefix : undefined;
        const index = Number(input.page_index ?? 0);
        const size = Number(input.page_size ?? 10);
        const list = this.voices
          .filter((v) => prefix === undefined || v.voice_id.includes(`-${prefix}-`))
          .slice(index * size, index * size + size)
          .map(({ voice_id, gmt_create, status }) => ({
            voice_id,
            gmt_create,
            gmt_modified: gmt_create,
            status,
          }));
        return json(200, { output: { voice_list: list }, usage: { count: 1 } });
      }
      case 'query_voice':
        if (voice === undefined) return notExist();
        return json(200, {
          output: {
            gmt_create: voice.gmt_create,
            gmt_modified: voice.gmt_create,
            ...(!this.hideResourceLink && { resource_link: voice.resource_link }),
            target_model: voice.target_model,
            status: voice.status,
          },
        });
      case 'delete_voice':
        if (voice === undefined) return notExist();
        this.voices.splice(this.voices.indexOf(voice), 1);
        return json(200, { output: {}, usage: { count: 1 } });
      case 'update_voice':
        if (voice === undefined) return notExist();
        voice.resource_link = String(input.url);
        return json(200, { output: {}, usage: { count: 1 } });
      default:
        return json(400, { code: 'InvalidParameter', message: 'unknown action' });
    }
  };
}

let requestSeq = 0;
function json(status: number, body: object, retryAfter?: number): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return new Response(JSON.stringify({ request_id: `req-${++requestSeq}`, ...body }), {
    status,
    headers,
  });
}

function notExist(): Response {
  return json(400, {
    code: 'BadRequest.ResourceNotExist',
    message: 'The Required resource not exist.',
  });
}

function hang(signal: AbortSignal | undefined): Promise<Response> {
  return new Promise((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
