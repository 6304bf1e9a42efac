// @ts-check
// The signed-in session (tokens and who), kept in localStorage so a reload
// stays signed in. One instance, made by main.js and handed to whoever needs it.

const STORE_KEY = 'timbre.session';

/** @typedef {import('./types').StoredSession} StoredSession */

export class Session {
  /** @param {Storage} storage */
  constructor(storage) {
    /** @private */
    this.storage = storage;
    /** @private @type {StoredSession | null} */
    this.current = this.load();
    /** @private @type {Set<(s: StoredSession | null) => void>} */
    this.listeners = new Set();
  }

  /** @private @returns {StoredSession | null} */
  load() {
    try {
      const raw = JSON.parse(this.storage.getItem(STORE_KEY) || 'null');
      return raw && typeof raw.access_token === 'string' ? raw : null;
    } catch {
      return null;
    }
  }

  /** @returns {StoredSession | null} */
  get() {
    return this.current;
  }

  /** @param {StoredSession | null} s */
  set(s) {
    this.current = s;
    if (s) this.storage.setItem(STORE_KEY, JSON.stringify(s));
    else this.storage.removeItem(STORE_KEY);
    for (const fn of this.listeners) fn(s);
  }

  /** @param {Partial<StoredSession>} patch */
  update(patch) {
    if (this.current) this.set({ ...this.current, ...patch });
  }

  /** @param {(s: StoredSession | null) => void} fn */
  onChange(fn) {
    this.listeners.add(fn);
  }
}
