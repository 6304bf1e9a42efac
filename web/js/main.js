// @ts-check
// Start-up: builds the session, API client and language, makes each view
// with what it needs, and routes between them (#create, #library, …).

import { Api } from './api.js';
import { $, $$ } from './dom.js';
import { I18n } from './i18n.js';
import { Session } from './session.js';
import { accountView } from './views/account.js';
import { authView } from './views/auth.js';
import { createView } from './views/create.js';
import { filesView } from './views/files.js';
import { libraryView } from './views/library.js';

/** @typedef {import('./context.js').ViewName} ViewName */

const VIEW_NAMES = /** @type {const} */ (['auth', 'create', 'library', 'files', 'account']);

/** @param {string} s @returns {s is ViewName} */
const isView = (s) => VIEW_NAMES.some((v) => v === s);

/**
 * The server's routes as its OpenAPI document lists them ("GET /api/file/{}/voices").
 * @returns {Promise<Set<string>>}
 */
async function loadRoutes() {
  try {
    const res = await fetch('/docs/json');
    if (!res.ok) return new Set();
    /** @type {{paths?: Record<string, Record<string, unknown>>}} */
    const doc = await res.json();
    const out = new Set();
    for (const [p, ops] of Object.entries(doc.paths ?? {})) {
      for (const m of Object.keys(ops))
        out.add(`${m.toUpperCase()} ${p.replace(/\{[^}]*\}/g, '{}')}`);
    }
    return out;
  } catch {
    return new Set();
  }
}

async function start() {
  const session = new Session(localStorage);
  const i18n = new I18n(localStorage, navigator.languages ?? [navigator.language]);
  const t = i18n.t;
  const routes = await loadRoutes();

  const bannerEl = $('#banner');
  /** @type {number | undefined} */
  let bannerTimer;
  /** @param {string} text @param {'ok' | 'warn' | 'info'} [kind] */
  const banner = (text, kind = 'info') => {
    bannerEl.textContent = text;
    bannerEl.className = `banner banner-${kind}`;
    bannerEl.hidden = !text;
    window.clearTimeout(bannerTimer);
    if (text) bannerTimer = window.setTimeout(() => (bannerEl.hidden = true), 8000);
  };

  const api = new Api(session, (reason) => {
    if (!session.get()) return;
    session.set(null);
    banner(reason === 'expired' ? t('msg.sessionEnded') : t('msg.loginAgain'), 'warn');
  });

  /** @type {ViewName} */
  let currentName = 'auth';

  /** @type {import('./context.js').Ctx} */
  const ctx = {
    api,
    session,
    i18n,
    t,
    banner,
    navigate: (name, params) => show(name, params),
    serverHas: (method, path) => routes.has(`${method} ${path.replace(/\{[^}]*\}/g, '{}')}`),
  };

  /** @type {Record<ViewName, import('./context.js').View>} */
  const views = {
    auth: authView(ctx),
    create: createView(ctx),
    library: libraryView(ctx),
    files: filesView(ctx),
    account: accountView(ctx),
  };

  /** @param {ViewName} wanted @param {Record<string, string>} [params] */
  function show(wanted, params) {
    const authed = Boolean(session.get());
    /** @type {ViewName} */
    const name = !authed ? 'auth' : wanted === 'auth' ? 'create' : wanted;
    if (currentName !== name) views[currentName].hide?.();
    currentName = name;
    for (const v of $$('.view')) v.hidden = v.dataset.name !== name;
    for (const b of $$('.nav-link')) {
      if (b.dataset.view === name) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
    $('#nav').hidden = !authed;
    $('#user-box').hidden = !authed;
    $('#user-name').textContent = authed
      ? t('nav.signedInAs', { name: session.get()?.username ?? '' })
      : '';
    if (authed && window.location.hash !== `#${name}`)
      window.history.replaceState(null, '', `#${name}`);
    views[name].show(params);
  }

  session.onChange((s) => {
    if (s) return;
    for (const v of Object.values(views)) v.reset();
    show('auth');
  });

  for (const b of $$('.nav-link')) {
    b.addEventListener('click', () => {
      const name = b.dataset.view ?? '';
      if (isView(name)) show(name);
    });
  }
  window.addEventListener('hashchange', () => {
    const name = window.location.hash.slice(1);
    if (isView(name) && name !== currentName) show(name);
  });

  $('#logout').addEventListener('click', () => {
    const done = () => {
      session.set(null);
      banner(t('msg.loggedOut'), 'ok');
    };
    if (ctx.serverHas('POST', '/api/auth/logout')) {
      void api
        .json('/api/auth/logout', { method: 'POST' })
        .catch(() => undefined)
        .finally(done);
    } else done();
  });

  const langSelect = /** @type {HTMLSelectElement} */ ($('#lang'));
  langSelect.value = i18n.lang;
  langSelect.addEventListener('change', () => {
    i18n.set(langSelect.value === 'zh' ? 'zh' : 'en');
  });
  i18n.onChange(() => {
    i18n.apply(document);
    document.title = t('page.title');
    langSelect.value = i18n.lang;
    for (const v of Object.values(views)) v.relabel?.();
    show(currentName);
  });
  i18n.apply(document);
  document.title = t('page.title');

  const hash = window.location.hash.slice(1);
  const wanted = isView(hash) ? hash : 'create';
  if (session.get()) {
    try {
      /** @type {{user: {user_id: string, username: string}}} */
      const r = await api.json('/api/auth/me');
      session.update({ username: r.user.username, user_id: r.user.user_id });
    } catch (err) {
      if (session.get()) banner(err instanceof Error ? err.message : String(err), 'warn');
    }
  }
  show(wanted);
  document.body.dataset.ready = 'true';
}

void start();
