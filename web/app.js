// Timbre web page: plain ES module, no build step, no dependencies.
// Talks to the JSON API under /api with a Bearer access token kept in localStorage.

const DEFAULT_TEXT = '今天天气怎么样？';
const STORE_KEY = 'timbre.session';
const POLL_LIMIT_MS = 10 * 60 * 1000;

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** Creates an element: h('div', {class: 'x', onclick: fn}, 'text', child…). Text is never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return el;
}

// ---------------------------------------------------------------- session

let session = loadSession();

function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
  } catch {
    return null;
  }
}

function saveSession(s) {
  session = s;
  if (s) localStorage.setItem(STORE_KEY, JSON.stringify(s));
  else localStorage.removeItem(STORE_KEY);
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.msg)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.info = this.body.error_info;
    this.requestId = this.body.request_id;
  }
}

async function readBody(res) {
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      return await res.json();
    } catch {
      return null;
    }
  }
  const text = await res.text().catch(() => '');
  return { message: text.slice(0, 300) || res.statusText || `HTTP ${res.status}` };
}

let refreshing = null;

/** Trades the refresh token for a new pair; one refresh at a time. */
function refreshTokens() {
  if (!refreshing) {
    refreshing = (async () => {
      if (!session?.refresh_token) throw new ApiError(401, { message: 'Please log in again' });
      const res = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { Authorization: `Bearer ${session.refresh_token}` },
      });
      const body = await readBody(res);
      if (!res.ok) throw new ApiError(res.status, body);
      saveSession({
        ...session,
        access_token: body.access_token,
        refresh_token: body.refresh_token,
      });
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/**
 * Calls the API. `json` sends a JSON body, `form` a FormData; `blob: true` returns the
 * response body as a Blob. Errors throw ApiError with the envelope's message and error_info.
 * An expired access token is refreshed once, transparently.
 */
async function api(
  path,
  { method = 'GET', json, form, blob = false, auth = true } = {},
  retry = true,
) {
  const headers = {};
  if (auth && session?.access_token) headers.Authorization = `Bearer ${session.access_token}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, {
      message: 'Cannot reach the server',
      error_info: 'check your connection and try again',
    });
  }
  if (res.status === 401 && auth && retry) {
    const errBody = await readBody(res);
    const why = errBody?.msg || errBody?.message || '';
    if (/expired/i.test(why) && session?.refresh_token) {
      try {
        await refreshTokens();
      } catch {
        signOut('Your session has ended. Please log in again.');
        throw new ApiError(401, errBody);
      }
      return api(path, { method, json, form, blob, auth }, false);
    }
    if (session) signOut(`Please log in again (${why || 'not authorised'}).`);
    throw new ApiError(401, errBody);
  }
  if (!res.ok) throw new ApiError(res.status, await readBody(res));
  if (blob) return res.blob();
  return readBody(res);
}

// ---------------------------------------------------------------- messages

/** Shows an error (envelope message + error_info) or a success note in a `.msg` element. */
function showMsg(el, what, kind) {
  if (!el) return;
  el.replaceChildren();
  el.className = 'msg';
  if (!what) return;
  if (what instanceof Error) {
    el.classList.add('msg-error');
    const status = what.status ? ` (${what.status})` : '';
    el.append(h('strong', {}, what.message + status));
    if (what.info) el.append(h('div', { class: 'msg-info' }, what.info));
    const results = what.body?.results;
    if (Array.isArray(results)) {
      el.append(
        h(
          'ul',
          {},
          results.map((r) =>
            h('li', {}, `#${r.index + 1}: ${r.message}${r.error_info ? ' — ' + r.error_info : ''}`),
          ),
        ),
      );
    }
    if (what.requestId) el.append(h('div', { class: 'msg-ref' }, `request id ${what.requestId}`));
    el.setAttribute('role', 'alert');
    return;
  }
  el.classList.add(kind === 'info' ? 'msg-info-box' : 'msg-ok');
  el.append(what);
  el.setAttribute('role', 'status');
}

let bannerTimer;
function banner(text, kind = 'info') {
  const el = $('#banner');
  el.textContent = text;
  el.className = `banner banner-${kind}`;
  el.hidden = !text;
  window.clearTimeout(bannerTimer);
  if (text) bannerTimer = window.setTimeout(() => (el.hidden = true), 6000);
}

/** Disables a button while `fn` runs and shows its errors in `msgEl`. */
async function busy(button, msgEl, fn) {
  const label = button?.textContent;
  if (button) {
    button.disabled = true;
    button.classList.add('loading');
  }
  showMsg(msgEl, null);
  try {
    return await fn();
  } catch (err) {
    showMsg(msgEl, err instanceof Error ? err : new Error(String(err)));
    if (!(err instanceof ApiError)) console.error(err);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.classList.remove('loading');
      button.textContent = label;
    }
  }
}

// ---------------------------------------------------------------- formatting

