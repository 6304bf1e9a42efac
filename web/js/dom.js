// @ts-check
// DOM helpers: element creation (text is never parsed as HTML), queries,
// messages next to the button that made a call, and blob playback/saving.

import { ApiError } from './api.js';

/**
 * @typedef {string | number | boolean | null | undefined | EventListener | Record<string, string>} AttrValue
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * Creates an element: h('div', {class: 'x', onclick: fn}, 'text', child…).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = String(v);
    else if (k === 'dataset' && typeof v === 'object') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) /** @type {HTMLInputElement} */ (el).value = String(v);
    else if (k === 'checked' || k === 'selected' || k === 'hidden' || k === 'disabled') {
      /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (el))[k] = Boolean(v);
    } else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return el;
}

/**
 * The first element matching `sel`, or an error naming what is missing.
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
export function $(sel, root = document) {
  const el = root.querySelector(sel);
  if (!(el instanceof HTMLElement)) throw new Error(`missing element ${sel}`);
  return el;
}

/**
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {HTMLElement[]}
 */
export function $$(sel, root = document) {
  return Array.from(root.querySelectorAll(sel)).filter((e) => e instanceof HTMLElement);
}

/**
 * The nodes of a list, without the absent ones.
 * @param {(Node | string | null | undefined | false)[]} list
 * @returns {(Node | string)[]}
 */
export function present(list) {
  return list.filter((x) => x !== null && x !== undefined && x !== false);
}

/**
 * A form control by name.
 * @template {Element} [E=HTMLInputElement]
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {E}
 */
export function field(form, name) {
  const el = form.elements.namedItem(name);
  if (!el) throw new Error(`missing field ${name}`);
  return /** @type {E} */ (/** @type {unknown} */ (el));
}

/** @typedef {(key: import('../i18n/en.js').Key, vars?: Record<string, string | number>) => string} Translate */

/**
 * Shows an error (envelope message + error_info) or a success note in a `.msg` element.
 * @param {HTMLElement | null} el
 * @param {unknown} what
 * @param {Translate} t
 * @param {'ok' | 'info'} [kind]
 */
export function showMsg(el, what, t, kind = 'ok') {
  if (!el) return;
  el.replaceChildren();
  el.className = 'msg';
  el.removeAttribute('role');
  if (!what) return;
  if (what instanceof Error) {
    el.classList.add('msg-error');
    el.setAttribute('role', 'alert');
    if (what instanceof ApiError) {
      const status = what.status ? ` (${what.status})` : '';
      el.append(h('strong', {}, (what.key ? t(what.key) : what.message) + status));
      if (what.info) el.append(h('div', { class: 'msg-info' }, what.info));
      if (what.results) {
        el.append(
          h(
            'ul',
            {},
            what.results.map((r) =>
              h(
                'li',
                {},
                `#${r.index + 1}: ${r.message}${r.error_info ? ' — ' + r.error_info : ''}`,
              ),
            ),
          ),
        );
      }
      if (what.requestId) {
        el.append(h('div', { class: 'msg-ref' }, t('msg.requestId', { id: what.requestId })));
      }
    } else {
      el.append(h('strong', {}, what.message));
    }
    return;
  }
  el.classList.add(kind === 'info' ? 'msg-info-box' : 'msg-ok');
  el.setAttribute('role', 'status');
  el.append(String(what));
}

/**
 * Disables a button while `fn` runs and shows its errors in `msgEl`.
 * @template T
 * @param {HTMLElement | null} button
 * @param {HTMLElement | null} msgEl
 * @param {Translate} t
 * @param {() => Promise<T>} fn
 * @returns {Promise<T | undefined>}
 */
export async function busy(button, msgEl, t, fn) {
  if (button instanceof HTMLButtonElement) button.disabled = true;
  button?.setAttribute('aria-busy', 'true');
  showMsg(msgEl, null, t);
  try {
    return await fn();
  } catch (err) {
    showMsg(msgEl, err instanceof Error ? err : new Error(String(err)), t);
    if (!(err instanceof ApiError)) console.error(err);
    return undefined;
  } finally {
    if (button instanceof HTMLButtonElement) button.disabled = false;
    button?.removeAttribute('aria-busy');
  }
}

/** Object URLs in use per <audio>, released when the element plays something else. */
const urls = new WeakMap();

/**
 * Plays a blob in the given <audio>, releasing the previous object URL of that element.
 * @param {HTMLAudioElement} audio
 * @param {Blob} blob
 */
export function playBlob(audio, blob) {
  const old = urls.get(audio);
  if (old) URL.revokeObjectURL(old);
  const url = URL.createObjectURL(blob);
  urls.set(audio, url);
  audio.src = url;
  audio.hidden = false;
  // Autoplay may be refused; the controls are there either way.
  audio.play().catch(() => undefined);
}

/**
 * Saves a blob under `name` through a temporary link.
 * @param {Blob} blob
 * @param {string} name
 */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 30000);
}

/**
 * 'email', 'phone' or null for what a person typed as an identifier.
 * @param {string} value
 * @returns {'email' | 'phone' | null}
 */
export function identifierType(value) {
  const v = value.trim();
  if (/^1[3-9]\d{9}$/.test(v)) return 'phone';
  if (v.includes('@')) return 'email';
  return null;
}

/** @param {number} n */
export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * @param {string} iso
 * @param {string} lang
 */
export function fmtDate(iso, lang) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' });
}

/** @param {number} hz */
export function fmtRate(hz) {
  return hz >= 1000 ? `${(hz / 1000).toFixed(hz % 1000 ? 1 : 0)} kHz` : `${hz} Hz`;
}

/**
 * One <dt>/<dd> pair of a facts list, wrapped so it can be a grid cell.
 * @param {[string, string]} pair
 */
export function fact([k, v]) {
  return h('div', {}, h('dt', {}, k), h('dd', {}, v));
}

/** @param {string} text @param {string} cls */
export function badge(text, cls) {
  return h('span', { class: `badge ${cls}` }, text);
}

let idCounter = 0;
/** A document-unique id for aria references. @param {string} prefix */
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
