import { analyzeSpeech, type SpeechAnalysis } from './analysis.js';
import { type DecodedAudio, type DecodeLimits, type MonoPcm } from './decode.js';
import { AudioTooLongError, AudioUnreadableError } from './errors.js';
import { decodeProbed, probeAudio, truncation, type ProbeResult } from './probe.js';
import { isAudioType, sniffType, type SniffResult } from './sniff.js';

/** Verdict classes, exactly those of the test-audio manifest. */
export type QualityVerdict =
  | 'good'
  | 'too_short'
  | 'too_long'
  | 'silent'
  | 'noisy'
  | 'clipped'
  | 'too_quiet'
  | 'not_speech'
  | 'corrupt'
  | 'wrong_type';

/**
 * Thresholds, calibrated on the shared test-audio set (see the table test).
 * Every clean speech file there has ≥ 24 dB SNR, speech RMS above −23 dBFS,
 * no clipped samples, a pitch rise share of 0.22–0.44 and a steady-pitch share
 * ≤ 0.64 (the espeak contrast clip); the bad ones sit well outside.
 */
export const QUALITY_THRESHOLDS = {
  /** Below this total length the clip is too short… */
  minDurationSec: 5,
  /** …or below this much active speech. */
  minSpeechSec: 3,
  /** Recommended minimum (advice only). */
  recommendedSpeechSec: 10,
  maxDurationSec: 60,
  /** Peak below this: nothing was recorded. */
  silentPeakDbfs: -55,
  /** RMS of the active frames below this: too quiet. */
  quietSpeechRmsDbfs: -40,
  /** Quieter than this is worth a hint, not a rejection. */
  lowSpeechRmsDbfs: -30,
  /** |x| at or above this counts as clipped. */
  clipLevel: 0.99,
  /** More than this share of clipped samples: clipped. */
  maxClippedRatio: 0.005,
  /** Loud-frame level minus noise floor below this: noisy. */
  minSnrDb: 12,
  /** Below this SNR, advise a quieter room. */
  adviseSnrDb: 20,
  /** A pitch track that (almost) only rises or only falls is a sweep, not speech. */
  maxPitchRiseDeviation: 0.4,
  /** Held notes: more steady-pitch steps than this is music, not speech. */
  maxPitchSteadyRatio: 0.7,
  /** Less voicing than this among active frames: not speech. */
  minVoicedRatio: 0.05,
  /** Pitch evidence needed before the sweep/music rules apply. */
  minVoicedSteps: 20,
} as const;

export interface QualityMetrics {
  durationSec: number;
  speechSec: number;
  rmsDbfs: number;
  speechRmsDbfs: number;
  peakDbfs: number;
  clippedRatio: number;
  silenceRatio: number;
  snrDb: number;
  f0MedianHz: number | null;
  voicedRatio: number;
  spectralFlatness: number;
  pitchSteadyRatio: number;
  pitchRiseRatio: number;
  speakingRate: number;
}

export interface QualityReport {
  verdict: QualityVerdict;
  /** 0–100; ≥ 60 for usable samples, ≤ 40 for rejected ones. */
  score: number;
  /** Absent for corrupt / wrong_type (nothing could be measured). */
  metrics?: QualityMetrics;
  /** Actionable English advice, most important first. */
  advice: string[];
}

export interface BytesAssessment extends QualityReport {
  sniffed?: SniffResult;
  probe?: ProbeResult;
  /** Decoded mono PCM when it could be decoded (lets callers avoid a second decode). */
  decoded?: DecodedAudio;
  /** The measurements the verdict came from, when the audio decoded (callers reuse them). */
  analysis?: SpeechAnalysis;
  /** Set when decoding stopped at the caller's bound: the audio plays longer than this. */
  exceedsSec?: number;
}

const T = QUALITY_THRESHOLDS;

function round(x: number, digits = 2): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

function clippedRatio(samples: Float32Array): number {
  let n = 0;
  const level = T.clipLevel;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (s >= level || s <= -level) n++;
  }
  return samples.length ? n / samples.length : 0;
}

function pct(x: number): string {
  const p = x * 100;
  return p >= 10 ? `${Math.round(p)}%` : `${round(p, 1)}%`;
}