function identifierType(value) {
  const v = value.trim();
  if (/^1[3-9]\d{9}$/.test(v)) return 'phone';
  if (v.includes('@')) return 'email';
  return null;
}

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function fmtDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function fmtDuration(sec) {
  if (typeof sec !== 'number') return '—';
  if (sec < 60) return `${sec.toFixed(1)} s`;
  return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
}

function fmtRate(hz) {
  return hz >= 1000 ? `${(hz / 1000).toFixed(hz % 1000 ? 1 : 0)} kHz` : `${hz} Hz`;
}

function fmtChannels(n) {
  return n === 1 ? 'mono' : n === 2 ? 'stereo' : `${n} channels`;
}

/** One <dt>/<dd> pair of a facts list, wrapped so it can be a grid cell. */
function fact([k, v]) {
  return h('div', {}, h('dt', {}, k), h('dd', {}, v));
}

const GENDER_LABEL = { male: 'Male', female: 'Female', other: 'Other' };

// ---------------------------------------------------------------- audio

const objectUrls = new Map();

/** Plays a blob in the given <audio>, releasing the previous object URL of that element. */
function playBlob(audio, blob) {
  const old = objectUrls.get(audio);
  if (old) URL.revokeObjectURL(old);
  const url = URL.createObjectURL(blob);
  objectUrls.set(audio, url);
  audio.src = url;
  audio.hidden = false;
  // Autoplay may be refused; the controls are there either way.
  audio.play().catch(() => undefined);
}

async function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// ---------------------------------------------------------------- views

function showView(name) {
  const authed = Boolean(session?.access_token);
  if (!authed) name = 'auth';
  else if (name === 'auth') name = 'create';
  for (const v of $$('.view')) v.hidden = v.dataset.name !== name;
  for (const b of $$('.nav-link')) b.classList.toggle('active', b.dataset.view === name);
  $('#nav').hidden = !authed;
  $('#user-box').hidden = !authed;
  $('#user-name').textContent = session?.username || '';
  if (authed && window.location.hash !== `#${name}`) {
    window.history.replaceState(null, '', `#${name}`);
  }
  if (name === 'create') void refreshSamples();
  if (name === 'library') void loadLibrary();
  if (name === 'files') void loadFiles();
}

function signOut(reason) {
  saveSession(null);
  stopAllPolls();
  resetUserState();
  showView('auth');
  if (reason) banner(reason, 'warn');
}

/** Forgets everything the previous user saw, and shows the log-in form. */
function resetUserState() {
  window.clearTimeout(libraryTimer);
  currentSample = null;
  myAudio = [];
  auditionFiles = new Map();
  libraryPage = 1;
  filesPage = 1;
  for (const id of ['#create-progress', '#batch-progress', '#voice-grid', '#file-list']) {
    $(id).replaceChildren();
  }
  $('#sample-panel').hidden = true;
  for (const el of $$('.msg')) showMsg(el, null);
  for (const form of $$('form')) form.reset();
  $('[data-auth-tab=login]').click();
}

// ---------------------------------------------------------------- auth

function wireTypeHint(form) {
  const input = form.elements.identifier;
  const hint = $('[data-type-hint]', form);
  const update = () => {
    const t = identifierType(input.value);
    hint.textContent = !input.value.trim()
      ? ''
      : t === 'phone'
        ? 'Mobile phone number'
        : t === 'email'
          ? 'E-mail address'
          : 'Enter an e-mail address or a mainland China mobile number (11 digits, starting with 1).';
    hint.classList.toggle('hint-warn', Boolean(input.value.trim()) && !t);
  };
  input.addEventListener('input', update);
}

function setupAuth() {
  for (const tab of $$('[data-auth-tab]')) {
    tab.addEventListener('click', () => {
      const which = tab.dataset.authTab;
      for (const t of $$('[data-auth-tab]')) t.classList.toggle('active', t === tab);
      $('#login-form').hidden = which !== 'login';
      $('#register-form').hidden = which !== 'register';
    });
  }
  wireTypeHint($('#login-form'));
  wireTypeHint($('#register-form'));

  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    await busy($('button[type=submit]', form), $('[data-msg]', form), () =>
      logIn(form.elements.identifier.value.trim(), form.elements.password.value),
    );
  });

  $('#register-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = form.elements;
    const identifier = f.identifier.value.trim();
    await busy($('button[type=submit]', form), $('[data-msg]', form), async () => {
      const type = identifierType(identifier);
      if (!type) throw new ApiError(0, { message: 'Enter an e-mail address or a mobile number' });
      await api('/api/auth/register', {
        method: 'POST',
        auth: false,
        json: {
          username: f.username.value.trim(),
          identifier,
          type,
          password: f.password.value,
          code: f.code.value.trim(),
        },
      });
      await logIn(identifier, f.password.value);
      banner(`Welcome, ${f.username.value.trim()}! Start by uploading a voice sample.`, 'ok');
    });
  });

  $('#send-captcha').addEventListener('click', async (ev) => {
    const form = $('#register-form');
    const identifier = form.elements.identifier.value.trim();
    await busy(ev.currentTarget, $('[data-msg]', form), async () => {
      const type = identifierType(identifier);
      if (!type) throw new ApiError(0, { message: 'Enter an e-mail address or a mobile number' });
      const r = await api('/api/auth/send_captcha', {
        method: 'POST',
        auth: false,
        json: { identifier, type },
      });
      if (r.captcha) form.elements.code.value = r.captcha;
      showMsg(
        $('[data-msg]', form),
        r.is_first_use
          ? `A code was sent to ${identifier}.`
          : `${identifier} already has an account — log in instead. A code was sent anyway.`,
        'info',
      );
    });
  });

  $('#logout').addEventListener('click', () => signOut('You are logged out.'));
}

