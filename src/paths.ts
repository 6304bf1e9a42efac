import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The folder of the service's own modules: `src/` under tsx, `dist/src/` when
 * built. The start-up bundle (`scripts/bundle.js`) is written to that same
 * folder, so paths taken from here hold bundled or not; a module deeper in
 * the tree must not use its own `import.meta.url` for them.
 */
export const SRC_DIR = path.dirname(fileURLToPath(import.meta.url));

/** `ts` under tsx, `js` when built. */
export const MODULE_EXT = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

/** The URL of one of the service's modules, e.g. `moduleUrl('workers/cpu-tasks')`. */
export function moduleUrl(relativeWithoutExt: string): URL {
  return pathToFileURL(path.join(SRC_DIR, `${relativeWithoutExt}.${MODULE_EXT}`));
}