/** Judges a decoded recording as a voice sample. */
export function assessQuality(
  pcm: MonoPcm,
  analysis: SpeechAnalysis = analyzeSpeech(pcm),
): QualityReport {
  const a = analysis;
  const clipped = clippedRatio(pcm.samples);
  const metrics: QualityMetrics = {
    durationSec: round(a.durationSec),
    speechSec: round(a.speechSec),
    rmsDbfs: round(a.rmsDbfs, 1),
    speechRmsDbfs: round(a.speechRmsDbfs, 1),
    peakDbfs: round(a.peakDbfs, 1),
    clippedRatio: round(clipped, 5),
    silenceRatio: round(a.silenceRatio, 3),
    snrDb: round(a.snrDb, 1),
    f0MedianHz: a.f0MedianHz === null ? null : round(a.f0MedianHz, 1),
    voicedRatio: round(a.voicedRatio, 3),
    spectralFlatness: round(a.spectralFlatness, 3),
    pitchSteadyRatio: round(a.pitchSteadyRatio, 3),
    pitchRiseRatio: round(a.pitchRiseRatio, 3),
    speakingRate: round(a.speakingRate),
  };
  const advice: string[] = [];
  const verdict = decide(a, clipped, advice);
  // Soft advice for usable samples.
  if (verdict === 'good') {
    if (a.speechSec < T.recommendedSpeechSec) {
      advice.push(
        `Record at least ${T.recommendedSpeechSec} seconds of continuous speech for a closer match (this sample has ${round(a.speechSec, 1)} s).`,
      );
    }
    if (a.snrDb < T.adviseSnrDb) {
      advice.push('Record in a quieter room: background noise is audible between words.');
    }
    if (a.speechRmsDbfs < T.lowSpeechRmsDbfs) {
      advice.push(
        'Speak a little closer to the microphone or raise the input gain: the level is low.',
      );
    }
    if (clipped > 0.0005) {
      advice.push(`Lower the input gain slightly: ${pct(clipped)} of samples touch full scale.`);
    }
  }
  return { verdict, score: score(verdict, a, clipped), metrics, advice };
}

function decide(a: SpeechAnalysis, clipped: number, advice: string[]): QualityVerdict {
  if (a.peakDbfs < T.silentPeakDbfs || a.speechSec === 0) {
    advice.push(
      'No sound was recorded. Check that the right microphone is selected and not muted, then record again.',
    );
    return 'silent';
  }
  if (a.durationSec < T.minDurationSec || a.speechSec < T.minSpeechSec) {
    advice.push(
      `Record at least ${T.recommendedSpeechSec} seconds of continuous speech (this sample has ${round(a.speechSec, 1)} s of speech in ${round(a.durationSec, 1)} s).`,
    );
    return 'too_short';
  }
  if (a.durationSec > T.maxDurationSec) {
    advice.push(
      `Trim the recording to under ${T.maxDurationSec} seconds (it is ${Math.round(a.durationSec)} s); 10–30 seconds of clear speech works best.`,
    );
    return 'too_long';
  }
  if (a.speechRmsDbfs < T.quietSpeechRmsDbfs) {
    advice.push(
      `Raise the input gain or move closer to the microphone: speech is at ${Math.round(a.speechRmsDbfs)} dBFS, aim for −25 to −12 dBFS.`,
    );
    return 'too_quiet';
  }
  if (clipped > T.maxClippedRatio) {
    advice.push(`Lower the input gain: ${pct(clipped)} of samples are clipped.`);
    return 'clipped';
  }
  if (a.voicedSteps >= T.minVoicedSteps) {
    if (Math.abs(a.pitchRiseRatio - 0.5) > T.maxPitchRiseDeviation) {
      advice.push(
        'This sounds like a tone or sweep, not a voice. Upload a recording of one person speaking.',
      );
      return 'not_speech';
    }
    if (a.pitchSteadyRatio > T.maxPitchSteadyRatio) {
      advice.push(
        'This sounds like music or held notes, not speech. Upload a recording of one person speaking, with no music in the background.',
      );
      return 'not_speech';
    }
  }
  if (a.snrDb < T.minSnrDb) {
    advice.push(
      `Record in a quieter place or closer to the microphone: the voice is only ${Math.max(0, Math.round(a.snrDb))} dB above the background noise (aim for 20 dB or more).`,
    );
    return 'noisy';
  }
  if (a.voicedRatio < T.minVoicedRatio) {
    advice.push('No voice was found in this recording. Upload a recording of one person speaking.');
    return 'not_speech';
  }
  return 'good';
}