async function logIn(identifier, password) {
  const type = identifierType(identifier);
  if (!type) throw new ApiError(0, { message: 'Enter an e-mail address or a mobile number' });
  const r = await api('/api/auth/login', {
    method: 'POST',
    auth: false,
    json: { identifier, type, password },
  });
  saveSession({
    access_token: r.access_token,
    refresh_token: r.refresh_token,
    user_id: r.user_id,
    username: r.username,
  });
  showView('create');
}

// ---------------------------------------------------------------- upload & quality

let currentSample = null;

function setupUpload() {
  const dz = $('#dropzone');
  const input = $('#file-input');
  input.addEventListener('change', () => {
    if (input.files?.[0]) void upload(input.files[0]);
    input.value = '';
  });
  dz.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      input.click();
    }
  });
  for (const type of ['dragenter', 'dragover']) {
    dz.addEventListener(type, (ev) => {
      ev.preventDefault();
      dz.classList.add('drag');
    });
  }
  for (const type of ['dragleave', 'drop']) {
    dz.addEventListener(type, () => dz.classList.remove('drag'));
  }
  dz.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const file = ev.dataTransfer?.files?.[0];
    if (file) void upload(file);
  });

  $('#assess').addEventListener('click', (ev) => {
    if (currentSample) void assess(currentSample, ev.currentTarget);
  });
  $('#sample-play').addEventListener('click', async (ev) => {
    if (!currentSample) return;
    await busy(ev.currentTarget, $('#assess-msg'), async () => {
      const blob = await api(`/api/file/download/${currentSample.file_id}`, { blob: true });
      playBlob($('#sample-audio'), blob);
    });
  });
}

async function upload(file) {
  const msg = $('#upload-msg');
  const dz = $('#dropzone');
  dz.classList.add('uploading');
  $('.dz-title', dz).textContent = `Uploading ${file.name}…`;
  showMsg(msg, null);
  try {
    const form = new FormData();
    form.append('is_public', $('#upload-public').checked ? 'true' : 'false');
    const description = $('#upload-description').value.trim();
    if (description) form.append('description', description);
    form.append('file', file, file.name);
    const r = await api('/api/file/upload', { method: 'POST', form });
    showSample(r);
    showMsg(msg, `Uploaded ${r.file_name} (${fmtBytes(r.file_size)}).`);
    await refreshSamples(r.file_id);
  } catch (err) {
    showMsg(msg, err);
  } finally {
    dz.classList.remove('uploading');
    $('.dz-title', dz).textContent = 'Drop an audio file here';
  }
}

function showSample(file) {
  currentSample = file;
  $('#sample-panel').hidden = false;
  $('#sample-name').textContent = file.file_name;
  const a = file.audio;
  const facts = a
    ? [
        ['Duration', fmtDuration(a.duration_sec)],
        ['Codec', a.codec],
        ['Sample rate', fmtRate(a.sample_rate)],
        ['Channels', fmtChannels(a.channels)],
        ['Size', fmtBytes(file.file_size)],
        ['Type', file.file_type],
      ]
    : [
        ['Type', file.file_type],
        ['Size', fmtBytes(file.file_size)],
        ['Audio', 'not an audio file'],
      ];
  $('#sample-info').replaceChildren(...facts.map(fact));
  $('#quality').hidden = true;
  $('#sample-audio').hidden = true;
  showMsg($('#assess-msg'), null);
  $('#assess').disabled = !a;
}

const VERDICT_LABEL = {
  good: 'Good sample',
  too_short: 'Too short',
  too_long: 'Too long',
  silent: 'Silent',
  not_speech: 'Not speech',
  noisy: 'Too noisy',
  clipped: 'Distorted (clipping)',
  corrupt: 'Unreadable file',
  wrong_type: 'Not an audio file',
};

async function assess(file, button) {
  await busy(button, $('#assess-msg'), async () => {
    const r = await api('/api/voice/assess_sample', {
      method: 'POST',
      json: { audio_file_id: file.file_id },
    });
    renderQuality($('#quality'), r.quality);
  });
}

