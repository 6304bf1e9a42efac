import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import SQLite from 'better-sqlite3';
import type { Config } from '../config.js';
import { runMysqlTool } from './mysql-tool.js';

export interface BackupResult {
  dir: string;
  manifest: BackupManifest;
  database: string;
  blobs: number;
  bytes: number;
}

/** One stored blob in a backup, relative to its `files/` folder. */
export interface BackupBlob {
  path: string;
  size: number;
  sha256: string;
}

/**
 * `manifest.json`. Format 2 adds every blob's size and SHA-256 (`files`), so
 * a restore can verify the whole backup; format 1 had the database's only.
 */
export interface BackupManifest {
  format?: number;
  created_at: string;
  database: { dialect: 'sqlite' | 'mysql'; file: string; sha256: string };
  blobs: number;
  bytes: number;
  files?: BackupBlob[];
}

/**
 * A consistent copy of the database and every stored blob in one folder:
 * SQLite through its online backup API (safe while the service runs), MySQL
 * through `mariadb-dump`/`mysqldump --single-transaction`; blobs are
 * hard-linked when on the same file system (blobs are never modified in
 * place, so a link is a true copy), copied otherwise.
 */
export async function backup(
  config: Config,
  outRoot?: string,
  onBlob?: (count: number) => void,
): Promise<BackupResult> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.resolve(outRoot ?? path.join(config.dataDir, 'backups'), stamp);
  await mkdir(dir, { recursive: true });

  let database: string;
  if (config.database.dialect === 'sqlite') {
    database = path.join(dir, 'timbre.db');
    const src = new SQLite(config.database.path, { readonly: true, fileMustExist: true });
    try {
      await src.backup(database);
    } finally {
      src.close();
    }
  } else {
    database = path.join(dir, 'timbre.sql');
    await mysqlDump(config.database.url, database);
  }

  let blobs = 0;
  let bytes = 0;
  const files: BackupBlob[] = [];
  const filesDir = path.join(dir, 'files');
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(config.storage.dir, rel), {
      withFileTypes: true,
    }).catch(() => []);
    for (const e of entries) {
      if (rel === '' && e.name === '.tmp') continue; // unfinished uploads are not data
      const r = path.join(rel, e.name);
      if (e.isDirectory()) {
        await walk(r);
      } else if (e.isFile()) {
        const from = path.join(config.storage.dir, r);
        const to = path.join(filesDir, r);
        await mkdir(path.dirname(to), { recursive: true });
        await link(from, to).catch(() => copyFile(from, to));
        blobs++;
        const size = (await stat(to)).size;
        bytes += size;
        files.push({ path: r.split(path.sep).join('/'), size, sha256: await sha256(to) });
        onBlob?.(blobs);
      }
    }
  };
  await walk('');
  const manifest: BackupManifest = {
    format: 2,
    created_at: new Date().toISOString(),
    database: {
      dialect: config.database.dialect,
      file: path.basename(database),
      sha256: await sha256(database),
    },
    blobs,
    bytes,
    files,
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { dir, manifest, database, blobs, bytes };
}

export async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

function mysqlDump(url: string, outFile: string): Promise<void> {
  return runMysqlTool({
    tools: ['mariadb-dump', 'mysqldump'],
    url,
    flags: ['--single-transaction', '--routines', '--default-character-set=utf8mb4', '--hex-blob'],
    stdoutTo: outFile,
    missing: 'backup of MySQL needs mariadb-dump or mysqldump on the PATH',
  });
}
