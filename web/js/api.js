// @ts-check
// The JSON API client: Bearer access token, one transparent refresh when the
// server says the token expired, errors as ApiError with the envelope's reason.

/** @typedef {import('./session.js').Session} Session */
/** @typedef {import('./types').BatchResult} BatchResult */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Record<string, unknown> | null} body
   * @param {import('../i18n/en.js').Key} [key] a catalogue key for errors the page makes itself
   */
  constructor(status, body, key) {
    const b = body ?? {};
    const text = typeof b.message === 'string' ? b.message : typeof b.msg === 'string' ? b.msg : '';
    super(text || `HTTP ${status}`);
    this.status = status;
    this.body = b;
    this.key = key;
    /** @type {string | undefined} */
    this.info = typeof b.error_info === 'string' ? b.error_info : undefined;
    /** @type {string | undefined} */
    this.requestId = typeof b.request_id === 'string' ? b.request_id : undefined;
    /** @type {BatchResult[] | undefined} */
    this.results = Array.isArray(b.results) ? /** @type {BatchResult[]} */ (b.results) : undefined;
  }
}

/**
 * An error the page raises itself (no request made), in the reader's language.
 * @param {import('../i18n/en.js').Key} key
 */
export function localError(key) {
  return new ApiError(0, null, key);
}

/** @param {Response} res @returns {Promise<Record<string, unknown> | null>} */
async function readBody(res) {
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      return /** @type {Record<string, unknown>} */ (await res.json());
    } catch {
      return null;
    }
  }
  const text = await res.text().catch(() => '');
  return { message: text.slice(0, 300) || res.statusText || `HTTP ${res.status}` };
}

/**
 * @typedef {object} CallOptions
 * @property {string} [method]
 * @property {unknown} [json] sent as a JSON body
 * @property {FormData} [form] sent as multipart
 * @property {boolean} [auth] send the Bearer token (default true)
 */

export class Api {
  /**
   * @param {Session} session
   * @param {(reason: 'expired' | 'unauthorised') => void} onSignedOut called when the session cannot go on
   */
  constructor(session, onSignedOut) {
    /** @private */
    this.session = session;
    /** @private */
    this.onSignedOut = onSignedOut;
    /** @private @type {Promise<void> | null} */
    this.refreshing = null;
  }

  /**
   * Trades the refresh token for a new pair; one refresh at a time.
   * @returns {Promise<void>}
   */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        const s = this.session.get();
        if (!s?.refresh_token) throw new ApiError(401, null, 'msg.loginAgain');
        const res = await fetch('/api/auth/refresh', {
          method: 'POST',
          headers: { Authorization: `Bearer ${s.refresh_token}` },
        });
        const body = await readBody(res);
        if (!res.ok || !body) throw new ApiError(res.status, body);
        this.session.update({
          access_token: String(body.access_token),
          refresh_token: String(body.refresh_token),
        });
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /**
   * @private
   * @param {string} path
   * @param {CallOptions} opts
   * @param {boolean} retry
   * @returns {Promise<Response>}
   */
  async send(path, opts, retry) {
    const { method = 'GET', json, form, auth = true } = opts;
    /** @type {Record<string, string>} */
    const headers = {};
    const s = this.session.get();
    if (auth && s?.access_token) headers.Authorization = `Bearer ${s.access_token}`;
    /** @type {BodyInit | undefined} */
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form) {
      body = form;
    }
    /** @type {Response} */
    let res;
    try {
      res = await fetch(path, { method, headers, body });
    } catch {
      throw new ApiError(0, null, 'msg.offline');
    }
    if (res.status === 401 && auth && s) {
      const errBody = await readBody(res);
      const why = String(errBody?.msg ?? errBody?.message ?? '');
      if (retry && /expired/i.test(why) && s.refresh_token) {
        try {
          await this.refresh();
        } catch {
          this.onSignedOut('expired');
          throw new ApiError(401, errBody);
        }
        return this.send(path, opts, false);
      }
      this.onSignedOut('unauthorised');
      throw new ApiError(401, errBody);
    }
    if (!res.ok) throw new ApiError(res.status, await readBody(res));
    return res;
  }

  /**
   * Calls the API and returns the JSON body.
   * @template [T=Record<string, unknown>]
   * @param {string} path
   * @param {CallOptions} [opts]
   * @returns {Promise<T>}
   */
  async json(path, opts = {}) {
    const res = await this.send(path, opts, true);
    return /** @type {T} */ (await readBody(res));
  }

  /**
   * Calls the API and returns the body as a Blob (audio, downloads).
   * @param {string} path
   * @param {CallOptions} [opts]
   * @returns {Promise<Blob>}
   */
  async blob(path, opts = {}) {
    const res = await this.send(path, opts, true);
    return res.blob();
  }
}
