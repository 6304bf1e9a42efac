// @ts-check
// The voice library. Cards are keyed by voice id and updated in place, so the
// refresh while a voice is being made never wipes what the user is typing,
// closes an open panel or moves the focus.

import { localError } from '../api.js';
import {
  $,
  badge,
  busy,
  present,
  field,
  fmtDate,
  h,
  identifierType,
  playBlob,
  saveBlob,
  showMsg,
  uid,
} from '../dom.js';
import { humaniseCodes } from '../quality.js';

/** @typedef {import('../types').Voice} Voice */

const DEFAULT_TEXT = '今天天气怎么样？';
const REFRESH_MS = 3000;
const GENDERS = /** @type {const} */ (['female', 'male', 'other']);
const FORMATS = /** @type {const} */ (['mp3', 'wav', 'pcm']);
const RATES = [8000, 16000, 22050, 24000, 44100, 48000];

/**
 * @typedef {object} Card
 * @property {HTMLElement} el
 * @property {(v: Voice) => void} update
 */

/**
 * @param {import('../context.js').Ctx} ctx
 * @returns {import('../context.js').View}
 */
export function libraryView(ctx) {
  const { api, t, i18n } = ctx;
  const section = $('#view-library');
  const form = /** @type {HTMLFormElement} */ ($('#library-filters'));
  const grid = $('#voice-grid');
  const msg = $('#library-msg');
  const pager = $('#library-pager');
  const empty = h('div', { class: 'empty card' });

  let page = 1;
  /** @type {Map<string, Card>} */
  let cards = new Map();
  /** @type {number | undefined} */
  let timer;
  /** Answers to older requests are dropped. */
  let generation = 0;

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    page = 1;
    void load();
  });
  for (const name of ['gender', 'order', 'page_size', 'mine']) {
    field(form, name).addEventListener('change', () => {
      page = 1;
      void load();
    });
  }
  $('[data-page=prev]', pager).addEventListener('click', () => {
    page = Math.max(1, page - 1);
    void load();
  });
  $('[data-page=next]', pager).addEventListener('click', () => {
    page += 1;
    void load();
  });

  async function load() {
    const mine = generation + 1;
    generation = mine;
    window.clearTimeout(timer);
    grid.setAttribute('aria-busy', 'true');
    try {
      /** @type {import('../types').VoiceList} */
      const r = await api.json('/api/voice/get_voices', {
        method: 'POST',
        json: {
          key_word: field(form, 'key_word').value.trim(),
          gender: field(form, 'gender').value,
          order: field(form, 'order').value,
          page,
          page_size: Number(field(form, 'page_size').value),
          created_by_current_user: field(form, 'mine').checked,
        },
      });
      if (mine !== generation) return;
      showMsg(msg, null, t);
      if (!r.voices.length && page > 1) {
        page -= 1;
        await load();
        return;
      }
      render(r.voices);
      pager.hidden = page <= 1 && !r.has_next;
      $('[data-page-label]', pager).textContent = t('pager.page', { n: page });
      /** @type {HTMLButtonElement} */ ($('[data-page=prev]', pager)).disabled = page <= 1;
      /** @type {HTMLButtonElement} */ ($('[data-page=next]', pager)).disabled = !r.has_next;
      if (r.voices.some((v) => v.status === 'pending' || v.status === 'processing')) {
        timer = window.setTimeout(() => {
          if (!section.hidden) void load();
        }, REFRESH_MS);
      }
    } catch (err) {
      if (mine === generation) showMsg(msg, err, t);
    } finally {
      if (mine === generation) grid.removeAttribute('aria-busy');
    }
  }

  /** @param {Voice[]} voices */
  function render(voices) {
    const next = new Map();
    for (const v of voices) {
      const card = cards.get(v.voice_id) ?? voiceCard(v);
      card.update(v);
      next.set(v.voice_id, card);
    }
    for (const [id, card] of cards) if (!next.has(id)) card.el.remove();
    cards = next;
    // Move only what is out of place: moving a node takes the focus out of it.
    let i = 0;
    for (const card of cards.values()) {
      const at = grid.children[i];
      if (at !== card.el) grid.insertBefore(card.el, at ?? null);
      i += 1;
    }
    if (!voices.length) {
      empty.replaceChildren(
        h('p', {}, t('library.empty')),
        h('p', { class: 'muted' }, t('library.emptyHint')),
      );
      grid.append(empty);
    } else empty.remove();
  }

  /** @param {string} g */
  function genderLabel(g) {
    const known = GENDERS.find((x) => x === g);
    return known ? t(`gender.${known}`) : g;
  }

  /** @param {Voice} first */
  function voiceCard(first) {
    let v = first;
    const titleId = uid('voice');
    const msgEl = h('div', { class: 'msg' });
    const title = h('h3', { class: 'voice-name', id: titleId });
    const badges = h('div', { class: 'badges' });
    const meta = h('div', { class: 'voice-meta muted small' });
    const desc = h('p', { class: 'voice-desc' });
    const statusBox = h('div', {});
    const readyBox = h('div', { class: 'ready-tools' });
    const el = h('article', {
      class: 'voice-card card',
      'aria-labelledby': titleId,
      dataset: { voiceId: v.voice_id },
    });
    el.append(badges, title, meta, desc, statusBox, readyBox);
    /** @type {ReturnType<typeof ownerTools> | null} */
    let owner = null;
    if (v.is_created_by_current_user) {
      owner = ownerTools(
        () => v,
        msgEl,
        (fresh) => card.update(fresh),
      );
      el.append(owner.el);
    }
    el.append(msgEl);
    let shownStatus = '';

    /** @param {Voice} fresh */
    const update = (fresh) => {
      v = fresh;
      const mine = v.is_created_by_current_user;
      title.textContent = v.voice_name;
      desc.textContent = v.voice_description;
      badges.replaceChildren(
        ...present([
          badge(t(`status.${v.status}`), `st-${v.status}`),
          badge(genderLabel(v.voice_gender), 'b-gender'),
          v.is_public
            ? badge(t('voice.public'), 'b-public')
            : mine
              ? badge(t('voice.private'), 'b-private')
              : null,
          v.is_shared_with_current_user ? badge(t('voice.sharedWithYou'), 'b-shared') : null,
        ]),
      );
      meta.replaceChildren(
        mine ? t('voice.byYou') : t('voice.by', { name: v.created_by_username }),
        ' · ',
        fmtDate(v.created_at, i18n.locale),
      );
      owner?.update(v);
      if (v.status === shownStatus) return;
      shownStatus = v.status;
      if (v.status === 'failed' || v.status === 'revoked') {
        statusBox.replaceChildren(
          h(
            'div',
            { class: 'msg msg-error' },
            h('strong', {}, v.status === 'failed' ? t('voice.failed') : t('voice.revoked')),
            h('div', { class: 'msg-info' }, humaniseCodes(v.error_info || t('voice.noReason'), t)),
          ),
        );
      } else if (v.status !== 'ready') {
        statusBox.replaceChildren(
          h(
            'div',
            { class: 'msg msg-info-box' },
            v.status === 'pending' ? t('voice.queued') : t('voice.making'),
          ),
        );
      } else statusBox.replaceChildren();
      if (v.status === 'ready' && !readyBox.firstChild)
        readyBox.append(...readyTools(() => v, msgEl));
      readyBox.hidden = v.status !== 'ready';
    };
    const card = { el, update };
    return card;
  }

  /**
   * Audition, text to speak, synthesis settings, Speak and Download.
   * @param {() => Voice} voice
   * @param {HTMLElement} msgEl
   */
  function readyTools(voice, msgEl) {
    const audio = h('audio', { controls: true, hidden: true });
    const play = h('button', { type: 'button', class: 'btn' }, t('voice.audition'));
    play.setAttribute('aria-label', t('voice.auditionOf', { name: voice().voice_name }));
    play.addEventListener('click', () =>
      busy(play, msgEl, t, async () =>
        playBlob(audio, await api.blob(`/api/voice/${voice().voice_id}/audition`)),
      ),
    );
    const textId = uid('speak');
    const text = h('textarea', { id: textId, rows: 2, maxlength: 2000 });
    text.value = DEFAULT_TEXT;

    const format = h(
      'select',
      { name: 'format' },
      FORMATS.map((f) => h('option', { value: f }, f.toUpperCase())),
    );
    const rate = h(
      'select',
      { name: 'sample_rate' },
      RATES.map((r) => h('option', { value: r, selected: r === 22050 }, `${r} Hz`)),
    );
    /** @param {string} name @param {number} min @param {number} max @param {number} step @param {number} value */
    const slider = (name, min, max, step, value) => {
      const input = h('input', { type: 'range', name, min, max, step, value });
      const out = h('output', {}, String(value));
      input.addEventListener('input', () => {
        out.value = input.value;
      });
      return { input, out };
    };
    const speed = slider('rate', 0.5, 2, 0.1, 1);
    const pitch = slider('pitch', 0.5, 2, 0.1, 1);
    const volume = slider('volume', 0, 100, 1, 50);
    const settings = h(
      'details',
      { class: 'panel synth-settings' },
      h('summary', {}, t('synth.settings')),
      h(
        'div',
        { class: 'synth-grid' },
        h('label', {}, h('span', {}, t('synth.format')), format),
        h('label', {}, h('span', {}, t('synth.sampleRate')), rate),
        h('label', {}, h('span', {}, t('synth.speed')), speed.input, speed.out),
        h('label', {}, h('span', {}, t('synth.pitch')), pitch.input, pitch.out),
        h('label', {}, h('span', {}, t('synth.volume')), volume.input, volume.out),
      ),
    );
    /** @param {string} fmt */
    const body = (fmt) => ({
      text: text.value,
      format: fmt,
      sample_rate: Number(rate.value),
      rate: Number(speed.input.value),
      pitch: Number(pitch.input.value),
      volume: Number(volume.input.value),
    });
    /** @param {string} fmt */
    const synth = (fmt) => {
      if (!text.value.trim()) throw localError('synth.noText');
      return api.blob(`/api/voice/${voice().voice_id}/synthesize`, {
        method: 'POST',
        json: body(fmt),
      });
    };
    const speak = h('button', { type: 'button', class: 'btn btn-primary' }, t('synth.speak'));
    speak.addEventListener('click', () =>
      // Raw PCM cannot play in <audio>: listen to the same settings as WAV.
      busy(speak, msgEl, t, async () =>
        playBlob(audio, await synth(format.value === 'pcm' ? 'wav' : format.value)),
      ),
    );
    const download = h('button', { type: 'button', class: 'btn' }, t('synth.download'));
    download.addEventListener('click', () =>
      busy(download, msgEl, t, async () => {
        const name = voice().voice_name.replace(/[\\/:*?"<>|]+/g, '_') || 'speech';
        saveBlob(await synth(format.value), `${name}.${format.value}`);
      }),
    );
    return [
      h('div', { class: 'row wrap' }, play),
      h(
        'div',
        { class: 'speak' },
        h('label', { for: textId, class: 'small' }, t('synth.text')),
        text,
        settings,
        h('div', { class: 'row wrap' }, speak, download),
      ),
      audio,
    ];
  }

  /**
   * Edit, share and delete, for the owner. Edit and Share only for voices that work.
   * @param {() => Voice} voice
   * @param {HTMLElement} msgEl
   * @param {(v: Voice) => void} onSaved
   */
  function ownerTools(voice, msgEl, onSaved) {
    const edit = h(
      'form',
      { class: 'form compact' },
      h(
        'label',
        {},
        h('span', {}, t('create.name')),
        h('input', { name: 'voice_name', maxlength: 50, required: true }),
      ),
      h(
        'label',
        {},
        h('span', {}, t('create.gender')),
        h(
          'select',
          { name: 'voice_gender' },
          GENDERS.map((g) => h('option', { value: g }, t(`gender.${g}`))),
        ),
      ),
      h(
        'label',
        {},
        h('span', {}, t('create.description')),
        h('textarea', { name: 'voice_description', rows: 2 }),
      ),
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', name: 'is_public' }),
        h('span', {}, t('voice.public')),
      ),
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('voice.save')),
    );
    const editPanel = h('details', { class: 'panel' }, h('summary', {}, t('voice.edit')), edit);
    /** Fills the form, unless the user has it open. */
    const fill = () => {
      if (editPanel.open) return;
      const v = voice();
      field(edit, 'voice_name').value = v.voice_name;
      field(edit, 'voice_gender').value = v.voice_gender;
      field(edit, 'voice_description').value = v.voice_description;
      field(edit, 'is_public').checked = v.is_public;
    };
    edit.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void busy($('button[type=submit]', edit), msgEl, t, async () => {
        /** @type {{voice: Voice}} */
        const r = await api.json(`/api/voice/${voice().voice_id}`, {
          method: 'PUT',
          json: {
            voice_name: field(edit, 'voice_name').value.trim(),
            voice_gender: field(edit, 'voice_gender').value,
            voice_description: field(edit, 'voice_description').value.trim(),
            is_public: field(edit, 'is_public').checked,
          },
        });
        editPanel.open = false;
        onSaved(r.voice);
        showMsg(msgEl, t('voice.saved'), t);
      });
    });

    const shareList = h('ul', { class: 'share-list' });
    const shareForm = h(
      'form',
      { class: 'row' },
      h('input', {
        name: 'identifier',
        class: 'grow',
        required: true,
        'aria-label': t('share.with'),
      }),
      h('button', { type: 'submit', class: 'btn' }, t('share.button')),
    );
    const loadShares = async () => {
      /** @type {{shares: import('../types').Share[]}} */
      const r = await api.json(`/api/voice/${voice().voice_id}/shares`);
      shareList.replaceChildren(
        ...(r.shares.length
          ? r.shares.map((s) => {
              const revoke = h(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-ghost btn-small',
                  'aria-label': t('share.revokeFor', { name: s.username }),
                },
                t('share.revoke'),
              );
              revoke.addEventListener('click', () =>
                busy(revoke, msgEl, t, async () => {
                  await api.json(`/api/voice/${voice().voice_id}/shares/${s.user_id}`, {
                    method: 'DELETE',
                  });
                  showMsg(msgEl, t('share.revoked', { name: s.username }), t);
                  await loadShares();
                }),
              );
              return h('li', {}, h('span', {}, s.username), revoke);
            })
          : [h('li', { class: 'muted' }, t('share.none'))]),
      );
    };
    shareForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const identifier = field(shareForm, 'identifier').value.trim();
      void busy($('button', shareForm), msgEl, t, async () => {
        const type = identifierType(identifier);
        if (!type) throw localError('auth.identifierHelp');
        /** @type {{share: import('../types').Share}} */
        const r = await api.json(`/api/voice/${voice().voice_id}/shares`, {
          method: 'POST',
          json: { identifier, type },
        });
        shareForm.reset();
        showMsg(msgEl, t('share.done', { name: r.share.username }), t);
        await loadShares();
      });
    });
    const sharePanel = h(
      'details',
      { class: 'panel' },
      h('summary', {}, t('share.title')),
      shareForm,
      shareList,
    );
    sharePanel.addEventListener('toggle', () => {
      if (sharePanel.open) void busy(null, msgEl, t, loadShares);
    });

    const del = h(
      'button',
      { type: 'button', class: 'btn btn-danger btn-small' },
      t('voice.delete'),
    );
    del.addEventListener('click', () => {
      const v = voice();
      if (!window.confirm(t('voice.confirmDelete', { name: v.voice_name }))) return;
      void busy(del, msgEl, t, async () => {
        await api.json(`/api/voice/${v.voice_id}`, { method: 'DELETE' });
        ctx.banner(t('voice.deleted', { name: v.voice_name }), 'ok');
        await load();
      });
    });
    const el = h(
      'div',
      { class: 'owner-tools' },
      editPanel,
      sharePanel,
      h('div', { class: 'row end' }, del),
    );
    return {
      el,
      /** @param {Voice} v */
      update(v) {
        const usable = v.status !== 'failed' && v.status !== 'revoked';
        editPanel.hidden = !usable;
        sharePanel.hidden = v.status !== 'ready';
        del.setAttribute('aria-label', t('voice.deleteNamed', { name: v.voice_name }));
        fill();
      },
    };
  }

  return {
    show(params) {
      if (params?.key_word !== undefined) {
        field(form, 'key_word').value = params.key_word;
        field(form, 'mine').checked = params.mine === '1';
        page = 1;
      }
      void load();
    },
    hide() {
      window.clearTimeout(timer);
    },
    reset() {
      window.clearTimeout(timer);
      generation += 1;
      page = 1;
      cards = new Map();
      grid.replaceChildren();
      form.reset();
      showMsg(msg, null, t);
    },
    relabel() {
      cards = new Map();
      grid.replaceChildren();
      if (!section.hidden) void load();
    },
  };
}
