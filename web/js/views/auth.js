// @ts-check
// Log in and register, as tabs (arrow keys move between them).

import { localError } from '../api.js';
import { $, $$, busy, field, identifierType, showMsg } from '../dom.js';

/**
 * @param {import('../context.js').Ctx} ctx
 * @returns {import('../context.js').View & { logIn: (identifier: string, password: string) => Promise<void> }}
 */
export function authView(ctx) {
  const { api, session, t } = ctx;
  const loginForm = /** @type {HTMLFormElement} */ ($('#login-form'));
  const registerForm = /** @type {HTMLFormElement} */ ($('#register-form'));
  const tabs = $$('[data-auth-tab]');

  /** @param {HTMLElement} tab @param {boolean} focus */
  const select = (tab, focus) => {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute('aria-selected', String(on));
      other.tabIndex = on ? 0 : -1;
      other.classList.toggle('active', on);
    }
    loginForm.hidden = tab.dataset.authTab !== 'login';
    registerForm.hidden = tab.dataset.authTab !== 'register';
    if (focus) tab.focus();
  };
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener('click', () => select(tab, false));
    tab.addEventListener('keydown', (ev) => {
      const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
      let next = -1;
      if (ev.key in moves)
        next = (i + moves[/** @type {keyof typeof moves} */ (ev.key)] + tabs.length) % tabs.length;
      else if (ev.key === 'Home') next = 0;
      else if (ev.key === 'End') next = tabs.length - 1;
      const target = tabs[next];
      if (!target) return;
      ev.preventDefault();
      select(target, true);
    });
  }
  const firstTab = tabs[0];
  if (firstTab) select(firstTab, false);

  /** @param {HTMLFormElement} form */
  const wireTypeHint = (form) => {
    const input = field(form, 'identifier');
    const hint = $('[data-type-hint]', form);
    input.addEventListener('input', () => {
      const type = identifierType(input.value);
      const typed = Boolean(input.value.trim());
      hint.textContent = !typed
        ? ''
        : type === 'phone'
          ? t('auth.isPhone')
          : type === 'email'
            ? t('auth.isEmail')
            : t('auth.identifierHelp');
      hint.classList.toggle('hint-warn', typed && !type);
    });
  };
  wireTypeHint(loginForm);
  wireTypeHint(registerForm);

  /** @param {string} identifier @param {string} password */
  const logIn = async (identifier, password) => {
    const type = identifierType(identifier);
    if (!type) throw localError('auth.identifierHelp');
    /** @type {{access_token: string, refresh_token: string, user_id: string, username: string}} */
    const r = await api.json('/api/auth/login', {
      method: 'POST',
      auth: false,
      json: { identifier, type, password },
    });
    session.set({
      access_token: r.access_token,
      refresh_token: r.refresh_token,
      user_id: r.user_id,
      username: r.username,
    });
    ctx.navigate('create');
  };

  loginForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy($('button[type=submit]', loginForm), $('[data-msg]', loginForm), t, () =>
      logIn(field(loginForm, 'identifier').value.trim(), field(loginForm, 'password').value),
    );
  });

  registerForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = (/** @type {string} */ name) => field(registerForm, name);
    const identifier = f('identifier').value.trim();
    const username = f('username').value.trim();
    void busy(
      $('button[type=submit]', registerForm),
      $('[data-msg]', registerForm),
      t,
      async () => {
        const type = identifierType(identifier);
        if (!type) throw localError('auth.identifierHelp');
        await api.json('/api/auth/register', {
          method: 'POST',
          auth: false,
          json: {
            username,
            identifier,
            type,
            password: f('password').value,
            code: f('code').value.trim(),
          },
        });
        await logIn(identifier, f('password').value);
        ctx.banner(t('auth.welcome', { name: username }), 'ok');
      },
    );
  });

  $('#send-captcha').addEventListener('click', (ev) => {
    const identifier = field(registerForm, 'identifier').value.trim();
    const msg = $('[data-msg]', registerForm);
    void busy(/** @type {HTMLButtonElement} */ (ev.currentTarget), msg, t, async () => {
      const type = identifierType(identifier);
      if (!type) throw localError('auth.identifierHelp');
      /** @type {{captcha?: string, is_first_use?: boolean}} */
      const r = await api.json('/api/auth/send_captcha', {
        method: 'POST',
        auth: false,
        json: { identifier, type },
      });
      if (r.captcha) field(registerForm, 'code').value = r.captcha;
      showMsg(
        msg,
        r.is_first_use
          ? t('auth.codeSent', { to: identifier })
          : t('auth.codeSentKnown', { to: identifier }),
        t,
        'info',
      );
    });
  });

  return {
    logIn,
    show() {
      const s = session.get();
      if (s) ctx.navigate('create');
    },
    reset() {
      for (const form of [loginForm, registerForm]) {
        form.reset();
        showMsg($('[data-msg]', form), null, t);
        $('[data-type-hint]', form).textContent = '';
      }
      if (firstTab) select(firstTab, false);
    },
  };
}