function score(verdict: QualityVerdict, a: SpeechAnalysis, clipped: number): number {
  if (verdict === 'silent' || verdict === 'not_speech') return 0;
  const clamp = (x: number) => Math.max(0, Math.min(1, x));
  // Each part 0–1.
  const snr = clamp((a.snrDb - 5) / 30);
  const level = clamp((a.speechRmsDbfs + 50) / 25);
  const length =
    clamp(a.speechSec / T.recommendedSpeechSec) * (a.durationSec > T.maxDurationSec ? 0.5 : 1);
  const clip = clamp(1 - clipped / 0.01);
  const voicing = clamp(a.voicedRatio / 0.3);
  const raw = 100 * (0.3 * snr + 0.2 * level + 0.25 * length + 0.15 * clip + 0.1 * voicing);
  const capped = verdict === 'good' ? Math.max(60, raw) : Math.min(40, raw);
  return Math.round(capped);
}

function unusable(
  verdict: 'corrupt' | 'wrong_type',
  message: string,
  extra: Partial<BytesAssessment> = {},
) {
  return { verdict, score: 0, advice: [message], ...extra } satisfies BytesAssessment;
}

/**
 * Judges uploaded bytes: wrong_type when they are not audio, corrupt when they
 * cannot be parsed or decode to much less than the headers promise, otherwise
 * {@link assessQuality} on the decoded audio. `ext` is the file name's
 * extension, used only to word the advice.
 */
export async function assessBytes(
  bytes: Uint8Array,
  ext?: string,
  limits: DecodeLimits = {},
): Promise<BytesAssessment> {
  const named = ext ? ext.replace(/^\./, '').toLowerCase() : undefined;
  if (bytes.length === 0) {
    return unusable(
      'corrupt',
      'The file is empty. Record or choose the file again and re-upload it.',
    );
  }
  const sniffed = await sniffType(bytes.subarray(0, 64 * 1024));
  if (!sniffed || !isAudioType(sniffed)) {
    const what = sniffed
      ? `a ${sniffed.ext.toUpperCase()} file (${sniffed.mime})`
      : 'not an audio file';
    return unusable(
      'wrong_type',
      `This file${named ? ` (named .${named})` : ''} is ${what}. Upload a WAV, MP3, OGG, FLAC, M4A or AAC recording.`,
      sniffed ? { sniffed } : {},
    );
  }
  let probe: ProbeResult;
  let decoded: DecodedAudio;
  try {
    probe = await probeAudio(bytes, limits);
    decoded = await decodeProbed(bytes, probe, limits);
  } catch (error) {
    if (error instanceof AudioTooLongError) {
      return {
        verdict: 'too_long',
        score: 0,
        advice: [
          `Trim the recording to under ${T.maxDurationSec} seconds (it plays longer than ${Math.round(error.limitSec)} s, so it was not analysed); 10–30 seconds of clear speech works best.`,
        ],
        sniffed,
        exceedsSec: error.limitSec,
      };
    }
    if (!(error instanceof AudioUnreadableError)) throw error;
    return unusable(
      'corrupt',
      `The audio file is damaged and cannot be read (${error.message}) Export or record it again and re-upload it.`,
      { sniffed },
    );
  }
  // Headers that promise far more than decodes (cut-off upload, garbage after a valid header).
  if (truncation(probe, decoded, { minRatio: 0.5, slackSec: 0, minPromisedSec: 1 })) {
    return unusable(
      'corrupt',
      `The audio file is damaged or truncated: its header says ${round(probe.durationSec, 1)} s but only ${round(decoded.durationSec, 1)} s can be played. Upload the complete file.`,
      { sniffed, probe, decoded },
    );
  }
  const analysis = analyzeSpeech(decoded);
  return { ...assessQuality(decoded, analysis), sniffed, probe, decoded, analysis };
}