function renderQuality(box, q) {
  const cls = q.usable ? (q.score >= 80 ? 'q-good' : 'q-ok') : 'q-bad';
  const label = VERDICT_LABEL[q.verdict] || q.verdict;
  const m = q.metrics;
  box.replaceChildren(
    h(
      'div',
      { class: `q-head ${cls}` },
      h('span', { class: 'q-score', title: 'score out of 100' }, String(Math.round(q.score))),
      h(
        'div',
        {},
        h('div', { class: 'q-verdict' }, label),
        h(
          'div',
          { class: 'muted small' },
          q.usable ? 'Usable for cloning' : 'Not usable for cloning — see the advice',
        ),
      ),
    ),
    h(
      'div',
      { class: 'q-meter', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100 },
      h('span', { style: `width:${Math.max(2, Math.min(100, q.score))}%` }),
    ),
    q.advice?.length
      ? h(
          'ul',
          { class: 'advice' },
          q.advice.map((a) => h('li', {}, a)),
        )
      : h('p', { class: 'muted' }, 'No advice: this sample is fine as it is.'),
    m
      ? h(
          'details',
          { class: 'metrics' },
          h('summary', {}, 'Measurements'),
          h(
            'dl',
            { class: 'facts' },
            [
              ['Speech', `${m.speechSec} s of ${m.durationSec} s`],
              ['Signal-to-noise', `${m.snrDb} dB`],
              ['Speech level', `${m.speechRmsDbfs} dBFS`],
              ['Peak', `${m.peakDbfs} dBFS`],
              ['Silence', `${Math.round(m.silenceRatio * 100)}%`],
              ['Median pitch', m.f0MedianHz ? `${m.f0MedianHz} Hz` : '—'],
            ].map(fact),
          ),
        )
      : null,
  );
  box.hidden = false;
}

// ---------------------------------------------------------------- sample pickers

let myAudio = [];
/** file id → name of my voice whose audition clip it is. */
let auditionFiles = new Map();

async function loadAuditionFiles() {
  const r = await api('/api/voice/my_voices');
  auditionFiles = new Map(
    r.voices.filter((v) => v.voice_audition_url).map((v) => [v.voice_audition_url, v.voice_name]),
  );
}

/** Reloads the caller's audio files into the create and batch forms. */
async function refreshSamples(selectId) {
  try {
    const [r] = await Promise.all([
      api('/api/file/list', {
        method: 'POST',
        json: { page: 1, page_size: 100, only_mine: true },
      }),
      loadAuditionFiles(),
    ]);
    // Audition clips the service made are not samples.
    myAudio = r.files.filter((f) => f.file_type.startsWith('audio/') && f.origin !== 'audition');
  } catch (err) {
    showMsg($('[data-msg]', $('#create-form')), err);
    return;
  }
  const select = $('#create-sample');
  const previous = selectId || select.value;
  select.replaceChildren(
    ...(myAudio.length
      ? myAudio.map((f) =>
          h('option', { value: f.file_id }, `${f.file_name} · ${fmtDate(f.created_at)}`),
        )
      : [h('option', { value: '' }, 'Upload a sample first')]),
  );
  if (previous && myAudio.some((f) => f.file_id === previous)) select.value = previous;

  const list = $('#batch-samples');
  const ticked = new Set($$('input[type=checkbox]:checked', list).map((c) => c.value));
  list.replaceChildren(
    ...(myAudio.length
      ? myAudio.map((f) => {
          const base = f.file_name.replace(/\.[^.]+$/, '').slice(0, 50);
          return h(
            'div',
            { class: 'batch-item' },
            h(
              'label',
              { class: 'check' },
              h('input', { type: 'checkbox', value: f.file_id, checked: ticked.has(f.file_id) }),
              h('span', { class: 'file-name' }, f.file_name),
            ),
            h('input', {
              class: 'grow',
              'data-name-for': f.file_id,
              value: base,
              maxlength: 50,
              'aria-label': `Voice name for ${f.file_name}`,
            }),
          );
        })
      : [h('p', { class: 'muted' }, 'Your uploaded audio files will appear here.')]),
  );
}

// ---------------------------------------------------------------- creating voices

const polls = new Set();
function stopAllPolls() {
  for (const p of polls) p.stopped = true;
  polls.clear();
}

const STEPS = ['pending', 'processing', 'ready'];
const STEP_LABEL = {
  pending: 'Queued',
  processing: 'Cloning & making the audition',
  ready: 'Ready',
  failed: 'Failed',
};

function progressView(name) {
  const el = h('div', { class: 'progress' });
  const title = h('div', { class: 'progress-title' }, name);
  const steps = h('ol', { class: 'steps' });
  const note = h('div', { class: 'msg' });
  const actions = h('div', { class: 'row wrap' });
  el.append(title, steps, note, actions);
  const set = (status, voice, err) => {
    const failed = status === 'failed';
    const at = failed ? 2 : STEPS.indexOf(status);
    steps.hidden = status === 'rejected';
    steps.replaceChildren(
      ...STEPS.map((s, i) => {
        const label = failed && i === 2 ? STEP_LABEL.failed : STEP_LABEL[s];
        let state = i < at ? 'done' : i === at ? 'current' : 'todo';
        if (failed) state = ['done', 'stopped', 'failed'][i];
        return h('li', { class: `step-${state}` }, label);
      }),
    );
    if (err) showMsg(note, err);
    else if (failed)
      showMsg(
        note,
        new ApiError(0, { message: 'create voice fail', error_info: voice?.error_info }),
      );
    else if (status === 'ready') showMsg(note, 'Your voice is ready.');
    else showMsg(note, status === 'pending' ? 'Waiting for a worker…' : 'Working…', 'info');
    el.dataset.status = status;
  };
  return { el, set, actions };
}

