import FFT from 'fft.js';
import { PitchDetector } from 'pitchy';

import { ANALYSIS_RATE, toAnalysisRate, type MonoPcm } from './decode.js';

/** Hop between analysis frames: 10 ms at 16 kHz. */
const HOP = 160;
/** Energy window: 25 ms. */
const ENERGY_WIN = 400;
/**
 * Pitch runs on the signal decimated to 8 kHz (F0 ≤ 500 Hz needs no more):
 * the same 64 ms window (two periods of a 60 Hz voice) in half the samples,
 * so the detector's FFT is half the size. It was 81 % of an assessment.
 */
const PITCH_DECIMATION = 2;
const PITCH_RATE = ANALYSIS_RATE / PITCH_DECIMATION;
const PITCH_WIN = 512;
/** Spectrum window: 32 ms. */
const FFT_SIZE = 512;
/**
 * Frames between spectra (40 ms): centroid and flatness are medians over the
 * active frames and inform the profile and the report, not the verdict.
 */
const SPECTRUM_STRIDE = 4;
/** Frames between pitch measurements (the rest are interpolated when their neighbours agree). */
const PITCH_STRIDE = 2;
/** Largest F0 change (semitones over 20 ms) bridged by interpolation. */
const MAX_INTERPOLATED_STEP = 1;
const MIN_F0 = 60;
const MAX_F0 = 500;
export const CLARITY_THRESHOLD = 0.8;
const SILENCE_DB = -120;

/** Per-frame measurements shared by the speaker profile and the quality check. */
export interface FrameTrack {
  hopSec: number;
  /** Frame level in dBFS (25 ms RMS), one per 10 ms. */
  levelDb: Float32Array;
  /** Whether the frame is judged active (speech or other signal above the noise floor). */
  active: Uint8Array;
  /** F0 in Hz for voiced active frames, 0 elsewhere. */
  f0: Float32Array;
  /** Level (dBFS) above which a frame counts as active. */
  activityThresholdDb: number;
}

/** What we measure about a voice (and about any recording). */
export interface SpeechAnalysis {
  durationSec: number;
  /** Seconds of active signal (frames above the activity threshold). */
  speechSec: number;
  rmsDbfs: number;
  peakDbfs: number;
  /** Median, 10th and 90th percentile F0 over voiced frames (Hz); null when nothing is voiced. */
  f0MedianHz: number | null;
  f0P10Hz: number | null;
  f0P90Hz: number | null;
  /** Voiced frames / active frames. */
  voicedRatio: number;
  /** Syllable-rate proxy: energy-envelope peaks per second of active signal. */
  speakingRate: number;
  /** Median spectral centroid (Hz) of active frames. */
  spectralCentroidHz: number;
  /** Median spectral flatness (0 = tonal, 1 = white noise) of active frames. */
  spectralFlatness: number;
  /** Median length (s) of runs of consecutive voiced frames. */
  voicedRunSec: number;
  /** Median absolute F0 change between consecutive voiced frames, in semitones per 10 ms. */
  pitchStepSemitones: number;
  /** Pairs of consecutive voiced frames (how much pitch evidence there is). */
  voicedSteps: number;
  /** Share of consecutive voiced frames whose F0 moves < 0.05 semitone (held notes). */
  pitchSteadyRatio: number;
  /** Share of moving F0 steps that go up (≈0.3–0.45 for speech, 1 for a rising sweep). */
  pitchRiseRatio: number;
  /** RMS over the active frames only, dBFS: how loud the speech itself is. */
  speechRmsDbfs: number;
  /** Level of the loud frames (90th percentile) minus the noise floor (10th percentile), dB. */
  snrDb: number;
  /** 10th percentile frame level: the noise floor, dBFS. */
  noiseFloorDb: number;
  /** Fraction of frames that are not active. */
  silenceRatio: number;
}

export function toDb(x: number): number {
  return x > 0 ? Math.max(SILENCE_DB, 20 * Math.log10(x)) : SILENCE_DB;
}

