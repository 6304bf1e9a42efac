#!/usr/bin/env node
// The `timbre` command. Runs the built code (dist/, from `npm run build`);
// in a source checkout without a build, or with TIMBRE_FROM_SOURCE=1, it
// runs the TypeScript sources through tsx.
/* global process */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/src/cli/timbre.js`;
if (process.env.TIMBRE_FROM_SOURCE !== '1' && existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(`${root}src/cli/timbre.ts`).href);
}
