#!/usr/bin/env node
/* global process */
// Bundles the built entries (dist/src/server.js, dist/src/worker.js) with
// esbuild into dist/src/*.bundle.js, so that a start reads a few files instead
// of resolving and linking about a thousand modules (typebox, kysely and
// fastify alone are some 900). Packages that load native code, WASM, worker
// files or assets from their own folder stay outside (imported as usual), and
// so do the optional ones the service loads only when configured (MySQL,
// Redis, BullMQ, S3). Dynamic imports stay lazy: they become chunks of their
// own beside the entries, in the same folder, so every path taken from
// src/paths.ts holds.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Plain JavaScript packages that are safe to carry inside the bundle. */
const BUNDLED = new Set([
  'fastify',
  'typebox',
  'kysely',
  'zod',
  'jose',
  'uuid',
  'p-retry',
  'prom-client',
  'ws',
  '@fastify/multipart',
  '@fastify/rate-limit',
  '@fastify/swagger',
  '@fastify/under-pressure',
  '@fastify/fast-json-stringify-compiler',
]);

const external = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.devDependencies ?? {}),
].filter((name) => !BUNDLED.has(name));
// Optional native helpers that bundled packages try to load (ws, prom-client).
external.push('bufferutil', 'utf-8-validate', '@opentelemetry/api');

export async function bundle() {
  // Chunks are named by content: drop the previous build's.
  const out = path.join(root, 'dist', 'src');
  for (const f of readdirSync(out)) {
    if (/^bundle-.*\.js$|\.bundle\.js$/.test(f)) rmSync(path.join(out, f));
  }
  await build({
    absWorkingDir: root,
    entryPoints: ['dist/src/server.js', 'dist/src/worker.js'],
    outdir: 'dist/src',
    entryNames: '[name].bundle',
    chunkNames: 'bundle-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    // CommonJS packages inside an ES module bundle still call require().
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
    },
    logLevel: 'warning',
    legalComments: 'none',
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundle();
}
