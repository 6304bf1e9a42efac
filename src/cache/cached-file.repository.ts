import type { JsonCache } from './cache.js';
import type { Db } from '../repositories/db.js';
import { FileRepository, type FileRow } from '../repositories/file.repository.js';

/**
 * File metadata read through the cache (downloads, signed provider fetches
 * and voice checks look rows up by id all the time). Every write through
 * this repository replaces the row's version token in Redis after the
 * write, so every process sees a change at once, and a read that raced
 * with the write cannot store the old row where later reads find it
 * (JsonCache.rememberRecord).
 */
export class CachedFileRepository extends FileRepository {
  constructor(
    db: Db,
    private readonly cache: JsonCache,
  ) {
    super(db);
  }

  private key(id: string): string {
    return `file:${id}`;
  }

  override findById(id: string): Promise<FileRow | undefined> {
    return this.cache.rememberRecord(this.key(id), () => super.findById(id));
  }

  override async update(id: string, patch: Parameters<FileRepository['update']>[1]): Promise<void> {
    await super.update(id, patch);
    await this.cache.invalidate(this.key(id));
  }

  override async replaceContent(
    id: string,
    oldKey: string,
    patch: Parameters<FileRepository['replaceContent']>[2],
  ): Promise<boolean> {
    const ok = await super.replaceContent(id, oldKey, patch);
    await this.cache.invalidate(this.key(id));
    return ok;
  }

  override async delete(id: string): Promise<void> {
    await super.delete(id);
    await this.cache.invalidate(this.key(id));
  }
}