export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, (sorted.length - 1) * p));
  const lo = Math.floor(idx);
  const hi = Math.ceil(idx);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (idx - lo);
}

function median(values: ArrayLike<number>): number {
  return percentile(values, 0.5);
}

/** Whole-signal RMS and peak, dBFS. */
export function levels(samples: Float32Array): { rmsDbfs: number; peakDbfs: number } {
  let sum = 0;
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    sum += s * s;
    const a = s < 0 ? -s : s;
    if (a > peak) peak = a;
  }
  return {
    rmsDbfs: toDb(Math.sqrt(sum / Math.max(1, samples.length))),
    peakDbfs: toDb(peak),
  };
}

/**
 * Frame levels, activity and F0 (pitchy's McLeod pitch method, clarity ≥ 0.8,
 * 60–500 Hz) on 16 kHz PCM.
 */
export function frameTrack(pcm16k: Float32Array): FrameTrack {
  const frames = Math.max(0, Math.floor((pcm16k.length - ENERGY_WIN) / HOP) + 1);
  const levelDb = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    const start = i * HOP;
    for (let j = start; j < start + ENERGY_WIN; j++) sum += pcm16k[j]! * pcm16k[j]!;
    levelDb[i] = toDb(Math.sqrt(sum / ENERGY_WIN));
  }
  const loud = frames ? percentile(levelDb, 0.95) : SILENCE_DB;
  const floor = frames ? percentile(levelDb, 0.1) : SILENCE_DB;
  // Active: within 35 dB of the loud frames, clearly above the floor, and not digital silence.
  const activityThresholdDb = Math.max(loud - 35, Math.min(floor + 6, loud - 3), -90);
  const active = new Uint8Array(frames);
  for (let i = 0; i < frames; i++) active[i] = levelDb[i]! > activityThresholdDb ? 1 : 0;

  const f0 = new Float32Array(frames);
  const detector = PitchDetector.forFloat32Array(PITCH_WIN);
  detector.minVolumeDecibels = -100;
  const low = decimate(pcm16k);
  const hop = HOP / PITCH_DECIMATION;
  const offset = Math.floor((PITCH_WIN - ENERGY_WIN / PITCH_DECIMATION) / 2);
  const pitchAt = (i: number): number => {
    if (!active[i]) return 0;
    const start = i * hop - offset;
    if (start < 0 || start + PITCH_WIN > low.length) return 0;
    const [pitch, clarity] = detector.findPitch(low.subarray(start, start + PITCH_WIN), PITCH_RATE);
    return clarity >= CLARITY_THRESHOLD && pitch >= MIN_F0 && pitch <= MAX_F0 ? pitch : 0;
  };
  // The detector runs on every other frame (a 20 ms pitch hop). A frame between
  // two voiced ones whose pitch agrees gets their log-midpoint; it is measured
  // itself at the edges of voiced runs and where the pitch jumps, so runs and
  // jumps come out as with a 10 ms hop. It was most of an assessment's time.
  for (let i = 0; i < frames; i += PITCH_STRIDE) f0[i] = pitchAt(i);
  for (let i = 1; i < frames; i += PITCH_STRIDE) {
    if (!active[i]) continue;
    const before = f0[i - 1]!;
    const after = i + 1 < frames ? f0[i + 1]! : 0;
    if (before === 0 && after === 0) continue;
    f0[i] =
      before > 0 && after > 0 && Math.abs(12 * Math.log2(after / before)) <= MAX_INTERPOLATED_STEP
        ? Math.sqrt(before * after)
        : pitchAt(i);
  }
  return { hopSec: HOP / ANALYSIS_RATE, levelDb, active, f0, activityThresholdDb };
}

/** Halves the rate: a 4-tap binomial low-pass (zero at 4 kHz), then every other sample. */
function decimate(pcm16k: Float32Array): Float32Array {
  const out = new Float32Array(Math.floor(pcm16k.length / PITCH_DECIMATION));
  const n = pcm16k.length;
  for (let i = 0; i < out.length; i++) {
    const j = i * PITCH_DECIMATION;
    const a = pcm16k[j - 1 < 0 ? 0 : j - 1]!;
    const b = pcm16k[j]!;
    const c = pcm16k[j + 1 < n ? j + 1 : n - 1]!;
    const d = pcm16k[j + 2 < n ? j + 2 : n - 1]!;
    out[i] = (a + 3 * b + 3 * c + d) / 8;
  }
  return out;
}

