// @ts-check
// Create a voice: upload or record a sample, check its quality, create one
// voice (or several at once) and follow each until it is ready.

import { ApiError, localError } from '../api.js';
import {
  $,
  $$,
  busy,
  fact,
  field,
  fmtBytes,
  fmtDate,
  fmtRate,
  h,
  playBlob,
  showMsg,
} from '../dom.js';
import { humaniseCodes, renderQuality } from '../quality.js';
import { Recorder } from '../recorder.js';

/** @typedef {import('../types').FileItem} FileItem */
/** @typedef {import('../types').Voice} Voice */

const AUDIO_EXTS = ['mp3', 'wav', 'ogg', 'aac', 'm4a', 'flac'];
const POLL_LIMIT_MS = 10 * 60 * 1000;
const GENDERS = /** @type {const} */ (['female', 'male', 'other']);

/**
 * Whether a picked or dropped file looks like audio the server takes.
 * @param {File} file
 */
export function looksLikeAudio(file) {
  const ext = /\.([A-Za-z0-9]+)$/.exec(file.name)?.[1]?.toLowerCase() ?? '';
  if (!AUDIO_EXTS.includes(ext)) return false;
  return !file.type || file.type.startsWith('audio/') || file.type === 'video/ogg';
}

/**
 * @param {import('../context.js').Ctx} ctx
 * @returns {import('../context.js').View}
 */
