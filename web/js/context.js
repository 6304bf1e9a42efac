// @ts-check
// What every view is given: no module keeps state another one writes.

/**
 * @typedef {object} Ctx
 * @property {import('./api.js').Api} api
 * @property {import('./session.js').Session} session
 * @property {import('./i18n.js').I18n} i18n
 * @property {import('./dom.js').Translate} t
 * @property {(text: string, kind?: 'ok' | 'warn' | 'info') => void} banner
 * @property {(view: ViewName, params?: Record<string, string>) => void} navigate
 * @property {(method: string, path: string) => boolean} serverHas whether the server's OpenAPI document lists this route
 */

/** @typedef {'auth' | 'create' | 'library' | 'files' | 'account'} ViewName */

/**
 * @typedef {object} View
 * @property {(params?: Record<string, string>) => void} show called each time the view is shown
 * @property {() => void} [hide]
 * @property {() => void} reset forget everything the previous user saw
 * @property {() => void} [relabel] the language changed: redraw what was drawn from data
 */

export {};
