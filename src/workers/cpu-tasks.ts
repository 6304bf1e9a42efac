/**
 * The worker side of the CPU pool: every task a pool thread runs. Nothing
 * here touches the network, the database or the file system of the service;
 * inputs and outputs are plain, structured-cloneable data.
 */
import { createHash } from 'node:crypto';
import './low-priority.js';

import bcrypt from 'bcryptjs';

import type { SpeechAnalysis } from '../audio/analysis.js';
import { encodeMp3, encodeWav } from '../audio/encode.js';
import { AudioUnreadableError } from '../audio/errors.js';
import { inspectUpload, type UploadInspection } from '../audio/inspect.js';
import { transcodeToWav, type TranscodeOptions, type TranscodeResult } from '../audio/transcode.js';
import type { ProbeResult } from '../audio/probe.js';
import { assessBytes, type QualityReport } from '../audio/quality.js';
import {
  renderSegment,
  type SegmentRequest,
  type SegmentResult,
} from '../providers/offline/render.js';

/** A sample's assessment as it crosses back from a worker (no PCM). */
export interface SampleAssessment extends QualityReport {
  probe?: ProbeResult;
  analysis?: SpeechAnalysis;
  /** Set when decoding stopped at the bound: the audio plays longer than this. */
  exceedsSec?: number;
  /** sha256 of the bytes, hex. */
  sha256: string;
}

/** Each task's input and output. */
export interface CpuTaskMap {
  inspect_audio: { input: { bytes: Uint8Array; maxSec: number }; output: UploadInspection };
  assess_audio: {
    input: { bytes: Uint8Array; ext?: string; maxSec: number };
    output: SampleAssessment;
  };
  /** A sample rendition; an undecodable sample is an answer, not a thrown error (its class would not cross the thread). */
  transcode_wav: {
    input: { bytes: Uint8Array; opts: TranscodeOptions };
    output: { ok: true; result: TranscodeResult } | { ok: false; message: string };
  };
  hash_password: { input: { password: string; rounds: number }; output: string };
  compare_password: { input: { password: string; hash: string }; output: boolean };
  synth_segment: { input: SegmentRequest; output: SegmentResult };
  encode_audio: {
    input: { pcm: Float32Array; sampleRate: number; format: 'wav' | 'mp3' };
    output: Uint8Array;
  };
}

export type CpuTaskKind = keyof CpuTaskMap;

/** What the pool sends a thread. */
export interface CpuTaskMessage<K extends CpuTaskKind = CpuTaskKind> {
  kind: K;
  input: CpuTaskMap[K]['input'];
}

const handlers: {
  [K in CpuTaskKind]: (input: CpuTaskMap[K]['input']) => Promise<CpuTaskMap[K]['output']>;
} = {
  inspect_audio: ({ bytes, maxSec }) => inspectUpload(bytes, { maxSec }),
  assess_audio: async ({ bytes, ext, maxSec }) => {
    const a = await assessBytes(bytes, ext, { maxSec });
    const out: SampleAssessment = {
      verdict: a.verdict,
      score: a.score,
      advice: a.advice,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    if (a.metrics) out.metrics = a.metrics;
    if (a.probe) out.probe = a.probe;
    if (a.analysis) out.analysis = a.analysis;
    if (a.exceedsSec !== undefined) out.exceedsSec = a.exceedsSec;
    return out;
  },
  transcode_wav: async ({ bytes, opts }) => {
    try {
      return { ok: true, result: await transcodeToWav(bytes, opts) };
    } catch (err) {
      if (err instanceof AudioUnreadableError) return { ok: false, message: err.message };
      throw err;
    }
  },
  hash_password: ({ password, rounds }) => bcrypt.hash(password, rounds),
  compare_password: ({ password, hash }) => bcrypt.compare(password, hash),
  synth_segment: (input) => renderSegment(input),
  encode_audio: async ({ pcm, sampleRate, format }) =>
    format === 'wav' ? encodeWav(pcm, sampleRate) : encodeMp3(pcm, sampleRate),
};

/** Piscina's entry point. */
export default function runCpuTask(message: CpuTaskMessage): Promise<unknown> {
  const handler = handlers[message.kind] as (input: unknown) => Promise<unknown>;
  if (!handler) throw new Error(`Unknown CPU task ${String(message.kind)}`);
  return handler(message.input);
}
