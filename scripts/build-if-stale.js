#!/usr/bin/env node
/* global process */
// `npm start` / `npm run worker`: runs the TypeScript build and the bundle
// (scripts/bundle.js) only when their inputs changed since the last one, then
// (given an entry such as dist/src/server.bundle.js) runs that entry in this
// same process, so a start costs one Node process, not one for the check and
// another for the server. The
// fingerprint is every input's path, size and modification time (a file
// added, removed or edited changes it), read from src/, migrations/ and
// emulator/ only (never node_modules/); it is kept in dist/.build-stamp
// after a successful build.
import { spawnSync } from 'node:child_process';
import module from 'node:module';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const INPUT_DIRS = ['src', 'migrations', 'emulator'];
const INPUT_FILES = [
  'tsconfig.json',
  'tsconfig.build.json',
  'package.json',
  'package-lock.json',
  'scripts/bundle.js',
];
const stampFile = path.join(root, 'dist', '.build-stamp');

function fingerprint() {
  const h = createHash('sha256');
  const add = (rel) => {
    const s = statSync(path.join(root, rel), { throwIfNoEntry: false });
    if (s) h.update(`${rel}\0${s.size}\0${s.mtimeMs}\n`);
  };
  const walk = (rel) => {
    const entries = readdirSync(path.join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) add(r);
    }
  };
  for (const d of INPUT_DIRS) if (existsSync(path.join(root, d))) walk(d);
  for (const f of INPUT_FILES) add(f);
  return h.digest('hex');
}

function upToDate(current) {
  const built = existsSync(path.join(root, 'dist', 'src', 'server.bundle.js'));
  const stamp = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
  return built && stamp === current;
}

/**
 * One build at a time: `npm start` and `npm run worker` started together on a
 * changed tree would otherwise both build, and the bundler replaces files the
 * other may be loading. A lock left by a killed build lapses after 10 minutes.
 */
async function withBuildLock(fn) {
  const lock = `${stampFile}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > 10 * 60_000) rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Builds when the inputs changed since the last build; exits with tsc's status if it fails. */
async function buildIfStale() {
  const current = fingerprint();
  if (upToDate(current)) return;
  await withBuildLock(async () => {
    // Another process may have built while this one waited.
    if (upToDate(current)) return;
    await build(current);
  });
}

async function build(current) {
  process.stderr.write('sources changed: building\n');
  const tsc = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: root, stdio: 'inherit' },
  );
  if (tsc.status !== 0) {
    rmSync(`${stampFile}.lock`, { force: true });
    process.exit(tsc.status ?? 1);
  }
  // The bundler loads only when a build is due.
  const { bundle } = await import('./bundle.js');
  await bundle();
  writeFileSync(stampFile, current + '\n');
}

await buildIfStale();
const entry = process.argv[2];
if (entry) {
  // Node 22.1 and later keep V8's compiled code of every module the entry
  // loads between starts (in the system's temp folder); Node 20 has no such
  // cache and skips this.
  module.enableCompileCache?.();
  // The entry sees the arguments after it, as if it had been started itself.
  process.argv.splice(1, 2, path.resolve(root, entry));
  await import(pathToFileURL(path.resolve(root, entry)).href);
}