export function createView(ctx) {
  const { api, t, i18n } = ctx;
  const dz = /** @type {HTMLButtonElement} */ ($('#dropzone'));
  const input = /** @type {HTMLInputElement} */ ($('#file-input'));
  const uploadMsg = $('#upload-msg');
  const panel = $('#sample-panel');
  const assessBtn = /** @type {HTMLButtonElement} */ ($('#assess'));
  const playBtn = /** @type {HTMLButtonElement} */ ($('#sample-play'));
  const qualityBox = $('#quality');
  const createForm = /** @type {HTMLFormElement} */ ($('#create-form'));
  const sampleSelect = /** @type {HTMLSelectElement} */ ($('#create-sample'));
  const consentRow = $('#consent-row');
  const batchForm = /** @type {HTMLFormElement} */ ($('#batch-form'));
  const batchList = $('#batch-samples');

  /** The file shown in the sample panel. @type {FileItem | null} */
  let current = null;
  /** My audio files, for the pickers. @type {FileItem[]} */
  let myAudio = [];
  /** Someone else's public recording picked on the files page. @type {FileItem | null} */
  let borrowed = null;
  /** Polls to stop when the user signs out. @type {Set<{stopped: boolean}>} */
  const polls = new Set();

  // ------------------------------------------------------------ upload

  dz.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) void upload(file);
    input.value = '';
  });
  for (const type of ['dragenter', 'dragover']) {
    dz.addEventListener(type, (ev) => {
      ev.preventDefault();
      dz.classList.add('drag');
    });
  }
  for (const type of ['dragleave', 'drop'])
    dz.addEventListener(type, () => dz.classList.remove('drag'));
  dz.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const file = ev.dataTransfer?.files?.[0];
    if (file) void upload(file);
  });

  /** @param {File} file */
  async function upload(file) {
    showMsg(uploadMsg, null, t);
    if (!looksLikeAudio(file)) {
      showMsg(uploadMsg, localError('upload.notAudio'), t);
      return;
    }
    dz.disabled = true;
    dz.setAttribute('aria-busy', 'true');
    $('.dz-title', dz).textContent = t('upload.uploading', { name: file.name });
    try {
      const form = new FormData();
      form.append(
        'is_public',
        /** @type {HTMLInputElement} */ ($('#upload-public')).checked ? 'true' : 'false',
      );
      const description = /** @type {HTMLInputElement} */ ($('#upload-description')).value.trim();
      if (description) form.append('description', description);
      form.append('file', file, file.name);
      /** @type {FileItem} */
      const r = await api.json('/api/file/upload', { method: 'POST', form });
      if (!r.audio) {
        showSample(null);
        showMsg(uploadMsg, localError('upload.notAudio'), t);
      } else {
        showSample(r);
        showMsg(uploadMsg, t('upload.done', { name: r.file_name, size: fmtBytes(r.file_size) }), t);
      }
      await refreshSamples(r.audio ? r.file_id : undefined);
      return r.audio ? r : null;
    } catch (err) {
      showMsg(uploadMsg, err, t);
      return null;
    } finally {
      dz.disabled = false;
      dz.removeAttribute('aria-busy');
      $('.dz-title', dz).textContent = t('upload.drop');
    }
  }

  /** @param {FileItem | null} file */
  function showSample(file) {
    current = file;
    panel.hidden = !file;
    qualityBox.hidden = true;
    $('#sample-audio').hidden = true;
    showMsg($('#assess-msg'), null, t);
    if (!file?.audio) return;
    $('#sample-name').textContent = file.file_name;
    const a = file.audio;
    $('#sample-info').replaceChildren(
      .../** @type {[string, string][]} */ ([
        [t('facts.duration'), t('facts.seconds', { n: a.duration_sec.toFixed(1) })],
        [t('facts.codec'), a.codec],
        [t('facts.rate'), fmtRate(a.sample_rate)],
        [
          t('facts.channels'),
          a.channels === 1
            ? t('facts.mono')
            : a.channels === 2
              ? t('facts.stereo')
              : String(a.channels),
        ],
        [t('facts.size'), fmtBytes(file.file_size)],
      ]).map(fact),
    );
  }

  /** @param {FileItem} file */
  async function assess(file) {
    await busy(assessBtn, $('#assess-msg'), t, async () => {
      /** @type {{quality: import('../types').Quality}} */
      const r = await api.json('/api/voice/assess_sample', {
        method: 'POST',
        json: { audio_file_id: file.file_id },
      });
      renderQuality(qualityBox, r.quality, t, i18n.lang);
    });
  }

  assessBtn.addEventListener('click', () => {
    if (current) void assess(current);
  });
  playBtn.addEventListener('click', () => {
    const file = current;
    if (!file) return;
    void busy(playBtn, $('#assess-msg'), t, async () => {
      playBlob(
        /** @type {HTMLAudioElement} */ ($('#sample-audio')),
        await api.blob(`/api/file/download/${file.file_id}`),
      );
    });
  });

  // ------------------------------------------------------------ record

  const startBtn = /** @type {HTMLButtonElement} */ ($('#record-start'));
  const stopBtn = /** @type {HTMLButtonElement} */ ($('#record-stop'));
  const timeEl = $('#record-time');
  const recorder = new Recorder(
    /** @type {HTMLMeterElement} */ ($('#record-level')),
    (sec) => {
      timeEl.textContent = t('record.elapsed', { s: Math.floor(sec) });
    },
    () => void finishRecording(),
  );
  if (!Recorder.supported()) {
    startBtn.disabled = true;
    timeEl.textContent = t('record.unsupported');
  }
  startBtn.addEventListener('click', () => {
    void busy(null, uploadMsg, t, async () => {
      try {
        await recorder.start();
      } catch (err) {
        throw err instanceof ApiError ? err : localError('record.denied');
      }
      startBtn.disabled = true;
      stopBtn.disabled = false;
      stopBtn.focus();
    });
  });
  stopBtn.addEventListener('click', () => void finishRecording());

  async function finishRecording() {
    if (!recorder.recording) return;
    stopBtn.disabled = true;
    await busy(null, uploadMsg, t, async () => {
      const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
      const file = await recorder.stop(`recording-${stamp}.wav`);
      const uploaded = await upload(file);
      // The quality check right after a take: that is when it can be redone.
      if (uploaded) await assess(uploaded);
    });
    startBtn.disabled = false;
    timeEl.textContent = '';
  }

  // ------------------------------------------------------------ pickers

  /**
   * Reloads my audio files into the create and batch forms.
   * @param {string} [selectId]
   */
  async function refreshSamples(selectId) {
    try {
      /** @type {import('../types').FileList} */
      const r = await api.json('/api/file/list', {
        method: 'POST',
        json: { page: 1, page_size: 100, only_mine: true },
      });
      // Audition clips the service made are not samples.
      myAudio = r.files.filter((f) => f.file_type.startsWith('audio/') && f.origin !== 'audition');
    } catch (err) {
      showMsg($('[data-msg]', createForm), err, t);
      return;
    }
    const previous = selectId || sampleSelect.value;
    const options = myAudio.map((f) =>
      h('option', { value: f.file_id }, `${f.file_name} · ${fmtDate(f.created_at, i18n.locale)}`),
    );
    if (borrowed) {
      options.unshift(
        h(
          'option',
          { value: borrowed.file_id },
          t('create.borrowed', {
            name: borrowed.file_name,
            owner: borrowed.created_by_username ?? '',
          }),
        ),
      );
    }
    sampleSelect.replaceChildren(
      ...(options.length ? options : [h('option', { value: '' }, t('create.noSample'))]),
    );
    if (previous && [...sampleSelect.options].some((o) => o.value === previous))
      sampleSelect.value = previous;
    syncConsent();

    const ticked = new Set(
      $$('input[type=checkbox]:checked', batchList).map(
        (c) => /** @type {HTMLInputElement} */ (c).value,
      ),
    );
    batchList.replaceChildren(
      ...(myAudio.length
        ? myAudio.map((f) => batchItem(f, ticked.has(f.file_id)))
        : [h('p', { class: 'muted' }, t('batch.empty'))]),
    );
  }

  /** @param {FileItem} f @param {boolean} ticked */
  function batchItem(f, ticked) {
    const base = f.file_name.replace(/\.[^.]+$/, '').slice(0, 50);
    return h(
      'div',
      { class: 'batch-item', dataset: { fileId: f.file_id } },
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', value: f.file_id, checked: ticked }),
        h('span', { class: 'file-name' }, f.file_name),
      ),
      h('input', {
        class: 'grow',
        name: 'name',
        value: base,
        maxlength: 50,
        'aria-label': t('batch.nameFor', { name: f.file_name }),
      }),
      h(
        'select',
        { name: 'gender', 'aria-label': t('batch.genderFor', { name: f.file_name }) },
        h('option', { value: '' }, t('batch.pickGender')),
        GENDERS.map((g) => h('option', { value: g }, t(`gender.${g}`))),
      ),
    );
  }

  function syncConsent() {
    const needs = Boolean(borrowed && sampleSelect.value === borrowed.file_id);
    consentRow.hidden = !needs;
    field(createForm, 'consent').required = needs;
    if (!needs) field(createForm, 'consent').checked = false;
  }
  sampleSelect.addEventListener('change', syncConsent);

  // ------------------------------------------------------------ progress

  const STEPS = /** @type {const} */ (['pending', 'processing', 'ready']);

  /** @param {string} name */
  function progressView(name) {
    const el = h('div', { class: 'progress', role: 'group', 'aria-label': name });
    const steps = h('ol', { class: 'steps' });
    const note = h('div', { class: 'msg' });
    const actions = h('div', { class: 'row wrap' });
    el.append(h('div', { class: 'progress-title' }, name), steps, note, actions);
    /** @param {string} status @param {Voice | null} [voice] @param {unknown} [err] */
    const set = (status, voice, err) => {
      const failed = status === 'failed';
      const at = failed ? 2 : STEPS.indexOf(/** @type {typeof STEPS[number]} */ (status));
      steps.hidden = status === 'rejected';
      steps.replaceChildren(
        ...STEPS.map((s, i) => {
          let state = i < at ? 'done' : i === at ? 'current' : 'todo';
          if (failed) state = ['done', 'stopped', 'failed'][i] ?? 'todo';
          const label = failed && i === 2 ? t('status.failed') : t(`step.${s}`);
          return h(
            'li',
            { class: `step-${state}`, 'aria-current': state === 'current' ? 'step' : undefined },
            label,
          );
        }),
      );
      if (err) showMsg(note, err, t);
      else if (failed)
        showMsg(
          note,
          new ApiError(0, {
            message: t('create.failed'),
            error_info: humaniseCodes(voice?.error_info ?? '', t),
          }),
          t,
        );
      else if (status === 'ready') showMsg(note, t('create.ready'), t);
      else
        showMsg(note, status === 'pending' ? t('create.waiting') : t('create.working'), t, 'info');
      el.dataset.status = status;
    };
    return { el, set, actions };
  }

  /**
   * Polls GET /api/voice/<id> until ready or failed.
   * @param {string} voiceId
   * @param {ReturnType<typeof progressView>} view
   * @returns {Promise<Voice | null>}
   */
  async function follow(voiceId, view) {
    const poll = { stopped: false };
    polls.add(poll);
    const started = Date.now();
    let delay = 700;
    try {
      for (;;) {
        if (poll.stopped) return null;
        /** @type {Voice} */
        let voice;
        try {
          ({ voice } = await api.json(`/api/voice/${voiceId}`));
        } catch (err) {
          view.set('failed', null, err);
          return null;
        }
        if (poll.stopped) return null;
        view.set(voice.status, voice);
        if (voice.status !== 'pending' && voice.status !== 'processing') return voice;
        if (Date.now() - started > POLL_LIMIT_MS) {
          view.set(voice.status, voice, localError('create.slow'));
          return null;
        }
        await new Promise((r) => window.setTimeout(r, delay));
        delay = Math.min(delay * 1.3, 3000);
      }
    } finally {
      polls.delete(poll);
    }
  }

  /** @param {ReturnType<typeof progressView>} view @param {Voice} voice */
  function readyActions(view, voice) {
    const audio = h('audio', { controls: true, hidden: true });
    const msg = h('div', { class: 'msg' });
    const play = h('button', { type: 'button', class: 'btn' }, t('voice.playAudition'));
    play.addEventListener('click', () =>
      busy(play, msg, t, async () =>
        playBlob(audio, await api.blob(`/api/voice/${voice.voice_id}/audition`)),
      ),
    );
    const open = h('button', { type: 'button', class: 'btn btn-ghost' }, t('create.openInLibrary'));
    open.addEventListener('click', () =>
      ctx.navigate('library', { key_word: voice.voice_name, mine: '1' }),
    );
    view.actions.replaceChildren(play, open);
    view.el.append(audio, msg);
  }

  /** @param {string} voiceId @param {ReturnType<typeof progressView>} view */
  const track = (voiceId, view) => {
    void follow(voiceId, view).then((v) => {
      if (v?.status === 'ready') readyActions(view, v);
    });
  };

  // ------------------------------------------------------------ create

  createForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = (/** @type {string} */ name) => field(createForm, name);
    const name = f('voice_name').value.trim();
    void busy($('button[type=submit]', createForm), $('[data-msg]', createForm), t, async () => {
      /** @type {Record<string, unknown>} */
      const body = {
        audio_file_id: sampleSelect.value,
        voice_name: name,
        voice_gender: field(createForm, 'voice_gender').value,
        voice_description: f('voice_description').value.trim(),
        is_public: f('is_public').checked,
      };
      if (!consentRow.hidden) body.consent = f('consent').checked;
      /** @type {{voice_id: string, status?: string, voice?: Voice}} */
      const r = await api.json('/api/voice/create_voice?async=1', { method: 'POST', json: body });
      const view = progressView(name);
      $('#create-progress').replaceChildren(view.el);
      view.set(r.voice?.status ?? r.status ?? 'pending', r.voice);
      if (r.voice?.status === 'ready') readyActions(view, r.voice);
      else track(r.voice_id, view);
    });
  });

  batchForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const description = field(batchForm, 'voice_description').value.trim();
    const isPublic = field(batchForm, 'is_public').checked;
    const picked = $$('.batch-item', batchList).filter(
      (row) => /** @type {HTMLInputElement} */ ($('input[type=checkbox]', row)).checked,
    );
    void busy($('button[type=submit]', batchForm), $('[data-msg]', batchForm), t, async () => {
      if (!picked.length) throw localError('batch.noneTicked');
      const items = picked.map((row) => ({
        audio_file_id: row.dataset.fileId,
        voice_name: /** @type {HTMLInputElement} */ ($('input[name=name]', row)).value.trim(),
        voice_gender: /** @type {HTMLSelectElement} */ ($('select[name=gender]', row)).value,
        voice_description: description,
        is_public: isPublic,
      }));
      const missing = picked.find(
        (row) => !(/** @type {HTMLSelectElement} */ ($('select[name=gender]', row)).value),
      );
      if (missing) {
        /** @type {HTMLSelectElement} */ ($('select[name=gender]', missing)).focus();
        throw localError('batch.genderMissing');
      }
      /** @type {{message: string, results: import('../types').BatchResult[]}} */
      const r = await api.json('/api/voice/batch_create', {
        method: 'POST',
        json: { voices: items },
      });
      showMsg(
        $('[data-msg]', batchForm),
        t('batch.accepted', {
          n: r.results.filter((x) => x.code === 202).length,
          of: items.length,
        }),
        t,
      );
      const target = $('#batch-progress');
      target.replaceChildren();
      for (const res of r.results) {
        const view = progressView(items[res.index]?.voice_name || `#${res.index + 1}`);
        target.append(view.el);
        if (res.code !== 202 || !res.voice_id) {
          view.set(
            'rejected',
            null,
            new ApiError(res.code, {
              message: res.message,
              error_info: humaniseCodes(res.error_info ?? '', t),
            }),
          );
          continue;
        }
        view.set(res.status || 'pending');
        track(res.voice_id, view);
      }
    });
  });

  return {
    show(params) {
      if (params?.file_id && params.file_name) {
        borrowed = {
          file_id: params.file_id,
          file_name: params.file_name,
          created_by_username: params.owner,
          file_type: 'audio',
          file_size: 0,
          created_at: '',
          is_owner: false,
          is_public: true,
          audio: null,
        };
        void refreshSamples(params.file_id);
        return;
      }
      void refreshSamples();
    },
    reset() {
      for (const p of polls) p.stopped = true;
      polls.clear();
      current = null;
      borrowed = null;
      myAudio = [];
      panel.hidden = true;
      for (const id of ['#create-progress', '#batch-progress', '#batch-samples', '#create-sample'])
        $(id).replaceChildren();
      for (const form of [createForm, batchForm]) {
        form.reset();
        showMsg($('[data-msg]', form), null, t);
      }
      showMsg(uploadMsg, null, t);
      consentRow.hidden = true;
    },
    relabel() {
      if (current) showSample(current);
      void refreshSamples();
    },
  };
}
