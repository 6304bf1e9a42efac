import type { Logger } from 'pino';
import type { FileRepository } from '../../repositories/file.repository.js';
import type { BlobStore } from '../../storage/blob-store.js';

export interface SweepReport {
  temporary: number;
  orphans: number;
  missing: number;
}

/**
 * Removes blobs no row points to, older than `minAgeMs` (younger ones may
 * belong to a write in flight), and temporary leftovers of interrupted writes
 * older than `temporaryMinAgeMs`; logs rows whose blob is missing.
 */
export async function sweepStorage(
  deps: {
    files: Pick<FileRepository, 'knownKeys' | 'page'>;
    blobs: BlobStore;
    log: Logger;
    now: () => Date;
  },
  minAgeMs: number,
  temporaryMinAgeMs = minAgeMs,
): Promise<SweepReport> {
  const { files, blobs, log } = deps;
  const cutoff = deps.now().getTime() - minAgeMs;
  const temporaryCutoff = deps.now().getTime() - temporaryMinAgeMs;
  let temporary = 0;
  let orphans = 0;
  let batch: string[] = [];
  const flush = async () => {
    const known = await files.knownKeys(batch);
    for (const key of batch) {
      if (!known.has(key)) {
        await blobs.delete(key);
        orphans++;
        log.warn({ blob: key }, 'removed orphan blob');
      }
    }
    batch = [];
  };
  for await (const entry of blobs.list()) {
    if (entry.temporary) {
      if (entry.mtime.getTime() > temporaryCutoff) continue;
      await blobs.deleteTemporary(entry.key);
      temporary++;
    } else if (entry.mtime.getTime() <= cutoff) {
      batch.push(entry.key);
      if (batch.length >= 500) await flush();
    }
  }
  await flush();
  let missing = 0;
  for (let after = ''; ;) {
    const rows = await files.page(after, 500);
    if (!rows.length) break;
    for (const r of rows) {
      if (!(await blobs.stat(r.storage_key))) {
        missing++;
        log.error({ file_id: r.id, blob: r.storage_key }, 'file row has no blob');
      }
    }
    after = rows[rows.length - 1]!.id;
  }
  return { temporary, orphans, missing };
}
