// @ts-check
// Recording in the browser: MediaRecorder captures the microphone, an
// AnalyserNode drives a level meter, and the take is turned into a mono WAV
// (the server takes WAV, not the WebM/Opus browsers record).

const MAX_SECONDS = 60;
const WAV_RATE = 24000;

export class Recorder {
  /**
   * @param {HTMLMeterElement} meter
   * @param {(seconds: number) => void} onTick
   * @param {() => void} onLimit called when the take reaches the length limit
   */
  constructor(meter, onTick, onLimit) {
    /** @private */ this.meter = meter;
    /** @private */ this.onTick = onTick;
    /** @private */ this.onLimit = onLimit;
    /** @private @type {MediaStream | null} */ this.stream = null;
    /** @private @type {MediaRecorder | null} */ this.rec = null;
    /** @private @type {AudioContext | null} */ this.audio = null;
    /** @private @type {Blob[]} */ this.chunks = [];
    /** @private */ this.frame = 0;
    /** @private */ this.startedAt = 0;
  }

  static supported() {
    return typeof MediaRecorder !== 'undefined' && Boolean(navigator.mediaDevices?.getUserMedia);
  }

  get recording() {
    return this.rec?.state === 'recording';
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: true },
    });
    this.audio = new AudioContext();
    const analyser = this.audio.createAnalyser();
    analyser.fftSize = 1024;
    this.audio.createMediaStreamSource(this.stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    this.chunks = [];
    this.rec = new MediaRecorder(this.stream);
    this.rec.addEventListener('dataavailable', (ev) => {
      if (ev.data.size) this.chunks.push(ev.data);
    });
    this.rec.start(250);
    this.startedAt = performance.now();
    const tick = () => {
      analyser.getFloatTimeDomainData(buf);
      let peak = 0;
      for (const x of buf) peak = Math.max(peak, Math.abs(x));
      this.meter.value = Math.min(1, peak);
      const sec = (performance.now() - this.startedAt) / 1000;
      this.onTick(sec);
      if (sec >= MAX_SECONDS) this.onLimit();
      else this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  /**
   * Stops and returns the take as a WAV file.
   * @param {string} name
   * @returns {Promise<File>}
   */
  async stop(name) {
    const rec = this.rec;
    if (!rec) throw new Error('not recording');
    const stopped = new Promise((resolve) => rec.addEventListener('stop', resolve, { once: true }));
    if (rec.state !== 'inactive') rec.stop();
    await stopped;
    cancelAnimationFrame(this.frame);
    this.meter.value = 0;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    const recorded = new Blob(this.chunks, { type: rec.mimeType });
    const ctx = this.audio ?? new AudioContext();
    try {
      const decoded = await ctx.decodeAudioData(await recorded.arrayBuffer());
      return new File([await toWav(decoded)], name, { type: 'audio/wav' });
    } finally {
      await ctx.close();
      this.rec = null;
      this.audio = null;
      this.stream = null;
    }
  }
}

/**
 * Mixes to mono at 24 kHz and writes 16-bit PCM WAV.
 * @param {AudioBuffer} input
 * @returns {Promise<Blob>}
 */
async function toWav(input) {
  const length = Math.max(1, Math.ceil(input.duration * WAV_RATE));
  const off = new OfflineAudioContext(1, length, WAV_RATE);
  const src = off.createBufferSource();
  src.buffer = input;
  src.connect(off.destination);
  src.start();
  const mono = (await off.startRendering()).getChannelData(0);
  const out = new DataView(new ArrayBuffer(44 + mono.length * 2));
  /** @param {number} at @param {string} s */
  const ascii = (at, s) => {
    for (let i = 0; i < s.length; i++) out.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  out.setUint32(4, 36 + mono.length * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  out.setUint32(16, 16, true);
  out.setUint16(20, 1, true);
  out.setUint16(22, 1, true);
  out.setUint32(24, WAV_RATE, true);
  out.setUint32(28, WAV_RATE * 2, true);
  out.setUint16(32, 2, true);
  out.setUint16(34, 16, true);
  ascii(36, 'data');
  out.setUint32(40, mono.length * 2, true);
  for (let i = 0; i < mono.length; i++) {
    const s = Math.max(-1, Math.min(1, mono[i] ?? 0));
    out.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([out.buffer], { type: 'audio/wav' });
}
