import { createHash } from 'node:crypto';
import { AudioUnreadableError } from '../audio/errors.js';
import { transcodeToWav, type TranscodeOptions, type TranscodeResult } from '../audio/transcode.js';
import { ERRORS } from '../errors.js';
import type { SampleContainer, SampleRequirements } from '../providers/provider.js';
import type { FileRow } from '../repositories/file.repository.js';
import type { FileService } from './file.service.js';

export type Transcoder = (bytes: Uint8Array, opts: TranscodeOptions) => Promise<TranscodeResult>;

/**
 * The transcoder in this thread: for callers without the worker pool (tests
 * of the job alone); the server and worker pass the pool's (AudioWork.transcode).
 */
export const runTranscode: Transcoder = (bytes, opts) => transcodeToWav(bytes, opts);

/** Whether the upload itself is something the provider takes. */
export function fitsAsIs(
  sample: Pick<FileRow, 'ext' | 'audio_codec' | 'audio_sample_rate' | 'size' | 'audio_duration'>,
  req: SampleRequirements,
): boolean {
  if (!req.containers.includes(sample.ext as SampleContainer)) return false;
  if (sample.ext === 'wav') {
    const bits = /^pcm_s(\d+)le$/.exec(sample.audio_codec ?? '')?.[1];
    if (!bits || !req.wavBitDepths.includes(Number(bits))) return false;
  }
  const rate = sample.audio_sample_rate;
  if (!rate || rate < req.minSampleRateHz || rate > req.maxSampleRateHz) return false;
  if (Number(sample.size) > req.maxBytes) return false;
  if (sample.audio_duration !== null && sample.audio_duration > req.maxDurationSec) return false;
  return true;
}

/** What a rendition for `req` of a sample with content `sha256` is called. */
export function renditionVariant(req: SampleRequirements, sha256: string): string {
  return `${req.rendition.container}-s16-mono-${req.rendition.sampleRate}:${sha256}`;
}

/** A stable UUID-shaped id for one rendition, so concurrent makers collide instead of doubling. */
function renditionId(fileId: string, variant: string): string {
  const h = createHash('sha256').update(`${fileId}\n${variant}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Hands a provider a sample it takes: the upload itself when it fits, else
 * a 16-bit mono WAV rendition, made once per sample content and stored as a
 * file derived from the sample (deleted with it, served by the same signed
 * link). The upload is never changed.
 */
export class SampleRenditions {
  constructor(
    private readonly files: FileService,
    private readonly transcode: Transcoder = runTranscode,
  ) {}

  /** The file to give the provider. Throws a 422 AppError when the sample cannot be decoded. */
  async forProvider(sample: FileRow, req: SampleRequirements): Promise<FileRow> {
    if (fitsAsIs(sample, req)) return sample;
    const variant = renditionVariant(req, sample.sha256);
    const existing = await this.files.findRendition(sample.id, variant);
    if (existing) return existing;
    let made: TranscodeResult;
    try {
      made = await this.transcode(await this.files.readAll(sample), {
        sampleRate: req.rendition.sampleRate,
        maxDurationSec: req.maxDurationSec,
      });
    } catch (err) {
      if (err instanceof AudioUnreadableError) {
        throw ERRORS.unprocessable('The audio sample is not usable for cloning', {
          info: `it could not be converted for the voice provider: ${err.message}`,
          cause: err,
        });
      }
      throw err;
    }
    try {
      return await this.files.storeGenerated({
        id: renditionId(sample.id, variant),
        ownerId: sample.owner_id,
        name: `${sample.file_name.replace(/\.[^.]*$/, '')}.wav`,
        ext: 'wav',
        bytes: made.bytes,
        description: `Rendition of sample ${sample.id} for the voice provider`,
        isPublic: false,
        audio: {
          duration: made.durationSec,
          codec: 'pcm_s16le',
          sampleRate: made.sampleRate,
          channels: 1,
        },
        derivedFrom: { fileId: sample.id, variant },
      });
    } catch (err) {
      // Another job made the same rendition meanwhile (same id): use theirs.
      const theirs = await this.files.findRendition(sample.id, variant);
      if (theirs) return theirs;
      throw err;
    }
  }
}
