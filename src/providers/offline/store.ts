import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { StyleProfile } from './style.js';

/** One offline voice as persisted: `<dir>/<id>.json`. */
export interface StoredVoice {
  schema: 1;
  id: string;
  prefix: string;
  targetModel: string;
  createdAt: string;
  /** Always `style-match`: this engine does not clone timbre. */
  method: 'style-match';
  description: string;
  profile: StyleProfile;
  sample: {
    bytes: number;
    sha256: string;
    container: string;
    codec: string;
    sampleRate: number;
    channels: number;
    durationSec: number;
    qualityScore: number;
  };
}

/** `offline-<prefix>-<32 hex>`; anything else is not one of ours (and never a path). */
export const OFFLINE_VOICE_ID = /^offline-([a-z0-9]{1,10})-([0-9a-f]{32})$/;

/** JSON files in one directory, written atomically (temp file + rename). */
export class VoiceStore {
  constructor(readonly dir: string) {}

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  async put(voice: StoredVoice): Promise<void> {
    if (!OFFLINE_VOICE_ID.test(voice.id)) throw new Error(`Invalid offline voice id ${voice.id}`);
    await mkdir(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `.${voice.id}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, JSON.stringify(voice, null, 2) + '\n', { flag: 'wx' });
      await rename(tmp, this.file(voice.id));
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  /** undefined for unknown or malformed ids. */
  async get(id: string): Promise<StoredVoice | undefined> {
    if (!OFFLINE_VOICE_ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(this.file(id), 'utf8')) as StoredVoice;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Resolves whether or not the voice existed. */
  async delete(id: string): Promise<void> {
    if (!OFFLINE_VOICE_ID.test(id)) return;
    await rm(this.file(id), { force: true });
  }

  /** Every stored voice, oldest first (ties by id). */
  async list(): Promise<StoredVoice[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const voices: StoredVoice[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const voice = await this.get(name.slice(0, -'.json'.length));
      if (voice) voices.push(voice);
    }
    return voices.sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
    );
  }
}

function isNotFound(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT'
  );
}
