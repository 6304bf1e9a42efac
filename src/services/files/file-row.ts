import type { FileRow } from '../../repositories/file.repository.js';
import type { FileView } from '../../api/schemas/files.js';
import type { AllowedType } from '../file-types.js';

/** Audio facts found at upload (or known to whoever generated the bytes). */
export interface AudioFacts {
  duration: number;
  codec: string;
  sampleRate: number;
  channels: number;
}

/** The content columns of a row: what an upload and a content replacement both set. */
export function contentColumns(input: {
  storageKey: string;
  size: number;
  sha256: string;
  name: string;
  type: Pick<AllowedType, 'mime' | 'ext'>;
  audio: AudioFacts | null | undefined;
}): Pick<
  FileRow,
  | 'storage_key'
  | 'size'
  | 'sha256'
  | 'file_name'
  | 'mime_type'
  | 'ext'
  | 'audio_duration'
  | 'audio_codec'
  | 'audio_sample_rate'
  | 'audio_channels'
> {
  return {
    storage_key: input.storageKey,
    size: input.size,
    sha256: input.sha256,
    file_name: input.name,
    mime_type: input.type.mime,
    ext: input.type.ext,
    audio_duration: input.audio?.duration ?? null,
    audio_codec: input.audio?.codec ?? null,
    audio_sample_rate: input.audio?.sampleRate ?? null,
    audio_channels: input.audio?.channels ?? null,
  };
}

/** The one place a new file row is built (uploads and generated files alike). */
export function buildFileRow(input: {
  id: string;
  ownerId: string;
  storageKey: string;
  size: number;
  sha256: string;
  name: string;
  type: AllowedType;
  audio: AudioFacts | null | undefined;
  isPublic: boolean;
  description: string | null;
  origin: FileRow['origin'];
  /** A rendition of a sample: deleted with it, never listed. */
  derivedFrom?: { fileId: string; variant: string };
  nowIso: string;
}): FileRow {
  return {
    id: input.id,
    owner_id: input.ownerId,
    ...contentColumns(input),
    kind: input.type.kind,
    is_public: input.isPublic ? 1 : 0,
    description: input.description,
    origin: input.origin,
    ...(input.derivedFrom
      ? { derived_from: input.derivedFrom.fileId, variant: input.derivedFrom.variant }
      : {}),
    created_at: input.nowIso,
    updated_at: input.nowIso,
  };
}

export function toFileView(r: FileRow): FileView {
  return {
    file_id: r.id,
    file_name: r.file_name,
    file_path: `/api/file/download/${r.id}`,
    file_size: Number(r.size),
    file_type: r.mime_type,
    is_private: r.is_public === 1,
    is_public: r.is_public === 1,
    description: r.description,
    created_at: r.created_at,
    updated_at: r.updated_at,
    origin: r.origin,
    audio:
      r.kind === 'audio' && r.audio_codec
        ? {
            duration_sec: Number(r.audio_duration),
            codec: r.audio_codec,
            sample_rate: Number(r.audio_sample_rate),
            channels: Number(r.audio_channels),
          }
        : null,
  };
}
