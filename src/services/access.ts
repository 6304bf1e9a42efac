import { ERRORS } from '../errors.js';
import type { FileRow } from '../repositories/file.repository.js';
import type { VoiceRow } from '../repositories/voice.repository.js';

/**
 * Every ownership rule in one place. Unknown → 404; exists but not yours and
 * not public → 403.
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(id: string): boolean {
  return UUID_RE.test(id);
}

export function assertFileId(id: string): void {
  if (!isUuid(id)) throw ERRORS.badRequest('Invalid file_id format');
}

export function canReadFile(
  userId: string | undefined,
  file: Pick<FileRow, 'owner_id' | 'is_public'>,
): boolean {
  return file.is_public === 1 || file.owner_id === userId;
}

export function assertCanReadFile(userId: string, file: FileRow | undefined, id: string): FileRow {
  if (!file) throw ERRORS.notFound('File not found', { info: `no file ${id}` });
  if (!canReadFile(userId, file))
    throw ERRORS.forbidden('Permission denied: file is not public and you are not the owner');
  return file;
}

/**
 * A file someone may clone a voice from: readable by them (their own or
 * public) and audio. Ids are checked as strictly as every other file id.
 */
export function assertUsableSample(userId: string, file: FileRow | undefined, id: string): FileRow {
  if (!isUuid(id)) throw ERRORS.badRequest('Invalid audio_file_id format');
  if (!file) throw ERRORS.notFound('Audio file not found', { info: `no file ${id}` });
  if (!canReadFile(userId, file)) {
    throw ERRORS.forbidden(
      'Permission denied: the audio file is not public and you are not its owner',
    );
  }
  if (file.kind !== 'audio')
    throw ERRORS.unsupportedMedia('The file is not audio', { info: `it is ${file.mime_type}` });
  return file;
}

/**
 * A voice's audition clip, for a viewer who may use the voice (checked by
 * `assertCanUseVoice` first): the clip stays a private file of the creator,
 * so access to the voice is what grants it, and only for that voice's clip.
 */
export function assertAuditionOf(
  voice: Pick<VoiceRow, 'audition_file_id' | 'created_by'>,
  file: FileRow | undefined,
): FileRow {
  if (!file || file.id !== voice.audition_file_id || file.owner_id !== voice.created_by) {
    throw ERRORS.notFound('Audition clip not found', { info: 'the voice has no audition clip' });
  }
  return file;
}

export function assertOwnsFile(userId: string, file: FileRow | undefined, id: string): FileRow {
  if (!file) throw ERRORS.notFound('File not found', { info: `no file ${id}` });
  if (file.owner_id !== userId)
    throw ERRORS.forbidden('Permission denied: you are not the owner of this file');
  return file;
}

/**
 * A voice someone may see and use: their own (any status), or a ready one
 * that is public or shared with them. Pending and failed voices of others
 * do not exist for them (404).
 */
export async function assertCanUseVoice<V extends VoiceRow>(
  userId: string,
  voice: V | undefined,
  isSharedWithUser: () => Promise<boolean>,
): Promise<V> {
  if (!voice || (voice.created_by !== userId && voice.status !== 'ready')) {
    throw ERRORS.notFound('Voice not found');
  }
  if (voice.created_by !== userId && voice.is_public !== 1 && !(await isSharedWithUser())) {
    throw ERRORS.forbidden('Permission denied: voice is not public and you are not the creator');
  }
  return voice;
}

export function assertOwnsVoice<V extends VoiceRow>(userId: string, voice: V | undefined): V {
  if (!voice || (voice.created_by !== userId && voice.status !== 'ready')) {
    throw ERRORS.notFound('Voice not found');
  }
  if (voice.created_by !== userId) {
    throw ERRORS.forbidden('Permission denied: you are not the creator of this voice');
  }
  return voice;
}

export function assertVoiceId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !isUuid(id)) throw ERRORS.badRequest('Invalid voice_id format');
}
