import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');

/** Audio fixtures committed to the repo (BSD, MIT and CC0 files only). */
export const fixtureDir = path.join(repoRoot, 'test', 'fixtures', 'audio');
/** The full shared data set, present beside the repo in CI, absent on a bare clone. */
export const sharedDataDir = path.resolve(repoRoot, '..', 'shared', 'data');
export const hasSharedData = existsSync(path.join(sharedDataDir, 'manifest.json'));

export interface ManifestEntry {
  file: string;
  extension: string;
  expected_verdict: string;
  alternative_verdicts?: string[];
  container: string | null;
  codec: string | null;
  sample_rate_hz: number | null;
  channels: number | null;
  duration_s: number | null;
  mime_type: string | null;
  category: string;
  speaker_gender?: string | null;
  license: string;
  size_bytes: number;
  sha256: string;
}

interface Manifest {
  files: ManifestEntry[];
}

/** Every sample we can read here: the shared set when present, else the committed subset. */
export function audioSamples(): { entry: ManifestEntry; path: string }[] {
  const dir = hasSharedData ? sharedDataDir : fixtureDir;
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return manifest.files.map((entry) => ({ entry, path: path.join(dir, entry.file) }));
}

/** A committed fixture by its path inside the data set, e.g. `speech/spk02_m_en_jfk.mp3`. */
export function fixture(rel: string): string {
  return path.join(fixtureDir, rel);
}
