// @ts-check
// Account: sessions (this device and others), API keys for apps, password.
// These routes come with the accounts work; where the server does not list
// them in its OpenAPI document the page says so instead of failing.

import { $, busy, field, fmtDate, h, showMsg } from '../dom.js';

/** @typedef {import('../types').SessionItem} SessionItem */
/** @typedef {import('../types').ApiKeyItem} ApiKeyItem */

/**
 * @param {import('../context.js').Ctx} ctx
 * @returns {import('../context.js').View}
 */
export function accountView(ctx) {
  const { api, t, i18n } = ctx;
  const sessionList = $('#session-list');
  const sessionsMsg = $('#sessions-msg');
  const keyForm = /** @type {HTMLFormElement} */ ($('#key-form'));
  const keyList = $('#key-list');
  const keysMsg = $('#keys-msg');
  const newKey = $('#new-key');
  const newKeyValue = /** @type {HTMLInputElement} */ ($('#new-key-value'));
  const pwForm = /** @type {HTMLFormElement} */ ($('#password-form'));
  const logoutAll = /** @type {HTMLButtonElement} */ ($('#logout-all'));

  const has = {
    sessions: () => ctx.serverHas('GET', '/api/auth/sessions'),
    keys: () => ctx.serverHas('GET', '/api/auth/api_keys'),
    password: () => ctx.serverHas('POST', '/api/auth/change_password'),
    logoutAll: () => ctx.serverHas('POST', '/api/auth/logout_all'),
  };

  /** @param {string} iso */
  const when = (iso) => (iso ? fmtDate(iso, i18n.locale) : t('account.never'));

  async function loadSessions() {
    if (!has.sessions()) {
      sessionList.replaceChildren(h('li', { class: 'muted' }, t('account.notOffered')));
      return;
    }
    /** @type {{sessions: SessionItem[]}} */
    const r = await api.json('/api/auth/sessions');
    sessionList.replaceChildren(
      ...r.sessions.map((s) => {
        const label = s.device || t('account.unknownDevice');
        const item = h(
          'li',
          { class: 'session-item' },
          h(
            'div',
            {},
            h('strong', {}, label),
            s.current ? h('span', { class: 'badge b-public' }, t('account.thisDevice')) : null,
            h(
              'div',
              { class: 'muted small' },
              t('account.sessionTimes', {
                created: when(s.created_at),
                used: when(s.last_used_at),
              }),
            ),
          ),
        );
        if (!s.current) {
          const end = h(
            'button',
            {
              type: 'button',
              class: 'btn btn-ghost btn-small',
              'aria-label': t('account.endSessionOf', { device: label }),
            },
            t('account.endSession'),
          );
          end.addEventListener('click', () =>
            busy(end, sessionsMsg, t, async () => {
              await api.json(`/api/auth/sessions/${encodeURIComponent(s.id)}`, {
                method: 'DELETE',
              });
              showMsg(sessionsMsg, t('account.sessionEnded'), t);
              await loadSessions();
            }),
          );
          item.append(end);
        }
        return item;
      }),
    );
  }

  logoutAll.addEventListener('click', () => {
    if (!window.confirm(t('account.confirmLogoutAll'))) return;
    void busy(logoutAll, sessionsMsg, t, async () => {
      await api.json('/api/auth/logout_all', { method: 'POST' });
      ctx.session.set(null);
      ctx.banner(t('account.loggedOutAll'), 'ok');
    });
  });

  async function loadKeys() {
    if (!has.keys()) {
      keyList.replaceChildren(h('li', { class: 'muted' }, t('account.notOffered')));
      return;
    }
    /** @type {{api_keys: ApiKeyItem[]}} */
    const r = await api.json('/api/auth/api_keys');
    keyList.replaceChildren(
      ...(r.api_keys.length
        ? r.api_keys.map((k) => {
            const del = h(
              'button',
              {
                type: 'button',
                class: 'btn btn-danger btn-small',
                'aria-label': t('account.keyRevokeNamed', { name: k.name }),
              },
              t('account.keyRevoke'),
            );
            del.addEventListener('click', () => {
              if (!window.confirm(t('account.confirmKeyRevoke', { name: k.name }))) return;
              void busy(del, keysMsg, t, async () => {
                await api.json(`/api/auth/api_keys/${encodeURIComponent(k.id)}`, {
                  method: 'DELETE',
                });
                showMsg(keysMsg, t('account.keyRevoked', { name: k.name }), t);
                await loadKeys();
              });
            });
            return h(
              'li',
              { class: 'session-item' },
              h(
                'div',
                {},
                h('strong', {}, k.name),
                ' ',
                h('code', {}, `${k.prefix}…`),
                h(
                  'div',
                  { class: 'muted small' },
                  t('account.keyTimes', {
                    created: when(k.created_at),
                    used: when(k.last_used_at ?? ''),
                  }),
                ),
              ),
              del,
            );
          })
        : [h('li', { class: 'muted' }, t('account.noKeys'))]),
    );
  }

  keyForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = field(keyForm, 'name').value.trim();
    void busy($('button[type=submit]', keyForm), keysMsg, t, async () => {
      /** @type {{key: string}} */
      const r = await api.json('/api/auth/api_keys', { method: 'POST', json: { name } });
      keyForm.reset();
      newKeyValue.value = r.key;
      newKey.hidden = false;
      newKeyValue.focus();
      newKeyValue.select();
      await loadKeys();
    });
  });
  $('#new-key-copy').addEventListener('click', () => {
    void navigator.clipboard?.writeText(newKeyValue.value).then(
      () => showMsg(keysMsg, t('account.copied'), t),
      () => {
        newKeyValue.select();
      },
    );
  });

  pwForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy($('button[type=submit]', pwForm), $('[data-msg]', pwForm), t, async () => {
      await api.json('/api/auth/change_password', {
        method: 'POST',
        json: {
          old_password: field(pwForm, 'old_password').value,
          new_password: field(pwForm, 'new_password').value,
        },
      });
      pwForm.reset();
      showMsg($('[data-msg]', pwForm), t('account.passwordChanged'), t);
      if (has.sessions()) await loadSessions();
    });
  });

  return {
    show() {
      logoutAll.hidden = !has.logoutAll();
      const pwButton = /** @type {HTMLButtonElement} */ ($('button[type=submit]', pwForm));
      pwButton.disabled = !has.password();
      /** @type {HTMLButtonElement} */ ($('button[type=submit]', keyForm)).disabled = !has.keys();
      if (!has.password()) showMsg($('[data-msg]', pwForm), t('account.notOffered'), t, 'info');
      void busy(null, sessionsMsg, t, loadSessions);
      void busy(null, keysMsg, t, loadKeys);
    },
    reset() {
      for (const el of [sessionList, keyList]) el.replaceChildren();
      newKey.hidden = true;
      newKeyValue.value = '';
      keyForm.reset();
      pwForm.reset();
      for (const el of [sessionsMsg, keysMsg, $('[data-msg]', pwForm)]) showMsg(el, null, t);
    },
  };
}
