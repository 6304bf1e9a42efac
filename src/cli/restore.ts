import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Command } from 'commander';
import type { Config } from '../config.js';
import { openDatabase } from '../repositories/db.js';
import { migrateToLatest } from '../repositories/migrate.js';
import { sha256, type BackupManifest } from './backup.js';
import {
  CliError,
  cliConfig,
  cliDatabaseReady,
  EXIT,
  emit,
  Progress,
  type OutputOptions,
} from './common.js';
import { runMysqlTool } from './mysql-tool.js';

export interface VerifyResult {
  manifest: BackupManifest;
  /** Whether every blob had a checksum to check (format 2 manifests). */
  blobsVerified: boolean;
  /** What does not match; empty when the backup is whole. */
  problems: string[];
}

/**
 * Checks a backup folder against its manifest: the database's SHA-256 and,
 * from format 2 on, every blob's size and SHA-256. Reads everything once.
 */
export async function verifyBackup(
  dir: string,
  onBlob?: (done: number, total: number) => void,
): Promise<VerifyResult> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(
      await readFile(path.join(dir, 'manifest.json'), 'utf8'),
    ) as BackupManifest;
  } catch (err) {
    throw new CliError(`${dir} holds no readable manifest.json: ${String(err)}`, EXIT.corrupt);
  }
  const problems: string[] = [];
  const dbFile = path.join(dir, path.basename(manifest.database.file));
  const dbHash = await sha256(dbFile).catch(() => undefined);
  if (dbHash === undefined) problems.push(`database file ${manifest.database.file} is missing`);
  else if (dbHash !== manifest.database.sha256)
    problems.push(`database file ${manifest.database.file}: checksum does not match`);
  const files = manifest.files;
  if (files) {
    let done = 0;
    for (const f of files) {
      const p = safeJoin(path.join(dir, 'files'), f.path);
      const s = p ? await stat(p).catch(() => undefined) : undefined;
      if (!p || !s?.isFile()) problems.push(`blob ${f.path} is missing`);
      else if (s.size !== f.size)
        problems.push(`blob ${f.path}: ${s.size} bytes, expected ${f.size}`);
      else if ((await sha256(p)) !== f.sha256)
        problems.push(`blob ${f.path}: checksum does not match`);
      onBlob?.(++done, files.length);
    }
  }
  return { manifest, blobsVerified: files !== undefined, problems };
}

export interface RestoreResult {
  dir: string;
  dialect: 'sqlite' | 'mysql';
  blobs: number;
  bytes: number;
  blobs_verified: boolean;
  /** Migrations applied after the restore (a backup of an older schema). */
  migrated: string[];
}

/**
 * Restores a verified backup into the configured database and storage.
 * Refuses (exit 4) a target that holds data unless `force`, which replaces
 * it. Stop the service first: the database is swapped underneath it.
 */