/** Energy-envelope peaks per second of active signal (a syllable-rate proxy). */
export function syllableRate(track: FrameTrack): number {
  const { levelDb, active } = track;
  const n = levelDb.length;
  if (n === 0) return 0;
  // Smooth the envelope over 50 ms in the power domain.
  const power = Float64Array.from(levelDb, (db) => 10 ** (db / 10));
  const env = new Float64Array(n);
  const half = 2;
  for (let i = 0; i < n; i++) {
    let s = 0;
    let c = 0;
    for (let j = Math.max(0, i - half); j <= Math.min(n - 1, i + half); j++) {
      s += power[j]!;
      c++;
    }
    env[i] = 10 * Math.log10(s / c + 1e-12);
  }
  const minGap = 10; // 100 ms between syllable nuclei at most 10/s
  const reach = 20; // look ±200 ms for the valleys
  const prominence = 4;
  let peaks = 0;
  let last = -Infinity;
  for (let i = 1; i < n - 1; i++) {
    if (!active[i]) continue;
    const v = env[i]!;
    if (v < env[i - 1]! || v < env[i + 1]!) continue;
    let leftMin = v;
    let rightMin = v;
    let isMax = true;
    for (let j = i - 1; j >= Math.max(0, i - reach); j--) {
      if (env[j]! > v) {
        isMax = j < i - minGap;
        break;
      }
      leftMin = Math.min(leftMin, env[j]!);
    }
    if (!isMax) continue;
    for (let j = i + 1; j <= Math.min(n - 1, i + reach); j++) {
      if (env[j]! > v) break;
      rightMin = Math.min(rightMin, env[j]!);
    }
    if (v - leftMin < prominence || v - rightMin < prominence) continue;
    if (i - last < minGap) continue;
    peaks++;
    last = i;
  }
  const activeSec = active.reduce((a, b) => a + b, 0) * track.hopSec;
  return activeSec > 0 ? peaks / activeSec : 0;
}

/** Median spectral centroid (Hz) and flatness over active frames. */
export function spectralShape(
  pcm16k: Float32Array,
  track: FrameTrack,
): { centroidHz: number; flatness: number } {
  const fft = new FFT(FFT_SIZE);
  const out = fft.createComplexArray() as number[];
  const frame = new Array<number>(FFT_SIZE).fill(0);
  const hann = Float64Array.from(
    { length: FFT_SIZE },
    (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / FFT_SIZE),
  );
  const centroids: number[] = [];
  const flatnesses: number[] = [];
  const binHz = ANALYSIS_RATE / FFT_SIZE;
  for (let i = 0; i < track.active.length; i += SPECTRUM_STRIDE) {
    if (!track.active[i]) continue;
    const start = i * HOP + ENERGY_WIN / 2 - FFT_SIZE / 2;
    if (start < 0 || start + FFT_SIZE > pcm16k.length) continue;
    for (let j = 0; j < FFT_SIZE; j++) frame[j] = pcm16k[start + j]! * hann[j]!;
    fft.realTransform(out, frame);
    let num = 0;
    let den = 0;
    let logSum = 0;
    let powSum = 0;
    const bins = FFT_SIZE / 2;
    for (let k = 1; k < bins; k++) {
      const re = out[2 * k]!;
      const im = out[2 * k + 1]!;
      const pow = re * re + im * im + 1e-20;
      const mag = Math.sqrt(pow);
      num += k * binHz * mag;
      den += mag;
      logSum += Math.log(pow);
      powSum += pow;
    }
    if (den <= 0) continue;
    centroids.push(num / den);
    flatnesses.push(Math.exp(logSum / (bins - 1)) / (powSum / (bins - 1)));
  }
  return {
    centroidHz: centroids.length ? median(centroids) : 0,
    flatness: flatnesses.length ? median(flatnesses) : 0,
  };
}

