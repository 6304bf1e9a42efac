import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

/**
 * Runs a MySQL client program against the database of `url`: the MariaDB
 * name first, the MySQL one when that is not installed. A file streams to
 * its standard input (`stdinFrom`) or from its standard output (`stdoutTo`).
 * The password travels in the environment, never on the command line.
 */
export function runMysqlTool(opts: {
  /** e.g. ['mariadb-dump', 'mysqldump']. */
  tools: readonly [string, string];
  url: string;
  /** Flags before the connection arguments. */
  flags: readonly string[];
  stdinFrom?: string;
  stdoutTo?: string;
  /** The error when neither program is on the PATH. */
  missing: string;
}): Promise<void> {
  const u = new URL(opts.url);
  const args = [
    ...opts.flags,
    '--host',
    u.hostname,
    '--port',
    u.port || '3306',
    '--user',
    decodeURIComponent(u.username),
    u.pathname.slice(1),
  ];
  const env = { ...process.env, MYSQL_PWD: decodeURIComponent(u.password) };
  const run = (tool: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(tool, args, {
        env,
        stdio: [opts.stdinFrom ? 'pipe' : 'ignore', opts.stdoutTo ? 'pipe' : 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      if (opts.stdinFrom) pipeline(createReadStream(opts.stdinFrom), child.stdin!).catch(reject);
      if (opts.stdoutTo) pipeline(child.stdout!, createWriteStream(opts.stdoutTo)).catch(reject);
      child.once('close', (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`${tool} exited ${code}: ${stderr.trim().slice(0, 500)}`)),
      );
    });
  const [first, second] = opts.tools;
  return run(first).catch((err: NodeJS.ErrnoException) =>
    err.code === 'ENOENT'
      ? run(second).catch((e2: NodeJS.ErrnoException) => {
          throw e2.code === 'ENOENT' ? new Error(opts.missing) : e2;
        })
      : Promise.reject(err),
  );
}