export async function restore(
  config: Config,
  dir: string,
  opts: { force?: boolean; progress?: Progress } = {},
): Promise<RestoreResult> {
  const progress = opts.progress ?? new Progress(false);
  const total = await countManifestBlobs(dir);
  progress.start('verify', total);
  const verified = await verifyBackup(dir, (done) => progress.update(done));
  progress.stop();
  if (verified.problems.length) {
    throw new CliError(
      `the backup in ${dir} failed verification:\n  ${verified.problems.join('\n  ')}`,
      EXIT.corrupt,
    );
  }
  const { manifest } = verified;
  if (manifest.database.dialect !== config.database.dialect) {
    throw new CliError(
      `the backup holds a ${manifest.database.dialect} database; DATABASE_URL is ${config.database.dialect}`,
      EXIT.refused,
    );
  }

  const dbHolds = await databaseHoldsData(config);
  const storageHolds = (await listBlobs(config.storage.dir)).length > 0;
  if ((dbHolds || storageHolds) && !opts.force) {
    throw new CliError(
      `the target is not empty (${[
        dbHolds && 'the database has rows',
        storageHolds && `${config.storage.dir} has files`,
      ]
        .filter(Boolean)
        .join(', ')}): restore refuses to overwrite it without --force`,
      EXIT.refused,
    );
  }

  const dbFile = path.join(dir, path.basename(manifest.database.file));
  if (config.database.dialect === 'sqlite') {
    const target = path.resolve(config.database.path);
    await mkdir(path.dirname(target), { recursive: true });
    const staging = `${target}.restoring`;
    await copyFile(dbFile, staging);
    for (const suffix of ['-wal', '-shm', '-journal']) await rm(target + suffix, { force: true });
    await rename(staging, target);
  } else {
    await dropAllTables(config.database.url);
    await mysqlLoad(config.database.url, dbFile);
  }

  // Blobs: the target's are replaced (with --force) by the backup's.
  await rm(config.storage.dir, { recursive: true, force: true });
  const blobs = await listBlobs(path.join(dir, 'files'));
  progress.start('blobs', blobs.length);
  let bytes = 0;
  let done = 0;
  for (const rel of blobs) {
    const from = path.join(dir, 'files', rel);
    const to = path.join(config.storage.dir, rel);
    await mkdir(path.dirname(to), { recursive: true });
    // Blobs are never modified in place, so a hard link is a true copy.
    await link(from, to).catch(() => copyFile(from, to));
    bytes += (await stat(to)).size;
    progress.update(++done);
  }
  progress.stop();
  await mkdir(path.join(config.storage.dir, '.tmp'), { recursive: true });

  const db = openDatabase(config.database);
  let migrated: string[];
  try {
    const r = await migrateToLatest(db.db);
    migrated = r.results?.filter((x) => x.status === 'Success').map((x) => x.migrationName) ?? [];
  } finally {
    await db.close();
  }
  return {
    dir,
    dialect: config.database.dialect,
    blobs: blobs.length,
    bytes,
    blobs_verified: verified.blobsVerified,
    migrated,
  };
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('verify a backup folder and restore its database and files into an empty target')
    .argument('<dir>', 'a folder written by `timbre backup` (holding manifest.json)')
    .option('--force', 'replace a target that already holds data')
    .option('--verify-only', 'check the checksums and stop')
    .option('--json', 'print the result as JSON')
    .action(
      async (dir: string, opts: OutputOptions & { force?: boolean; verifyOnly?: boolean }) => {
        const progress = Progress.for(opts);
        if (opts.verifyOnly) {
          const v = await verifyBackup(path.resolve(dir));
          emit(
            opts,
            { ok: !v.problems.length, blobs_verified: v.blobsVerified, problems: v.problems },
            () =>
              v.problems.length
                ? `backup is damaged:\n  ${v.problems.join('\n  ')}\n`
                : `backup verified (${v.manifest.blobs} files${v.blobsVerified ? '' : ', database only: the manifest has no blob checksums'})\n`,
          );
          process.exitCode = v.problems.length ? EXIT.corrupt : EXIT.ok;
          return;
        }
        const config = cliConfig();
        await cliDatabaseReady(config);
        const r = await restore(config, path.resolve(dir), { force: opts.force, progress });
        emit(
          opts,
          r,
          () =>
            `restored ${r.dialect} database and ${r.blobs} files (${r.bytes} bytes) from ${r.dir}\n` +
            (r.blobs_verified
              ? ''
              : 'note: the manifest had no blob checksums; only the database was verified\n') +
            (r.migrated.length ? `migrated: ${r.migrated.join(', ')}\n` : ''),
        );
      },
    );
}

async function countManifestBlobs(dir: string): Promise<number> {
  try {
    const m = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
    return m.files?.length ?? 0;
  } catch {
    return 0;
  }
}

/** `rel` under `root`, or undefined when it would leave it. */
function safeJoin(root: string, rel: string): string | undefined {
  const p = path.resolve(root, rel);
  return p.startsWith(path.resolve(root) + path.sep) ? p : undefined;
}

/** Every file under `root` (relative), leaving out unfinished uploads in `.tmp`. */
async function listBlobs(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (rel === '' && e.name === '.tmp') continue;
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

/** Whether any table (other than the migration bookkeeping) has a row. */
async function databaseHoldsData(config: Config): Promise<boolean> {
  if (config.database.dialect === 'sqlite') {
    const s = await stat(config.database.path).catch(() => undefined);
    if (!s) return false;
    const db = new SQLite(config.database.path, { readonly: true });
    try {
      const tables = db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%'",
        )
        .all() as { name: string }[];
      return tables.some(
        (t) => db.prepare(`SELECT 1 FROM "${t.name}" LIMIT 1`).get() !== undefined,
      );
    } finally {
      db.close();
    }
  }
  const { createConnection } = await import('mysql2/promise');
  const conn = await createConnection({ uri: config.database.url });
  try {
    const [tables] = await conn.query(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT LIKE 'kysely\\_%'",
    );
    for (const t of tables as { name: string }[]) {
      const [rows] = await conn.query(`SELECT 1 FROM \`${t.name}\` LIMIT 1`);
      if ((rows as unknown[]).length) return true;
    }
    return false;
  } finally {
    await conn.end();
  }
}

/** Empties the target MySQL database (the dump then creates every table). */
async function dropAllTables(url: string): Promise<void> {
  const { createConnection } = await import('mysql2/promise');
  const conn = await createConnection({ uri: url });
  try {
    const [tables] = await conn.query(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()',
    );
    await conn.query('SET FOREIGN_KEY_CHECKS = 0');
    for (const t of tables as { name: string }[]) await conn.query(`DROP TABLE \`${t.name}\``);
    await conn.query('SET FOREIGN_KEY_CHECKS = 1');
  } finally {
    await conn.end();
  }
}

/** Feeds a dump to the `mariadb` (or `mysql`) client. */
function mysqlLoad(url: string, dumpFile: string): Promise<void> {
  return runMysqlTool({
    tools: ['mariadb', 'mysql'],
    url,
    flags: ['--default-character-set=utf8mb4'],
    stdinFrom: dumpFile,
    missing: 'restoring MySQL needs the mariadb or mysql client on the PATH',
  });
}
