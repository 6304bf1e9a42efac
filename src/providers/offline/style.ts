/**
 * STYLE MATCH, not voice cloning. The offline engine cannot reproduce a
 * speaker's timbre: it measures a few prosodic features of the sample (pitch
 * median and range, speaking rate, brightness) and steers a formant
 * synthesiser (espeak-ng) towards them. Everything here says so.
 */
import { analyzeSpeech, type SpeechAnalysis } from '../../audio/analysis.js';
import type { MonoPcm } from '../../audio/decode.js';

import type { EspeakEngine } from './espeak.js';

export const STYLE_MATCH_DESCRIPTION =
  'Offline style match: espeak-ng speech steered to the sample’s pitch and speaking rate. ' +
  'It is not a neural voice clone and does not reproduce the speaker’s timbre.';

/** What the offline engine keeps about a voice (persisted as JSON). */
export interface StyleProfile {
  f0MedianHz: number;
  f0P10Hz: number;
  f0P90Hz: number;
  voicedRatio: number;
  /** Energy-envelope peaks per second of speech (syllable-rate proxy). */
  speakingRate: number;
  spectralCentroidHz: number;
  /** espeak variant family chosen from the median F0. */
  variant: 'male' | 'female';
}

/** Median F0 at or above which the female espeak variants are used. */
export const FEMALE_VARIANT_MIN_F0 = 165;
/** Fallbacks for samples where something could not be measured. */
const DEFAULT_F0 = 120;
const DEFAULT_RATE = 4;

export function buildStyleProfile(analysis: SpeechAnalysis): StyleProfile {
  const f0 = analysis.f0MedianHz ?? DEFAULT_F0;
  return {
    f0MedianHz: round(f0, 1),
    f0P10Hz: round(analysis.f0P10Hz ?? f0, 1),
    f0P90Hz: round(analysis.f0P90Hz ?? f0, 1),
    voicedRatio: round(analysis.voicedRatio, 3),
    speakingRate: round(analysis.speakingRate > 0 ? analysis.speakingRate : DEFAULT_RATE, 2),
    spectralCentroidHz: Math.round(analysis.spectralCentroidHz),
    variant: f0 >= FEMALE_VARIANT_MIN_F0 ? 'female' : 'male',
  };
}

export interface ProfileComparison {
  /** Output median F0 minus the profile's, in semitones (positive = higher); null if unvoiced. */
  pitchErrorSemitones: number | null;
  outputF0MedianHz: number | null;
  /** Output syllable rate / profile syllable rate (1 = same pace). */
  rateRatio: number | null;
  outputSpeakingRate: number;
  /** Output spectral centroid / profile centroid (brightness, 1 = same). */
  centroidRatio: number | null;
}

/** How close synthesized audio came to a style profile. */
export function compareToProfile(profile: StyleProfile, pcm: MonoPcm): ProfileComparison {
  const a = analyzeSpeech(pcm);
  const f0 = a.f0MedianHz;
  return {
    pitchErrorSemitones: f0 === null ? null : round(semitones(f0, profile.f0MedianHz), 2),
    outputF0MedianHz: f0 === null ? null : round(f0, 1),
    rateRatio:
      a.speakingRate > 0 && profile.speakingRate > 0
        ? round(a.speakingRate / profile.speakingRate, 3)
        : null,
    outputSpeakingRate: round(a.speakingRate, 2),
    centroidRatio:
      profile.spectralCentroidHz > 0
        ? round(a.spectralCentroidHz / profile.spectralCentroidHz, 3)
        : null,
  };
}

export function semitones(f: number, ref: number): number {
  return 12 * Math.log2(f / ref);
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

/** espeak's measured response for one voice: F0 at a few `-p` values, syllable rate at 175 wpm. */
export interface VoiceCalibration {
  voice: string;
  points: { p: number; f0: number }[];
  /** Syllable rate (same measure as the profile) at `-s` {@link CALIBRATION_WPM}. */
  rateAtReference: number;
}

export const CALIBRATION_WPM = 175;
const CALIBRATION_PITCHES = [0, 50, 99];
const CALIBRATION_TEXT: Record<string, string> = {
  'en-us': 'The quick brown fox jumps over the lazy dog, and then it runs back home again.',
  cmn: '我们今天下午去公园散步，天气很好，大家都很开心。',
};

/**
 * Measures espeak's F0 at `-p` 0, 50 and 99 for a voice (three short
 * utterances, ~0.5 s in all) and caches the result for the process.
 */
export class Calibrator {
  private readonly cache = new Map<string, Promise<VoiceCalibration>>();
  constructor(private readonly engine: EspeakEngine) {}

  get(voice: string): Promise<VoiceCalibration> {
    let entry = this.cache.get(voice);
    if (!entry) {
      entry = this.measure(voice);
      this.cache.set(voice, entry);
      entry.catch(() => this.cache.delete(voice));
    }
    return entry;
  }

  private async measure(voice: string): Promise<VoiceCalibration> {
    const language = voice.split('+')[0]!;
    const text = CALIBRATION_TEXT[language] ?? CALIBRATION_TEXT['en-us']!;
    const points: { p: number; f0: number }[] = [];
    const rates: number[] = [];
    for (const p of CALIBRATION_PITCHES) {
      const pcm = await this.engine.synth({ text, voice, pitch: p, speed: CALIBRATION_WPM });
      const a = analyzeSpeech(pcm);
      if (a.f0MedianHz !== null) points.push({ p, f0: a.f0MedianHz });
      if (a.speakingRate > 0) rates.push(a.speakingRate);
    }
    if (points.length < 2) throw new Error(`espeak calibration failed for ${voice}`);
    // Keep F0 monotonic in p so the inversion is well defined.
    for (let i = 1; i < points.length; i++)
      points[i]!.f0 = Math.max(points[i]!.f0, points[i - 1]!.f0 + 0.1);
    return {
      voice,
      points,
      rateAtReference: rates.length
        ? rates.reduce((s, r) => s + r, 0) / rates.length
        : DEFAULT_RATE,
    };
  }
}

/** Predicted espeak F0 at pitch `p` (piecewise linear between calibration points). */
export function predictF0(cal: VoiceCalibration, p: number): number {
  const pts = cal.points;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (p <= b.p || i === pts.length - 1) return a.f0 + ((b.f0 - a.f0) * (p - a.p)) / (b.p - a.p);
  }
  return pts[0]!.f0;
}

/** The `-p` (0–99) whose predicted F0 is closest to `targetHz`. */
export function pitchForF0(cal: VoiceCalibration, targetHz: number): number {
  let best = 0;
  let bestErr = Infinity;
  for (let p = 0; p <= 99; p++) {
    const err = Math.abs(semitones(predictF0(cal, p), targetHz));
    if (err < bestErr) {
      bestErr = err;
      best = p;
    }
  }
  return best;
}