/** Polls GET /api/voice/<id> until ready or failed, updating `view`. */
async function follow(voiceId, view) {
  const poll = { stopped: false };
  polls.add(poll);
  const started = Date.now();
  let delay = 700;
  try {
    for (;;) {
      if (poll.stopped) return null;
      let voice;
      try {
        ({ voice } = await api(`/api/voice/${voiceId}`));
      } catch (err) {
        view.set('failed', null, err);
        return null;
      }
      view.set(voice.status, voice);
      if (voice.status === 'ready' || voice.status === 'failed') return voice;
      if (Date.now() - started > POLL_LIMIT_MS) {
        view.set(voice.status, voice, new Error('Still not ready after 10 minutes; check later.'));
        return null;
      }
      await new Promise((r) => window.setTimeout(r, delay));
      delay = Math.min(delay * 1.3, 3000);
    }
  } finally {
    polls.delete(poll);
  }
}

function readyActions(view, voice) {
  const audio = h('audio', { controls: true, hidden: true });
  const msg = h('div', { class: 'msg' });
  const play = h('button', { type: 'button', class: 'btn' }, '▶ Play audition');
  play.addEventListener('click', () =>
    busy(play, msg, async () =>
      playBlob(audio, await api(`/api/voice/${voice.voice_id}/audition`, { blob: true })),
    ),
  );
  const open = h('button', { type: 'button', class: 'btn btn-ghost' }, 'Open in library →');
  open.addEventListener('click', () => {
    const f = $('#library-filters');
    f.elements.key_word.value = voice.voice_name;
    f.elements.mine.checked = true;
    libraryPage = 1;
    showView('library');
  });
  view.actions.replaceChildren(play, open);
  view.el.append(audio, msg);
}

function setupCreate() {
  $('#create-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = form.elements;
    const target = $('#create-progress');
    await busy($('button[type=submit]', form), $('[data-msg]', form), async () => {
      const r = await api('/api/voice/create_voice?async=1', {
        method: 'POST',
        json: {
          audio_file_id: f.audio_file_id.value,
          voice_name: f.voice_name.value.trim(),
          voice_gender: f.voice_gender.value,
          voice_description: f.voice_description.value.trim(),
          is_public: f.is_public.checked,
        },
      });
      const view = progressView(f.voice_name.value.trim());
      target.replaceChildren(view.el);
      const voice = r.voice ?? { status: r.status };
      view.set(voice.status || r.status || 'pending', voice);
      if (voice.status === 'ready') readyActions(view, voice);
      else {
        void follow(r.voice_id, view).then((v) => {
          if (v?.status === 'ready') readyActions(view, v);
        });
      }
    });
  });

  $('#batch-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = form.elements;
    const picked = $$('#batch-samples input[type=checkbox]:checked').map((c) => ({
      id: c.value,
      name: $(`[data-name-for="${c.value}"]`).value.trim(),
    }));
    const target = $('#batch-progress');
    await busy($('button[type=submit]', form), $('[data-msg]', form), async () => {
      if (!picked.length) throw new ApiError(0, { message: 'Tick at least one sample' });
      const items = picked.map((p) => ({
        audio_file_id: p.id,
        voice_name: p.name,
        voice_gender: f.voice_gender.value,
        voice_description: f.voice_description.value.trim(),
        is_public: f.is_public.checked,
      }));
      const r = await api('/api/voice/batch_create', { method: 'POST', json: { voices: items } });
      showMsg($('[data-msg]', form), r.message);
      target.replaceChildren();
      for (const res of r.results) {
        const view = progressView(items[res.index]?.voice_name || `#${res.index + 1}`);
        target.append(view.el);
        if (res.code !== 202 || !res.voice_id) {
          view.set('rejected', null, new ApiError(res.code, res));
          continue;
        }
        view.set(res.status || 'pending');
        void follow(res.voice_id, view).then((v) => {
          if (v?.status === 'ready') readyActions(view, v);
        });
      }
    });
  });
}

// ---------------------------------------------------------------- library

let libraryPage = 1;
let libraryTimer;

function setupLibrary() {
  const form = $('#library-filters');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    libraryPage = 1;
    void loadLibrary();
  });
  for (const name of ['gender', 'page_size', 'mine']) {
    form.elements[name].addEventListener('change', () => {
      libraryPage = 1;
      void loadLibrary();
    });
  }
  $('#library-pager [data-page=prev]').addEventListener('click', () => {
    libraryPage = Math.max(1, libraryPage - 1);
    void loadLibrary();
  });
  $('#library-pager [data-page=next]').addEventListener('click', () => {
    libraryPage += 1;
    void loadLibrary();
  });
}

