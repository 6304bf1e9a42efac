// @ts-check
// My files (or all I can see): download, rename, public switch, delete, the
// voices made from my recordings, and cloning someone else's public recording.

import { $, $$, badge, busy, fmtBytes, fmtDate, h, saveBlob, showMsg } from '../dom.js';

/** @typedef {import('../types').FileItem} FileItem */

/**
 * @param {import('../context.js').Ctx} ctx
 * @returns {import('../context.js').View}
 */
export function filesView(ctx) {
  const { api, t, i18n } = ctx;
  const list = $('#file-list');
  const msg = $('#files-msg');
  const pager = $('#files-pager');
  const mineBox = /** @type {HTMLInputElement} */ ($('#files-mine'));
  let page = 1;
  let generation = 0;

  mineBox.addEventListener('change', () => {
    page = 1;
    void load();
  });
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
    try {
      /** @type {import('../types').FileList} */
      const r = await api.json('/api/file/list', {
        method: 'POST',
        json: { page, page_size: 10, only_mine: mineBox.checked },
      });
      if (mine !== generation) return;
      showMsg(msg, null, t);
      if (!r.files.length && page > 1) {
        page = Math.max(1, r.total_pages);
        await load();
        return;
      }
      list.replaceChildren(
        ...(r.files.length
          ? r.files.map(fileRow)
          : [h('li', { class: 'empty muted' }, t('files.empty'))]),
      );
      $('[data-page-label]', pager).textContent = t('files.pageOf', {
        n: r.current_page,
        of: Math.max(1, r.total_pages),
        count: r.total_items,
      });
      /** @type {HTMLButtonElement} */ ($('[data-page=prev]', pager)).disabled = page <= 1;
      /** @type {HTMLButtonElement} */ ($('[data-page=next]', pager)).disabled = !r.has_next;
      for (const b of $$('button', pager)) b.hidden = r.total_pages <= 1;
    } catch (err) {
      if (mine === generation) showMsg(msg, err, t);
    }
  }

  /** @param {FileItem} f */
  function fileRow(f) {
    const rowMsg = h('div', { class: 'msg' });
    const name = h('span', { class: 'file-name' }, f.file_name);
    const isAudio = Boolean(f.audio) || f.file_type.startsWith('audio/');
    const info = h(
      'div',
      { class: 'file-info' },
      h(
        'div',
        { class: 'file-title' },
        h('span', { class: 'file-icon', 'aria-hidden': 'true' }, isAudio ? '♪' : '▣'),
        name,
      ),
      h(
        'div',
        { class: 'muted small' },
        `${f.file_type} · ${fmtBytes(f.file_size)} · ${fmtDate(f.created_at, i18n.locale)}`,
        f.is_owner ? '' : ` · ${t('voice.by', { name: f.created_by_username ?? '' })}`,
      ),
      f.origin === 'audition' ? h('div', {}, badge(t('files.audition'), 'b-audition')) : null,
      f.description ? h('div', { class: 'small' }, f.description) : null,
    );

    const download = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-small',
        'aria-label': t('files.downloadNamed', { name: f.file_name }),
      },
      t('files.download'),
    );
    download.addEventListener('click', () =>
      busy(download, rowMsg, t, async () =>
        saveBlob(await api.blob(`/api/file/download/${f.file_id}`), f.file_name),
      ),
    );
    const actions = h('div', { class: 'file-actions' }, download);
    const li = h('li', { class: 'file-row', 'aria-label': f.file_name });

    if (!f.is_owner && isAudio && f.origin !== 'audition') {
      const use = h('button', { type: 'button', class: 'btn btn-small' }, t('files.useForVoice'));
      use.addEventListener('click', () =>
        ctx.navigate('create', {
          file_id: f.file_id,
          file_name: f.file_name,
          owner: f.created_by_username ?? '',
        }),
      );
      actions.append(use);
    }

    if (f.is_owner) {
      const pub = h('input', { type: 'checkbox', checked: f.is_public });
      pub.addEventListener('change', () =>
        busy(null, rowMsg, t, async () => {
          try {
            await api.json(`/api/file/update/${f.file_id}`, {
              method: 'PUT',
              json: { is_public: pub.checked },
            });
            f.is_public = pub.checked;
            showMsg(rowMsg, pub.checked ? t('files.nowPublic') : t('files.nowPrivate'), t);
          } catch (err) {
            pub.checked = f.is_public;
            throw err;
          }
        }),
      );
      const rename = h(
        'button',
        {
          type: 'button',
          class: 'btn btn-ghost btn-small',
          'aria-label': t('files.renameNamed', { name: f.file_name }),
        },
        t('files.rename'),
      );
      rename.addEventListener('click', () => {
        const input = h('input', {
          value: f.file_name,
          maxlength: 255,
          class: 'grow',
          'aria-label': t('files.newName'),
        });
        const save = h(
          'button',
          { type: 'submit', class: 'btn btn-small btn-primary' },
          t('voice.save'),
        );
        const cancel = h(
          'button',
          { type: 'button', class: 'btn btn-ghost btn-small' },
          t('files.cancel'),
        );
        const form = h('form', { class: 'row rename' }, input, save, cancel);
        cancel.addEventListener('click', () => {
          form.replaceWith(name);
          rename.focus();
        });
        form.addEventListener('submit', (ev) => {
          ev.preventDefault();
          void busy(save, rowMsg, t, async () => {
            /** @type {{file: FileItem}} */
            const r = await api.json(`/api/file/update/${f.file_id}`, {
              method: 'PUT',
              json: { file_name: input.value.trim() },
            });
            f.file_name = r.file.file_name;
            name.textContent = f.file_name;
            form.replaceWith(name);
            showMsg(rowMsg, t('files.renamed'), t);
          });
        });
        name.replaceWith(form);
        input.focus();
        input.select();
      });
      const del = h(
        'button',
        {
          type: 'button',
          class: 'btn btn-danger btn-small',
          'aria-label': t('files.deleteNamed', { name: f.file_name }),
        },
        t('files.delete'),
      );
      del.addEventListener('click', () => {
        if (!window.confirm(t('files.confirmDelete', { name: f.file_name }))) return;
        void busy(del, rowMsg, t, async () => {
          await api.json(`/api/file/delete/${f.file_id}`, { method: 'DELETE' });
          ctx.banner(t('files.deleted', { name: f.file_name }), 'ok');
          await load();
        });
      });
      actions.append(
        h('label', { class: 'check small' }, pub, h('span', {}, t('voice.public'))),
        rename,
        del,
      );
    }
    li.append(h('div', { class: 'file-main' }, info, actions));
    if (
      f.is_owner &&
      isAudio &&
      f.origin !== 'audition' &&
      ctx.serverHas('GET', '/api/file/{id}/voices')
    ) {
      li.append(derivedVoices(f));
    }
    li.append(rowMsg);
    return li;
  }

  /** Who made voices from my recording (accounts issue). @param {FileItem} f */
  function derivedVoices(f) {
    const ul = h('ul', { class: 'plain-list small' });
    const box = h('details', { class: 'panel' }, h('summary', {}, t('files.voicesFrom')), ul);
    const note = h('div', { class: 'msg' });
    box.append(note);
    box.addEventListener('toggle', () => {
      if (!box.open) return;
      void busy(null, note, t, async () => {
        /** @type {{voices: import('../types').DerivedVoice[]}} */
        const r = await api.json(`/api/file/${f.file_id}/voices`);
        ul.replaceChildren(
          ...(r.voices.length
            ? r.voices.map((v) =>
                h(
                  'li',
                  {},
                  h('strong', {}, v.voice_name),
                  ' · ',
                  v.created_by_username ? t('voice.by', { name: v.created_by_username }) : '',
                  ' · ',
                  fmtDate(v.created_at, i18n.locale),
                  v.status ? h('span', { class: 'muted' }, ` · ${t(statusKey(v.status))}`) : null,
                ),
              )
            : [h('li', { class: 'muted' }, t('files.noVoicesFrom'))]),
        );
      });
    });
    return box;
  }

  return {
    show() {
      void load();
    },
    reset() {
      generation += 1;
      page = 1;
      list.replaceChildren();
      mineBox.checked = true;
      showMsg(msg, null, t);
    },
    relabel() {
      void load();
    },
  };
}

/**
 * @param {string} s
 * @returns {import('../../i18n/en.js').Key}
 */
function statusKey(s) {
  switch (s) {
    case 'pending':
    case 'processing':
    case 'ready':
    case 'failed':
    case 'revoked':
      return `status.${s}`;
    default:
      return 'status.unknown';
  }
}
