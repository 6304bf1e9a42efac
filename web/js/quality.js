// @ts-check
// The sample-quality panel: verdict and advice in the reader's language.

import { fact, h, present } from './dom.js';

/** @typedef {import('./types').Quality} Quality */
/** @typedef {import('./types').Verdict} Verdict */

/** @type {readonly Verdict[]} */
const VERDICTS = [
  'good',
  'too_short',
  'too_long',
  'silent',
  'noisy',
  'clipped',
  'too_quiet',
  'not_speech',
  'corrupt',
  'wrong_type',
];

/**
 * Human text for a verdict code; unknown codes get a generic label, never the code alone.
 * @param {string} code
 * @param {import('./dom.js').Translate} t
 */
export function verdictLabel(code, t) {
  const v = VERDICTS.find((x) => x === code);
  return v ? t(`verdict.${v}`) : t('verdict.unknown', { code });
}

/**
 * Replaces any quality code (`too_quiet`, …) in a server message with its label.
 * @param {string} text
 * @param {import('./dom.js').Translate} t
 */
export function humaniseCodes(text, t) {
  return text.replace(/\b(too_short|too_long|too_quiet|not_speech|wrong_type)\b/g, (code) =>
    verdictLabel(code, t),
  );
}

/**
 * @param {HTMLElement} box
 * @param {Quality} q
 * @param {import('./dom.js').Translate} t
 * @param {string} lang
 */
export function renderQuality(box, q, t, lang) {
  const cls = q.usable ? (q.score >= 80 ? 'q-good' : 'q-ok') : 'q-bad';
  const m = q.metrics;
  const score = Math.round(q.score);
  const known = VERDICTS.find((x) => x === q.verdict);
  box.replaceChildren(
    ...present([
      h(
        'div',
        { class: `q-head ${cls}` },
        h('span', { class: 'q-score', 'aria-hidden': 'true' }, String(score)),
        h(
          'div',
          {},
          h('div', { class: 'q-verdict' }, verdictLabel(q.verdict, t)),
          h(
            'div',
            { class: 'muted small' },
            q.usable ? t('quality.usable') : t('quality.unusable'),
          ),
        ),
      ),
      h(
        'label',
        { class: 'meter-label' },
        h('span', {}, t('quality.score', { score })),
        h('meter', {
          class: 'q-meter',
          min: 0,
          max: 100,
          low: 41,
          high: 79,
          optimum: 100,
          value: score,
        }),
      ),
      known && known !== 'good' ? h('p', { class: 'advice-main' }, t(`advice.${known}`)) : null,
      q.advice.length
        ? h(
            'details',
            { class: 'metrics', open: lang === 'en' },
            h('summary', {}, t('quality.details')),
            h(
              'ul',
              { class: 'advice', lang: 'en' },
              q.advice.map((a) => h('li', {}, a)),
            ),
          )
        : h('p', { class: 'muted' }, t('quality.noAdvice')),
      m
        ? h(
            'details',
            { class: 'metrics' },
            h('summary', {}, t('quality.measurements')),
            h(
              'dl',
              { class: 'facts' },
              /** @type {[string, string][]} */ ([
                [
                  t('quality.speech'),
                  t('quality.speechOf', { speech: m.speechSec, total: m.durationSec }),
                ],
                [t('quality.snr'), `${m.snrDb} dB`],
                [t('quality.level'), `${m.speechRmsDbfs} dBFS`],
                [t('quality.peak'), `${m.peakDbfs} dBFS`],
                [t('quality.silence'), `${Math.round(m.silenceRatio * 100)}%`],
                [t('quality.pitch'), m.f0MedianHz ? `${m.f0MedianHz} Hz` : '—'],
              ]).map(fact),
            ),
          )
        : null,
    ]),
  );
  box.hidden = false;
}