async function loadLibrary() {
  const f = $('#library-filters').elements;
  const grid = $('#voice-grid');
  const msg = $('#library-msg');
  showMsg(msg, null);
  grid.setAttribute('aria-busy', 'true');
  try {
    const r = await api('/api/voice/get_voices', {
      method: 'POST',
      json: {
        key_word: f.key_word.value.trim(),
        gender: f.gender.value,
        page: libraryPage,
        page_size: Number(f.page_size.value),
        created_by_current_user: f.mine.checked,
      },
    });
    if (!r.voices.length && libraryPage > 1) {
      libraryPage -= 1;
      return loadLibrary();
    }
    grid.replaceChildren(...r.voices.map(voiceCard));
    window.clearTimeout(libraryTimer);
    if (r.voices.some((v) => v.status === 'pending' || v.status === 'processing')) {
      libraryTimer = window.setTimeout(() => {
        if (!$('#view-library').hidden) void loadLibrary();
      }, 3000);
    }
    if (!r.voices.length) {
      grid.append(
        h(
          'div',
          { class: 'empty card' },
          h('p', {}, 'No voice found.'),
          h('p', { class: 'muted' }, 'Try another search, or create a voice from a sample.'),
        ),
      );
    }
    const pager = $('#library-pager');
    $('[data-page-label]', pager).textContent = `Page ${libraryPage}`;
    $('[data-page=prev]', pager).disabled = libraryPage <= 1;
    $('[data-page=next]', pager).disabled = !r.has_next;
    pager.hidden = libraryPage <= 1 && !r.has_next;
  } catch (err) {
    showMsg(msg, err);
  } finally {
    grid.removeAttribute('aria-busy');
  }
  return undefined;
}

function badge(text, cls) {
  return h('span', { class: `badge ${cls}` }, text);
}

function voiceCard(v) {
  const mine = v.is_created_by_current_user;
  const ready = v.status === 'ready';
  const msg = h('div', { class: 'msg' });
  const audio = h('audio', { controls: true, hidden: true });

  const title = h('h3', { class: 'voice-name' }, v.voice_name);
  const desc = h('p', { class: 'voice-desc' }, v.voice_description);
  const badges = h(
    'div',
    { class: 'badges' },
    badge(v.status, `st-${v.status}`),
    badge(GENDER_LABEL[v.voice_gender] || v.voice_gender, 'b-gender'),
    v.is_public ? badge('Public', 'b-public') : mine ? badge('Private', 'b-private') : null,
    v.is_shared_with_current_user ? badge('Shared with you', 'b-shared') : null,
  );
  const meta = h(
    'div',
    { class: 'voice-meta muted small' },
    mine ? 'by you' : `by ${v.created_by_username}`,
    ' · ',
    fmtDate(v.created_at),
  );

  const card = h('article', { class: 'voice-card card', dataset: { voiceId: v.voice_id } });
  card.append(badges, title, meta, desc);

  if (v.status === 'failed') {
    card.append(
      h(
        'div',
        { class: 'msg msg-error' },
        h('strong', {}, 'Creation failed'),
        h('div', { class: 'msg-info' }, v.error_info || 'no reason given'),
      ),
    );
  } else if (!ready) {
    card.append(
      h(
        'div',
        { class: 'msg msg-info-box' },
        `Still ${v.status === 'pending' ? 'queued' : 'being made'}… this card updates by itself.`,
      ),
    );
  }

  if (ready) {
    const play = h('button', { type: 'button', class: 'btn' }, '▶ Audition');
    play.addEventListener('click', () =>
      busy(play, msg, async () =>
        playBlob(audio, await api(`/api/voice/${v.voice_id}/audition`, { blob: true })),
      ),
    );
    const text = h('textarea', {
      rows: 2,
      maxlength: 2000,
      'aria-label': `Text for ${v.voice_name} to speak`,
    });
    text.value = DEFAULT_TEXT;
    const speak = h('button', { type: 'button', class: 'btn btn-primary' }, 'Speak');
    speak.addEventListener('click', () =>
      busy(speak, msg, async () => {
        const blob = await api(`/api/voice/${v.voice_id}/synthesize`, {
          method: 'POST',
          json: { text: text.value, format: 'mp3' },
          blob: true,
        });
        playBlob(audio, blob);
      }),
    );
    card.append(
      h('div', { class: 'row wrap' }, play),
      h(
        'div',
        { class: 'speak' },
        h('span', { class: 'small' }, 'Type something for this voice to say'),
        text,
        speak,
      ),
      audio,
    );
  }

  if (mine) card.append(ownerPanels(v, msg));
  card.append(msg);
  return card;
}