/** Measures pitch, rate, spectrum and levels of a recording (resampled to 16 kHz first). */
export function analyzeSpeech(pcm: MonoPcm): SpeechAnalysis {
  const { samples } = toAnalysisRate(pcm);
  return analyzeSpeech16k(samples, pcm.samples.length / pcm.sampleRate, levels(pcm.samples));
}

/** {@link analyzeSpeech} for PCM that is already at 16 kHz. */
export function analyzeSpeech16k(
  samples: Float32Array,
  durationSec = samples.length / ANALYSIS_RATE,
  lv: { rmsDbfs: number; peakDbfs: number } = levels(samples),
): SpeechAnalysis {
  const track = frameTrack(samples);
  const voiced: number[] = [];
  const runs: number[] = [];
  const steps: number[] = [];
  let run = 0;
  let activeFrames = 0;
  let activePower = 0;
  let steady = 0;
  let rises = 0;
  let falls = 0;
  for (let i = 0; i < track.f0.length; i++) {
    if (track.active[i]) {
      activeFrames++;
      activePower += 10 ** (track.levelDb[i]! / 10);
    }
    const f = track.f0[i]!;
    if (f > 0) {
      voiced.push(f);
      run++;
      const prev = i > 0 ? track.f0[i - 1]! : 0;
      if (prev > 0) {
        const step = 12 * Math.log2(f / prev);
        steps.push(Math.abs(step));
        if (Math.abs(step) < 0.05) steady++;
        else if (step > 0) rises++;
        else falls++;
      }
    } else if (run > 0) {
      runs.push(run);
      run = 0;
    }
  }
  if (run > 0) runs.push(run);
  const shape = spectralShape(samples, track);
  const frames = track.levelDb.length;
  const floor = frames ? percentile(track.levelDb, 0.1) : SILENCE_DB;
  const loud = frames ? percentile(track.levelDb, 0.9) : SILENCE_DB;
  return {
    durationSec,
    speechSec: activeFrames * track.hopSec,
    rmsDbfs: lv.rmsDbfs,
    peakDbfs: lv.peakDbfs,
    f0MedianHz: voiced.length ? median(voiced) : null,
    f0P10Hz: voiced.length ? percentile(voiced, 0.1) : null,
    f0P90Hz: voiced.length ? percentile(voiced, 0.9) : null,
    voicedRatio: activeFrames ? voiced.length / activeFrames : 0,
    speakingRate: syllableRate(track),
    spectralCentroidHz: shape.centroidHz,
    spectralFlatness: shape.flatness,
    voicedRunSec: runs.length ? median(runs) * track.hopSec : 0,
    pitchStepSemitones: steps.length ? median(steps) : 0,
    voicedSteps: steps.length,
    pitchSteadyRatio: steps.length ? steady / steps.length : 0,
    pitchRiseRatio: rises + falls ? rises / (rises + falls) : 0.5,
    speechRmsDbfs: activeFrames ? toDb(Math.sqrt(activePower / activeFrames)) : SILENCE_DB,
    snrDb: loud - floor,
    noiseFloorDb: floor,
    silenceRatio: frames ? 1 - activeFrames / frames : 1,
  };
}

/**
 * Median F0 (Hz) of a recording when at least `minVoicedSteps` pairs of
 * consecutive frames are voiced, else null. Only the level and pitch tracks
 * are computed (no spectrum, no rate): what the offline engine needs to
 * measure its own output.
 */
export function pitchTrackMedian(pcm: MonoPcm, minVoicedSteps: number): number | null {
  const track = frameTrack(toAnalysisRate(pcm).samples);
  const voiced: number[] = [];
  let steps = 0;
  for (let i = 0; i < track.f0.length; i++) {
    const f = track.f0[i]!;
    if (f <= 0) continue;
    voiced.push(f);
    if (i > 0 && track.f0[i - 1]! > 0) steps++;
  }
  return steps >= minVoicedSteps && voiced.length ? median(voiced) : null;
}
