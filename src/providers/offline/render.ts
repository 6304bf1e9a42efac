/**
 * The CPU side of the offline engine: one text segment → PCM (or encoded
 * bytes). Runs inside the worker pool; everything here is per thread (the
 * espeak module, the calibrations, the Sonic instance).
 */
import { createMp3Encoder } from 'wasm-media-encoders';

import { pitchTrackMedian } from '../../audio/analysis.js';
import { encodePcm16, isOutputSampleRate, toOutputRate } from '../../audio/encode.js';

import { EspeakEngine } from './espeak.js';
import { sonicTransform } from './sonic.js';
import {
  CALIBRATION_WPM,
  Calibrator,
  pitchForF0,
  predictF0,
  type StyleProfile,
  type VoiceCalibration,
} from './style.js';

/** What one synthesis did, for logs and the service's "how close" report. */
export interface SynthesisPlan {
  voice: string;
  espeakPitch: number;
  espeakSpeed: number;
  targetF0Hz: number;
  sonicPitch: number;
  sonicSpeed: number;
}

export interface SegmentRequest {
  text: string;
  profile: StyleProfile;
  prosody: { rate: number; pitch: number; volume: number };
  outputRate: number;
  /** The pitch correction an earlier segment measured (reused so segments match). */
  sonicPitch?: number;
  /** espeak's calibration for this voice when the caller has it (threads then skip measuring it). */
  calibration?: VoiceCalibration;
  /** `f32`: Float32 PCM; `pcm16`: 16-bit LE bytes; `mp3`: a self-contained MP3 frame run. */
  encoding: 'f32' | 'pcm16' | 'mp3';
}

export interface SegmentResult {
  audio: Float32Array | Uint8Array;
  /** Samples at `outputRate`. */
  samples: number;
  /** Set when this segment measured espeak's actual pitch (later segments reuse it). */
  measuredSonicPitch?: number;
  /** The calibration used, for the caller to pass back next time. */
  calibration: VoiceCalibration;
  plan: SynthesisPlan;
}

/** Sonic corrections beyond this range sound worse than a plain mismatch. */
const SONIC_PITCH_RANGE: [number, number] = [0.6, 1.7];
const ESPEAK_WPM_RANGE: [number, number] = [80, 450];
/** Seconds of espeak's output measured to correct its pitch: a short excerpt is enough. */
const PITCH_EXCERPT_SEC = 4;
const MIN_VOICED_FRAMES = 20;

const engine = EspeakEngine.shared();
const calibrator = new Calibrator(engine);

/** The espeak voice a segment is spoken with: Mandarin for CJK text, else US English. */
export function espeakVoice(text: string, profile: StyleProfile): string {
  const language = /[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]/.test(text)
    ? 'cmn'
    : 'en-us';
  return `${language}+${profile.variant === 'female' ? 'f3' : 'm3'}`;
}

/** Renders one text segment at the output rate. */
export async function renderSegment(req: SegmentRequest): Promise<SegmentResult> {
  const { text, profile, prosody, outputRate } = req;
  const voice = espeakVoice(text, profile);
  const cal = req.calibration?.voice === voice ? req.calibration : await calibrator.get(voice);
  const targetF0 = profile.f0MedianHz * prosody.pitch;
  const espeakPitch = pitchForF0(cal, targetF0);
  const desiredWpm = (CALIBRATION_WPM * profile.speakingRate * prosody.rate) / cal.rateAtReference;
  const espeakSpeed = clamp(desiredWpm, ...ESPEAK_WPM_RANGE);
  const raw = await engine.synth({ text, voice, pitch: espeakPitch, speed: espeakSpeed });

  // Correct the pitch espeak actually produced (measured on a short excerpt, not
  // predicted) when there is enough voicing; otherwise use the calibration.
  let sonicPitch = req.sonicPitch;
  let measuredSonicPitch: number | undefined;
  if (sonicPitch === undefined) {
    const excerpt = raw.samples.subarray(0, Math.round(PITCH_EXCERPT_SEC * raw.sampleRate));
    const measured = pitchTrackMedian(
      { samples: excerpt, sampleRate: raw.sampleRate },
      MIN_VOICED_FRAMES,
    );
    sonicPitch = clamp(targetF0 / (measured ?? predictF0(cal, espeakPitch)), ...SONIC_PITCH_RANGE);
    if (measured !== null) measuredSonicPitch = sonicPitch;
  }
  const sonicSpeed = desiredWpm / espeakSpeed;
  const plan: SynthesisPlan = {
    voice,
    espeakPitch,
    espeakSpeed: Math.round(espeakSpeed),
    targetF0Hz: targetF0,
    sonicPitch,
    sonicSpeed,
  };
  const shaped = await sonicTransform(raw.samples, raw.sampleRate, {
    pitch: sonicPitch,
    speed: sonicSpeed,
  });
  applyVolume(shaped, prosody.volume);
  const pcm = toOutputRate(shaped, raw.sampleRate, outputRate);
  const result: SegmentResult = { audio: pcm, samples: pcm.length, plan, calibration: cal };
  if (measuredSonicPitch !== undefined) result.measuredSonicPitch = measuredSonicPitch;
  if (req.encoding === 'pcm16') result.audio = encodePcm16(pcm);
  else if (req.encoding === 'mp3') result.audio = await encodeMp3Run(pcm, outputRate);
  return result;
}

async function encodeMp3Run(pcm: Float32Array, sampleRate: number): Promise<Uint8Array> {
  const encoder = await createMp3Encoder();
  if (!isOutputSampleRate(sampleRate)) throw new RangeError(`Unsupported MP3 rate ${sampleRate}`);
  encoder.configure({
    channels: 1,
    sampleRate,
    outputSampleRate: sampleRate,
    bitrate: sampleRate <= 16_000 ? 32 : 64,
  });
  const parts: Uint8Array[] = [];
  for (let i = 0; i < pcm.length; i += 16_384) {
    // encode() returns a view into WASM memory that the next call overwrites: copy it.
    const out = encoder.encode([pcm.subarray(i, i + 16_384)]);
    if (out.length) parts.push(out.slice());
  }
  const tail = encoder.finalize();
  if (tail.length) parts.push(tail.slice());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** 50 = espeak's level; 100 = +6 dB with a soft limiter; 0 = silence. */
function applyVolume(samples: Float32Array, volume: number): void {
  const gain = volume / 50;
  const knee = 0.8;
  for (let i = 0; i < samples.length; i++) {
    const y = samples[i]! * gain;
    const a = Math.abs(y);
    samples[i] =
      a <= knee ? y : Math.sign(y) * (knee + (0.99 - knee) * Math.tanh((a - knee) / (0.99 - knee)));
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}