function ownerPanels(v, msg) {
  const wrap = h('div', { class: 'owner-tools' });

  // edit
  const edit = h('form', { class: 'form compact' });
  edit.append(
    h('label', {}, 'Name', h('input', { name: 'voice_name', value: v.voice_name, maxlength: 50 })),
    h(
      'label',
      {},
      'Gender',
      h(
        'select',
        { name: 'voice_gender' },
        ['male', 'female', 'other'].map((g) =>
          h('option', { value: g, selected: g === v.voice_gender }, GENDER_LABEL[g]),
        ),
      ),
    ),
    h(
      'label',
      {},
      'Description',
      h('textarea', { name: 'voice_description', rows: 2 }, v.voice_description),
    ),
    h(
      'label',
      { class: 'check' },
      h('input', { type: 'checkbox', name: 'is_public', checked: v.is_public }),
      'Public',
    ),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save'),
  );
  edit.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const e = edit.elements;
    void busy($('button[type=submit]', edit), msg, async () => {
      const r = await api(`/api/voice/${v.voice_id}`, {
        method: 'PUT',
        json: {
          voice_name: e.voice_name.value.trim(),
          voice_gender: e.voice_gender.value,
          voice_description: e.voice_description.value.trim(),
          is_public: e.is_public.checked,
        },
      });
      const card = edit.closest('.voice-card');
      const fresh = voiceCard(r.voice);
      card.replaceWith(fresh);
      showMsg($(':scope > .msg', fresh), 'Saved.');
    });
  });

  // share
  const shareList = h('ul', { class: 'share-list' });
  const shareForm = h(
    'form',
    { class: 'row' },
    h('input', {
      name: 'identifier',
      class: 'grow',
      placeholder: 'their e-mail or phone',
      'aria-label': 'Share with (e-mail or phone)',
      required: true,
    }),
    h('button', { type: 'submit', class: 'btn' }, 'Share'),
  );
  const loadShares = async () => {
    const r = await api(`/api/voice/${v.voice_id}/shares`);
    shareList.replaceChildren(
      ...(r.shares.length
        ? r.shares.map((s) => {
            const revoke = h(
              'button',
              { type: 'button', class: 'btn btn-ghost btn-small' },
              'Revoke',
            );
            revoke.addEventListener('click', () =>
              busy(revoke, msg, async () => {
                await api(`/api/voice/${v.voice_id}/shares/${s.user_id}`, { method: 'DELETE' });
                showMsg(msg, `No longer shared with ${s.username}.`);
                await loadShares();
              }),
            );
            return h('li', {}, h('span', {}, s.username), revoke);
          })
        : [h('li', { class: 'muted' }, 'Not shared with anyone.')]),
    );
  };
  shareForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const identifier = shareForm.elements.identifier.value.trim();
    void busy($('button', shareForm), msg, async () => {
      const type = identifierType(identifier);
      if (!type) throw new ApiError(0, { message: 'Enter an e-mail address or a mobile number' });
      const r = await api(`/api/voice/${v.voice_id}/shares`, {
        method: 'POST',
        json: { identifier, type },
      });
      shareForm.reset();
      showMsg(msg, `Shared with ${r.share.username}.`);
      await loadShares();
    });
  });
  const share = h('details', { class: 'panel' }, h('summary', {}, 'Share'));
  share.append(shareForm, shareList);
  share.addEventListener('toggle', () => {
    if (share.open) void busy(null, msg, loadShares);
  });

  // delete
  const del = h('button', { type: 'button', class: 'btn btn-danger btn-small' }, 'Delete voice');
  del.addEventListener('click', () => {
    if (!window.confirm(`Delete the voice "${v.voice_name}"? This cannot be undone.`)) return;
    void busy(del, msg, async () => {
      await api(`/api/voice/${v.voice_id}`, { method: 'DELETE' });
      banner(`Deleted "${v.voice_name}".`, 'ok');
      await loadLibrary();
    });
  });

  wrap.append(
    h('details', { class: 'panel' }, h('summary', {}, 'Edit'), edit),
    share,
    h('div', { class: 'row end' }, del),
  );
  return wrap;
}

// ---------------------------------------------------------------- files

let filesPage = 1;

function setupFiles() {
  $('#files-mine').addEventListener('change', () => {
    filesPage = 1;
    void loadFiles();
  });
  $('#files-pager [data-page=prev]').addEventListener('click', () => {
    filesPage = Math.max(1, filesPage - 1);
    void loadFiles();
  });
  $('#files-pager [data-page=next]').addEventListener('click', () => {
    filesPage += 1;
    void loadFiles();
  });
}

