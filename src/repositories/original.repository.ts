import type { Connection, RowDataPacket } from 'mysql2/promise';
import {
  ORIGINAL_QUERIES,
  type OriginalFile,
  type OriginalSource,
  type OriginalUser,
  type OriginalVoice,
} from '../services/import-original.service.js';

/**
 * The original app's MySQL database, read-only. The session keeps the
 * server's time zone on purpose: the original's timestamps are naive and
 * were written in it (UNIX_TIMESTAMP converts from it).
 */
export async function openOriginalSource(
  url: string,
): Promise<OriginalSource & { close(): Promise<void> }> {
  // Loaded here, so commands that never read the original do not load mysql2.
  const { createConnection } = await import('mysql2/promise');
  const conn: Connection = await createConnection({
    uri: url,
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  const rows = async <T>(q: string): Promise<T[]> => {
    const [r] = await conn.query<RowDataPacket[]>(q);
    return r as T[];
  };
  return {
    users: () => rows<OriginalUser>(ORIGINAL_QUERIES.users),
    files: () => rows<OriginalFile>(ORIGINAL_QUERIES.files),
    voices: () => rows<OriginalVoice>(ORIGINAL_QUERIES.voices),
    close: () => conn.end(),
  };
}
