/**
 * Start-up: the time from spawning the server to its first 200 from
 * `GET /api/health`, with a built `dist/` and an untouched tree (so `npm
 * start`'s build check finds nothing to do). Each iteration runs, in turn:
 *
 * - `node -e ''`: the baseline, a bare Node process from spawn to exit;
 * - `node dist/src/server.js` on a fresh data folder (migrations run);
 * - `node dist/src/server.js` again on that folder (a restart: nothing to migrate);
 * - `node dist/src/server.bundle.js`, the same, fresh and restarted (what `npm start` runs);
 * - `npm start` on a fresh data folder (npm, the build check, then the bundled server);
 * - `npm start` again on that folder.
 *
 * SQLite, local disk, in-process jobs, offline engine (the defaults), on a
 * free port. Reports median and p90 per variant, each beside the baseline.
 *
 *   npx tsx bench/startup/startup.bench.ts          # --n 10
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, intArg, median, ms, percentile, ratio, table } from '../voices/lib.js';

const root = path.resolve(import.meta.dirname, '../..');
const n = intArg('n', 10);
const TARGET_MS = 1000;
const STAMP = path.join(root, 'dist', '.build-stamp');

interface Variant {
  name: string;
  /** The command, as spawned (no shell). */
  cmd: [string, ...string[]];
  /** Start on the data folder of the previous (fresh) variant instead of a new one. */
  restart: boolean;
  /** A server (timed to its first healthy answer) rather than a process timed to its exit. */
  server: boolean;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const variants: Variant[] = [
  {
    name: "node -e '' (baseline)",
    cmd: [process.execPath, '-e', ''],
    restart: false,
    server: false,
  },
  {
    name: 'node dist/src/server.js, fresh data',
    cmd: [process.execPath, 'dist/src/server.js'],
    restart: false,
    server: true,
  },
  {
    name: 'node dist/src/server.js, restart',
    cmd: [process.execPath, 'dist/src/server.js'],
    restart: true,
    server: true,
  },
  {
    name: 'node dist/src/server.bundle.js, fresh data',
    cmd: [process.execPath, 'dist/src/server.bundle.js'],
    restart: false,
    server: true,
  },
  {
    name: 'node dist/src/server.bundle.js, restart',
    cmd: [process.execPath, 'dist/src/server.bundle.js'],
    restart: true,
    server: true,
  },
  { name: 'npm start, fresh data', cmd: [npm, 'start'], restart: false, server: true },
  { name: 'npm start, restart', cmd: [npm, 'start'], restart: true, server: true },
];

/** Spawn → exit, in ms. */
async function timeExit(cmd: Variant['cmd']): Promise<number> {
  const t0 = performance.now();
  const child = spawn(cmd[0], cmd.slice(1), { cwd: root, stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return performance.now() - t0;
}

/** One GET /api/health; the status, or 0 while nothing listens. */
async function health(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/health`, {
      signal: AbortSignal.timeout(2000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Spawn → first 200 from /api/health, in ms; the server is stopped before returning. */
async function timeServer(cmd: Variant['cmd'], dataDir: string): Promise<number> {
  const port = await freePort();
  let output = '';
  const t0 = performance.now();
  // A process group of its own: `npm start` runs the server in a grandchild.
  const child = spawn(cmd[0], cmd.slice(1), {
    cwd: root,
    detached: true,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  try {
    for (;;) {
      if (exited) throw new Error(`${cmd.join(' ')} exited before answering:\n${output}`);
      if ((await health(port)) === 200) break;
      if (performance.now() - t0 > 60_000) throw new Error(`no healthy answer in 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const elapsed = performance.now() - t0;
    if (/sources changed: building/.test(output)) {
      throw new Error('npm start rebuilt: the tree is not untouched (run `npm run build` first)');
    }
    return elapsed;
  } finally {
    if (!exited && child.pid) {
      process.kill(-child.pid, 'SIGTERM');
      const killer = setTimeout(() => {
        if (!exited && child.pid) process.kill(-child.pid, 'SIGKILL');
      }, 10_000);
      await gone;
      clearTimeout(killer);
    }
  }
}

// A built dist whose stamp matches the tree: `npm start` then only checks.
const check = spawnSync(process.execPath, ['scripts/build-if-stale.js'], {
  cwd: root,
  stdio: 'inherit',
});
if (check.status !== 0) throw new Error('build failed');
if (!existsSync(STAMP)) throw new Error('no dist/.build-stamp after the build');
const stamp = readFileSync(STAMP, 'utf8');

const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
const dirs: string[] = [];
// Interleaved: every variant once per round, so a change in the machine's load
// falls on all of them alike.
for (let i = 0; i < n; i++) {
  let dataDir = '';
  for (const v of variants) {
    let t: number;
    if (!v.server) t = await timeExit(v.cmd);
    else {
      if (!v.restart) {
        dataDir = mkdtempSync(path.join(tmpdir(), 'timbre-startup-'));
        dirs.push(dataDir);
      }
      t = await timeServer(v.cmd, dataDir);
    }
    times.get(v.name)!.push(t);
  }
  process.stderr.write(`round ${i + 1}/${n} done\n`);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
if (readFileSync(STAMP, 'utf8') !== stamp) throw new Error('dist was rebuilt during the run');

const base = times.get(variants[0]!.name)!;
const baseMedian = median(base);
const rows = variants.map((v) => {
  const xs = times.get(v.name)!;
  const p50 = median(xs);
  const p90 = percentile(xs, 90);
  return [
    v.name,
    xs.length,
    ms(p50),
    ms(p90),
    v.server ? ms(p50 - baseMedian) : '-',
    ratio(p50 / baseMedian),
    v.server ? (p90 < TARGET_MS ? 'yes' : 'no') : '-',
  ];
});
console.log(
  table(
    [
      'variant',
      'n',
      'median ms',
      'p90 ms',
      'median − baseline ms',
      'median / baseline',
      `p90 < ${TARGET_MS} ms`,
    ],
    rows,
  ),
);
