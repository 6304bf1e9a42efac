import type { QualityReport } from '../audio/quality.js';
import type { SampleRequirements } from '../providers/provider.js';

export interface SampleVerdictResult {
  usable: boolean;
  /** Why not, in words a user can act on (absent when usable). */
  reason?: string;
}

/**
 * THE decision "can this provider and model make a voice from this sample",
 * used by assess_sample, create_voice and batch_create alike. It reads the
 * quality report against what the provider declares it takes; a sample
 * judged usable here must never fail creation for a sample reason.
 */
export function sampleVerdict(report: QualityReport, req: SampleRequirements): SampleVerdictResult {
  if (!req.usableVerdicts.includes(report.verdict)) {
    return { usable: false, reason: report.advice.join(' ') || `sample judged ${report.verdict}` };
  }
  const sec = report.metrics?.durationSec;
  if (sec !== undefined && sec < req.minDurationSec) {
    return {
      usable: false,
      reason: `the sample lasts ${sec.toFixed(1)} s; this voice provider needs at least ${req.minDurationSec} s`,
    };
  }
  if (sec !== undefined && sec > req.maxDurationSec) {
    return {
      usable: false,
      reason: `the sample lasts ${sec.toFixed(1)} s; this voice provider takes at most ${req.maxDurationSec} s`,
    };
  }
  return { usable: true };
}
