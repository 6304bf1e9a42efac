import { ERRORS } from '../errors.js';
import type { FileRow } from '../repositories/file.repository.js';

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

export function assertOwnsFile(userId: string, file: FileRow | undefined, id: string): FileRow {
  if (!file) throw ERRORS.notFound('File not found', { info: `no file ${id}` });
  if (file.owner_id !== userId)
    throw ERRORS.forbidden('Permission denied: you are not the owner of this file');
  return file;
}