async function loadFiles() {
  const list = $('#file-list');
  const msg = $('#files-msg');
  showMsg(msg, null);
  try {
    const [r] = await Promise.all([
      api('/api/file/list', {
        method: 'POST',
        json: { page: filesPage, page_size: 10, only_mine: $('#files-mine').checked },
      }),
      loadAuditionFiles(),
    ]);
    if (!r.files.length && filesPage > 1) {
      filesPage = Math.max(1, r.total_pages);
      return loadFiles();
    }
    list.replaceChildren(
      ...(r.files.length
        ? r.files.map(fileRow)
        : [
            h('li', { class: 'empty muted' }, 'No files yet. Upload a sample on “Create a voice”.'),
          ]),
    );
    const pager = $('#files-pager');
    $('[data-page-label]', pager).textContent =
      `Page ${r.current_page} of ${Math.max(1, r.total_pages)} · ${r.total_items} file${r.total_items === 1 ? '' : 's'}`;
    $('[data-page=prev]', pager).disabled = filesPage <= 1;
    $('[data-page=next]', pager).disabled = !r.has_next;
    for (const b of $$('button', pager)) b.hidden = r.total_pages <= 1;
  } catch (err) {
    showMsg(msg, err);
  }
  return undefined;
}

function fileRow(f) {
  const msg = h('div', { class: 'msg' });
  const li = h('li', { class: 'file-row' });
  const icon = f.file_type.startsWith('audio/')
    ? '♪'
    : f.file_type.startsWith('image/')
      ? '▣'
      : '□';
  const name = h('span', { class: 'file-name' }, f.file_name);
  const info = h(
    'div',
    { class: 'file-info' },
    h('div', { class: 'file-title' }, h('span', { class: 'file-icon' }, icon), name),
    h(
      'div',
      { class: 'muted small' },
      `${f.file_type} · ${fmtBytes(f.file_size)} · ${fmtDate(f.created_at)}`,
      f.is_owner ? '' : ` · by ${f.created_by_username}`,
    ),
    f.origin === 'audition'
      ? h(
          'div',
          {},
          badge(
            auditionFiles.has(f.file_id)
              ? `Audition clip of “${auditionFiles.get(f.file_id)}”`
              : 'Audition clip',
            'b-audition',
          ),
        )
      : null,
    f.description ? h('div', { class: 'small' }, f.description) : null,
  );

  const download = h('button', { type: 'button', class: 'btn btn-small' }, 'Download');
  download.addEventListener('click', () =>
    busy(download, msg, async () =>
      saveBlob(await api(`/api/file/download/${f.file_id}`, { blob: true }), f.file_name),
    ),
  );
  const actions = h('div', { class: 'file-actions' }, download);

  if (f.is_owner) {
    const pub = h('input', { type: 'checkbox', checked: f.is_public });
    pub.addEventListener('change', () =>
      busy(null, msg, async () => {
        try {
          await api(`/api/file/update/${f.file_id}`, {
            method: 'PUT',
            json: { is_public: pub.checked },
          });
          f.is_public = pub.checked;
          showMsg(msg, pub.checked ? 'The file is public now.' : 'The file is private now.');
        } catch (err) {
          pub.checked = f.is_public;
          throw err;
        }
      }),
    );
    const rename = h('button', { type: 'button', class: 'btn btn-ghost btn-small' }, 'Rename');
    rename.addEventListener('click', () => {
      const input = h('input', { value: f.file_name, maxlength: 255, class: 'grow' });
      const save = h('button', { type: 'submit', class: 'btn btn-small btn-primary' }, 'Save');
      const cancel = h('button', { type: 'button', class: 'btn btn-ghost btn-small' }, 'Cancel');
      const form = h('form', { class: 'row rename' }, input, save, cancel);
      cancel.addEventListener('click', () => form.replaceWith(name));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        void busy(save, msg, async () => {
          const r = await api(`/api/file/update/${f.file_id}`, {
            method: 'PUT',
            json: { file_name: input.value.trim() },
          });
          f.file_name = r.file.file_name;
          name.textContent = f.file_name;
          form.replaceWith(name);
          showMsg(msg, 'Renamed.');
        });
      });
      name.replaceWith(form);
      input.focus();
      input.select();
    });
    const del = h('button', { type: 'button', class: 'btn btn-danger btn-small' }, 'Delete');
    del.addEventListener('click', () => {
      if (!window.confirm(`Delete "${f.file_name}"?`)) return;
      void busy(del, msg, async () => {
        await api(`/api/file/delete/${f.file_id}`, { method: 'DELETE' });
        banner(`Deleted "${f.file_name}".`, 'ok');
        await loadFiles();
      });
    });
    actions.append(h('label', { class: 'check small' }, pub, 'Public'), rename, del);
  }
  li.append(h('div', { class: 'file-main' }, info, actions), msg);
  return li;
}

// ---------------------------------------------------------------- start

async function start() {
  setupAuth();
  setupUpload();
  setupCreate();
  setupLibrary();
  setupFiles();
  for (const b of $$('.nav-link')) b.addEventListener('click', () => showView(b.dataset.view));
  window.addEventListener('hashchange', () => showView(window.location.hash.slice(1)));

  const wanted = window.location.hash.slice(1) || 'create';
  if (session?.access_token) {
    try {
      const r = await api('/api/auth/me');
      saveSession({ ...session, username: r.user.username, user_id: r.user.user_id });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      banner(err.message, 'warn');
    }
  }
  showView(wanted);
}

void start();
