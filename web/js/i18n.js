// @ts-check
// Languages: one catalogue per language (web/i18n/*.js), chosen from the
// browser's languages, switchable, remembered in localStorage.

import en from '../i18n/en.js';
import zh from '../i18n/zh.js';

/** @typedef {import('../i18n/en.js').Key} Key */
/** @typedef {'en' | 'zh'} Lang */

const STORE_KEY = 'timbre.lang';
/** @type {Record<Lang, Record<Key, string>>} */
const CATALOGUES = { en, zh };
/** @type {Record<Lang, string>} the value of <html lang> and Intl's locale */
const LOCALE = { en: 'en', zh: 'zh-CN' };

/**
 * The first of the browser's languages we have a catalogue for, English otherwise.
 * @param {readonly string[]} languages
 * @returns {Lang}
 */
export function pickLanguage(languages) {
  for (const l of languages) {
    const base = l.toLowerCase().split('-')[0];
    if (base === 'zh') return 'zh';
    if (base === 'en') return 'en';
  }
  return 'en';
}

export class I18n {
  /**
   * @param {Storage} storage
   * @param {readonly string[]} browserLanguages
   */
  constructor(storage, browserLanguages) {
    /** @private */
    this.storage = storage;
    const saved = storage.getItem(STORE_KEY);
    /** @type {Lang} */
    this.lang = saved === 'en' || saved === 'zh' ? saved : pickLanguage(browserLanguages);
    /** @private @type {Set<() => void>} */
    this.listeners = new Set();
    /** Bound, so views can pass `t` around. @type {import('./dom.js').Translate} */
    this.t = (key, vars) => {
      const text = CATALOGUES[this.lang][key] ?? en[key] ?? key;
      if (!vars) return text;
      return text.replace(/\{(\w+)\}/g, (m, name) =>
        name in vars ? String(vars[/** @type {string} */ (name)]) : m,
      );
    };
  }

  /** The locale for dates and numbers. */
  get locale() {
    return LOCALE[this.lang];
  }

  /** @param {Lang} lang */
  set(lang) {
    if (lang === this.lang) return;
    this.lang = lang;
    this.storage.setItem(STORE_KEY, lang);
    for (const fn of this.listeners) fn();
  }

  /** @param {() => void} fn */
  onChange(fn) {
    this.listeners.add(fn);
  }

  /**
   * Fills every `data-i18n` element's text and every `data-i18n-<attr>`
   * attribute (placeholder, aria-label, title) under `root` from the catalogue.
   * @param {ParentNode & Node} root
   */
  apply(root) {
    if (root === document) document.documentElement.lang = this.locale;
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll('*'))) {
      for (const name of el.getAttributeNames()) {
        if (!name.startsWith('data-i18n')) continue;
        const key = /** @type {Key} */ (el.getAttribute(name));
        if (name === 'data-i18n') el.textContent = this.t(key);
        else el.setAttribute(name.slice('data-i18n-'.length), this.t(key));
      }
    }
  }
}
