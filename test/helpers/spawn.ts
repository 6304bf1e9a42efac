import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { repoRoot } from './fixtures.js';

/**
 * The project's own tsx, i.e. what `npx tsx` runs, without npm's start-up
 * (several seconds on a loaded machine).
 */
const TSX = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

/** A port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string | null>;
  /** Waits until the output matches `re`; rejects if the process exits first. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL to the whole process group (tsx → node); waits until it is gone. */
  kill(): Promise<void>;
}

/** Children still running: `killAll` in an afterAll is the safety net. */
const live = new Set<Child>();

// Children run in process groups of their own, so they would outlive a test
// process that exits without its afterAll hooks: kill them on the way out.
process.once('exit', () => {
  for (const c of live) {
    if (c.proc.pid && c.proc.exitCode === null && c.proc.signalCode === null) {
      try {
        process.kill(-c.proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

/**
 * Runs `tsx <script>` (as `npx tsx` would) from the repo root with `env` over
 * a minimal base environment, in a process group of its own so a kill reaches
 * every layer (tsx runs the script in a child node process).
 */
export function spawnTsx(script: string, env: Record<string, string>): Child {
  return spawnChild(TSX, [script], env);
}

/**
 * Runs a built entry as `npm start` and `npm run worker` do:
 * `node scripts/build-if-stale.js dist/src/<name>.bundle.js` (call
 * {@link buildOnce} first, so the start is not the build).
 */
export function spawnBuilt(name: 'server' | 'worker', env: Record<string, string>): Child {
  return spawnChild(
    process.execPath,
    ['scripts/build-if-stale.js', `dist/src/${name}.bundle.js`],
    env,
  );
}

/** Builds and bundles the service when its sources changed (what `npm start` does first). */
export function buildOnce(): Promise<void> {
  const child = spawnChild(process.execPath, ['scripts/build-if-stale.js'], {});
  return child.exited.then((code) => {
    if (code !== 0) throw new Error(`the build failed (${code}):\n${child.output().slice(-3000)}`);
  });
}

function spawnChild(command: string, args: string[], env: Record<string, string>): Child {
  const proc = spawn(command, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      ...env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    for (const l of listeners) l();
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  let gone = false;
  const exited = new Promise<number | string | null>((resolve) => {
    proc.once('exit', (code, signal) => {
      gone = true;
      for (const l of listeners) l();
      resolve(code ?? signal);
    });
  });

  const child: Child = {
    proc,
    output: () => out,
    exited,
    waitForOutput: (re, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(`no output matching ${re} within ${timeoutMs} ms:\n${out.slice(-3000)}`),
          );
        }, timeoutMs);
        const check = () => {
          if (re.test(out)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (gone) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`process exited before ${re}:\n${out.slice(-3000)}`));
          }
        };
        listeners.add(check);
        check();
      }),
    kill: async () => {
      live.delete(child);
      if (!gone && proc.pid) {
        try {
          process.kill(-proc.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
  live.add(child);
  return child;
}

export interface ServerChild extends Child {
  baseUrl: string;
}

/**
 * Starts `src/server.ts` (or, `built`, the bundle `npm start` runs) on
 * 127.0.0.1:`port` and waits until `/api/health` answers 200. The process is
 * killed when it does not get ready.
 */
export async function spawnServer(
  env: Record<string, string>,
  opts: { port?: number; timeoutMs?: number; built?: boolean } = {},
): Promise<ServerChild> {
  const port = opts.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const serverEnv = { HOST: '127.0.0.1', PORT: String(port), PUBLIC_BASE_URL: baseUrl, ...env };
  const child = opts.built ? spawnBuilt('server', serverEnv) : spawnTsx('src/server.ts', serverEnv);
  try {
    await waitForHealth(baseUrl, child, opts.timeoutMs ?? 45_000);
  } catch (err) {
    await child.kill();
    throw err;
  }
  return Object.assign(child, { baseUrl });
}

/** Starts `src/worker.ts` (or the built worker) and waits for its `worker started` log line. */
export async function spawnWorker(
  env: Record<string, string>,
  opts: { timeoutMs?: number; built?: boolean } = {},
): Promise<Child> {
  const child = opts.built ? spawnBuilt('worker', env) : spawnTsx('src/worker.ts', env);
  try {
    await child.waitForOutput(/"msg":"worker started"/, opts.timeoutMs ?? 45_000);
  } catch (err) {
    await child.kill();
    throw err;
  }
  return child;
}

async function waitForHealth(baseUrl: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    if (exited)
      throw new Error(`server exited before it was ready:\n${child.output().slice(-3000)}`);
    try {
      const res = await fetch(`${baseUrl}/api/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`server not healthy within ${timeoutMs} ms:\n${child.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Kills every child still running (call from afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.kill()));
}
