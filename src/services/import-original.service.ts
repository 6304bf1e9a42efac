import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { AudioUnreadableError, probeAudio, sniffType } from '../audio/index.js';
import { isUniqueViolation, type Db } from '../repositories/db.js';
import { FileRepository, type FileRow } from '../repositories/file.repository.js';
import { UserRepository, type UserRow } from '../repositories/user.repository.js';
import { insertVoice, VoiceRepository, type VoiceRow } from '../repositories/voice.repository.js';
import type { BlobStore } from '../storage/blob-store.js';
import { sanitizeFileName, typeBySniffedExt, type AllowedType } from './file-types.js';

/**
 * Reads the original Flask app's MySQL database (users, files, voices) and
 * upload folders and creates the same rows in Timbre, ids kept. See
 * `spec/original-schema.md` for the source schema.
 */

/** One row as the original stored it (ids are 16 binary bytes). */
export interface OriginalUser {
  id: Buffer;
  username: string | null;
  phone_number: string | null;
  email: string | null;
  password: string | null;
  avatar_url: Buffer | null;
  created_ts: number | string | null;
}
export interface OriginalFile {
  file_id: Buffer;
  file_name: string | null;
  file_path: string | null;
  file_size: number | null;
  file_type: string | null;
  created_ts: number | string | null;
  created_by: Buffer | null;
  is_public: number | null;
  description: string | null;
}
export interface OriginalVoice {
  voice_id: Buffer;
  voice_name: string | null;
  voice_url: Buffer | null;
  created_ts: number | string | null;
  created_by: Buffer | null;
  is_public: number | null;
  call_name: string | null;
  voice_gender: string | null;
  voice_description: string | null;
}

/** Where the original's rows come from (a MySQL connection in production, arrays in a unit test). */
export interface OriginalSource {
  users(): Promise<OriginalUser[]>;
  files(): Promise<OriginalFile[]>;
  voices(): Promise<OriginalVoice[]>;
}

/** The source queries. Times are read with UNIX_TIMESTAMP, i.e. in the session's (server's) zone. */
export const ORIGINAL_QUERIES = {
  users:
    'SELECT id, username, phone_number, email, password, avatar_url, ' +
    'UNIX_TIMESTAMP(created_at) AS created_ts FROM users ORDER BY created_at, id',
  files:
    'SELECT file_id, file_name, file_path, file_size, file_type, ' +
    'UNIX_TIMESTAMP(created_at) AS created_ts, created_by, is_public, description ' +
    'FROM files ORDER BY created_at, file_id',
  voices:
    'SELECT voice_id, voice_name, voice_url, UNIX_TIMESTAMP(created_at) AS created_ts, ' +
    'created_by, is_public, call_name, voice_gender, voice_description ' +
    'FROM voices ORDER BY created_at, voice_id',
} as const;

export type ImportTable = 'users' | 'files' | 'voices';

/** A row not taken as it was: skipped, or taken with a change (`imported`). */
export interface ImportProblem {
  table: ImportTable;
  id: string;
  outcome: 'skipped' | 'imported';
  reason: string;
}

export interface TableCounts {
  /** Rows in the original. */
  total: number;
  /** Rows created now (in a dry run: that would be created). */
  imported: number;
  /** Rows already in Timbre with that id (a rerun): left as they are. */
  existing: number;
  skipped: number;
}

export interface ImportReport {
  dry_run: boolean;
  users: TableCounts;
  files: TableCounts;
  voices: TableCounts;
  /** Bytes copied into storage (in a dry run: that would be). */
  bytes: number;
  problems: ImportProblem[];
}

export interface ImportOptions {
  /** Folder holding the original's uploads (`files/audio/`, `files/images/`). */
  uploadsDir: string;
  dryRun: boolean;
  /** Files larger than this are skipped (Timbre's upload limit). */
  maxBytes: number;
  onPhase?: (table: ImportTable, total: number) => void;
  onProgress?: (table: ImportTable, done: number) => void;
}

const BCRYPT_RE = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const DISK_NAME_RE = /^[0-9a-f]{32}\.[a-z0-9]{1,10}$/i;
const GENDERS = new Set(['male', 'female', 'other']);

/**
 * A UUID string from the original's 16 bytes, in standard byte order (what
 * MySQL's `BIN_TO_UUID(col)` without the swap flag gives).
 */
export function uuidFromBytes(b: Buffer | null | undefined): string | undefined {
  if (!b || b.length !== 16) return undefined;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function isoFromUnix(ts: number | string | null): string | undefined {
  const n = Number(ts);
  if (ts === null || !Number.isFinite(n)) return undefined;
  return new Date(Math.round(n * 1000)).toISOString();
}

/**
 * Imports users, then files, then voices. Idempotent: a row whose id is
 * already in Timbre is left alone, so a rerun changes nothing. Every row it
 * cannot take is reported with the reason; nothing is half-written (a file's
 * blob is removed when its row cannot be inserted).
 */
export class ImportOriginalService {
  private readonly users: UserRepository;
  private readonly files: FileRepository;
  private readonly voices: VoiceRepository;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
  ) {
    this.users = new UserRepository(db);
    this.files = new FileRepository(db);
    this.voices = new VoiceRepository(db);
  }

  async run(source: OriginalSource, opts: ImportOptions): Promise<ImportReport> {
    const report: ImportReport = {
      dry_run: opts.dryRun,
      users: counts(),
      files: counts(),
      voices: counts(),
      bytes: 0,
      problems: [],
    };
    const problem = (p: ImportProblem) => {
      report.problems.push(p);
      if (p.outcome === 'skipped') report[p.table].skipped++;
    };

    // Users. Owners that exist in Timbre after this phase (or would, in a dry run).
    const owners = new Set<string>();
    const avatars = new Map<string, string>();
    const users = await source.users();
    report.users.total = users.length;
    opts.onPhase?.('users', users.length);
    const claimed = { phone: new Map<string, string>(), email: new Map<string, string>() };
    let done = 0;
    for (const u of users) {
      await this.importUser(u, opts, report, problem, owners, avatars, claimed);
      opts.onProgress?.('users', ++done);
    }

    // Files.
    const fileKinds = new Map<string, 'audio' | 'image'>();
    const files = await source.files();
    report.files.total = files.length;
    opts.onPhase?.('files', files.length);
    done = 0;
    for (const f of files) {
      await this.importFile(f, opts, report, problem, owners, fileKinds);
      opts.onProgress?.('files', ++done);
    }

    // Voices.
    const voices = await source.voices();
    report.voices.total = voices.length;
    opts.onPhase?.('voices', voices.length);
    done = 0;
    for (const v of voices) {
      await this.importVoice(v, opts, report, problem, owners, fileKinds);
      opts.onProgress?.('voices', ++done);
    }

    // Avatars last: a user's avatar is a file, known only now.
    for (const [userId, fileId] of avatars) {
      if (fileKinds.get(fileId) !== 'image') {
        problem({
          table: 'users',
          id: userId,
          outcome: 'imported',
          reason: `avatar file ${fileId} was not imported as an image: avatar left empty`,
        });
        continue;
      }
      if (!opts.dryRun) {
        await this.db
          .updateTable('users')
          .set({ avatar_url: `/api/file/download/${fileId}` })
          .where('id', '=', userId)
          .where('avatar_url', 'is', null)
          .execute();
      }
    }
    return report;
  }

  private async importUser(
    u: OriginalUser,
    opts: ImportOptions,
    report: ImportReport,
    problem: (p: ImportProblem) => void,
    owners: Set<string>,
    avatars: Map<string, string>,
    claimed: { phone: Map<string, string>; email: Map<string, string> },
  ): Promise<void> {
    const id = uuidFromBytes(u.id);
    const skip = (reason: string) =>
      problem({ table: 'users', id: id ?? hex(u.id), outcome: 'skipped', reason });
    if (!id) return skip('id is not 16 bytes');
    if (await this.users.findById(id)) {
      report.users.existing++;
      owners.add(id);
      const avatar = uuidFromBytes(u.avatar_url);
      if (avatar) avatars.set(id, avatar);
      return;
    }
    const username = (u.username ?? '').trim();
    if (!username) return skip('username is empty');
    if ([...username].length > 18) return skip('username is longer than 18 characters');
    const hash = u.password ?? '';
    if (!BCRYPT_RE.test(hash)) return skip('password is not a bcrypt hash');
    const createdAt = isoFromUnix(u.created_ts);
    if (!createdAt) return skip('created_at is missing');

    // Phone and e-mail were not unique in the original; in Timbre they are.
    // The oldest user keeps an identifier; a later one is imported without it.
    const ids: { phone: string | null; email: string | null } = {
      phone: u.phone_number?.trim() || null,
      email: u.email?.trim().toLowerCase() || null,
    };
    for (const type of ['phone', 'email'] as const) {
      const value = ids[type];
      if (!value) continue;
      const holder =
        claimed[type].get(value) ?? (await this.users.findByIdentifier(type, value))?.id;
      if (holder && holder !== id) {
        ids[type] = null;
        problem({
          table: 'users',
          id,
          outcome: 'imported',
          reason: `${type} ${value} already belongs to user ${holder}: imported without it`,
        });
      } else {
        claimed[type].set(value, id);
      }
    }
    if (!ids.phone && !ids.email && (u.phone_number?.trim() || u.email?.trim())) {
      problem({
        table: 'users',
        id,
        outcome: 'imported',
        reason: 'no identifier left to log in with: set one before this user can log in',
      });
    }
    const row: UserRow = {
      id,
      username,
      phone: ids.phone,
      email: ids.email,
      password_hash: hash,
      avatar_url: null,
      created_at: createdAt,
      updated_at: createdAt,
    };
    if (!opts.dryRun) {
      try {
        await this.users.insert(row);
      } catch (err) {
        if (isUniqueViolation(err)) return skip('a unique field clashes with an existing user');
        throw err;
      }
    }
    report.users.imported++;
    owners.add(id);
    const avatar = uuidFromBytes(u.avatar_url);
    if (avatar) avatars.set(id, avatar);
  }

  private async importFile(
    f: OriginalFile,
    opts: ImportOptions,
    report: ImportReport,
    problem: (p: ImportProblem) => void,
    owners: Set<string>,
    kinds: Map<string, 'audio' | 'image'>,
  ): Promise<void> {
    const id = uuidFromBytes(f.file_id);
    const skip = (reason: string) =>
      problem({ table: 'files', id: id ?? hex(f.file_id), outcome: 'skipped', reason });
    if (!id) return skip('file_id is not 16 bytes');
    const existing = await this.files.findById(id);
    if (existing) {
      report.files.existing++;
      kinds.set(id, existing.kind);
      return;
    }
    const owner = uuidFromBytes(f.created_by);
    if (!owner || !owners.has(owner)) {
      return skip(`its owner ${owner ?? '(none)'} was not imported`);
    }
    const createdAt = isoFromUnix(f.created_ts);
    if (!createdAt) return skip('created_at is missing');
    const diskName = path.basename(f.file_path ?? '');
    if (!DISK_NAME_RE.test(diskName)) {
      return skip(`file_path '${f.file_path ?? ''}' is not a stored upload name`);
    }
    const found = await this.locate(opts.uploadsDir, diskName);
    if (!found) return skip(`${diskName} is not in the upload folders`);
    if (found.size > opts.maxBytes) {
      return skip(`${found.size} bytes is over the upload limit (${opts.maxBytes})`);
    }
    const bytes = await readFile(found.path);
    let inspected: { type: AllowedType; audio: AudioMeta | null };
    try {
      inspected = await inspect(bytes);
    } catch (err) {
      return skip(err instanceof Error ? err.message : String(err));
    }
    const name = sanitizeFileName(f.file_name ?? '') || diskName;
    let key = '';
    let size = bytes.length;
    let sha256 = '';
    if (!opts.dryRun) {
      key = `blobs/${uuidv7()}`;
      const put = await this.blobs.put(key, createReadStream(found.path));
      size = put.size;
      sha256 = put.sha256;
    }
    const row: FileRow = {
      id,
      owner_id: owner,
      file_name: name,
      storage_key: key,
      size,
      mime_type: inspected.type.mime,
      kind: inspected.type.kind,
      ext: inspected.type.ext,
      is_public: f.is_public === 0 ? 0 : 1,
      description: f.description,
      sha256,
      audio_duration: inspected.audio?.duration ?? null,
      audio_codec: inspected.audio?.codec ?? null,
      audio_sample_rate: inspected.audio?.sampleRate ?? null,
      audio_channels: inspected.audio?.channels ?? null,
      origin: 'upload',
      created_at: createdAt,
      updated_at: createdAt,
    };
    if (!opts.dryRun) {
      try {
        await this.files.insert(row);
      } catch (err) {
        await this.blobs.delete(key).catch(() => undefined);
        throw err;
      }
    }
    if (f.file_size !== null && Number(f.file_size) !== size) {
      problem({
        table: 'files',
        id,
        outcome: 'imported',
        reason: `the original recorded ${f.file_size} bytes; the stored upload has ${size}`,
      });
    }
    report.files.imported++;
    report.bytes += size;
    kinds.set(id, row.kind);
  }

  private async importVoice(
    v: OriginalVoice,
    opts: ImportOptions,
    report: ImportReport,
    problem: (p: ImportProblem) => void,
    owners: Set<string>,
    kinds: Map<string, 'audio' | 'image'>,
  ): Promise<void> {
    const id = uuidFromBytes(v.voice_id);
    const skip = (reason: string) =>
      problem({ table: 'voices', id: id ?? hex(v.voice_id), outcome: 'skipped', reason });
    if (!id) return skip('voice_id is not 16 bytes');
    if (await this.voices.findById(id)) {
      report.voices.existing++;
      return;
    }
    const owner = uuidFromBytes(v.created_by);
    if (!owner || !owners.has(owner))
      return skip(`its owner ${owner ?? '(none)'} was not imported`);
    const audition = uuidFromBytes(v.voice_url);
    if (!audition || kinds.get(audition) !== 'audio') {
      return skip(`its audition file ${audition ?? '(none)'} was not imported as audio`);
    }
    const name = (v.voice_name ?? '').trim();
    if (!name || [...name].length > 50) return skip('voice_name is empty or over 50 characters');
    const callName = (v.call_name ?? '').trim();
    if (!callName) return skip('call_name (the DashScope voice id) is empty');
    const gender = v.voice_gender ?? '';
    if (!GENDERS.has(gender)) return skip(`voice_gender '${gender}' is not male, female or other`);
    const createdAt = isoFromUnix(v.created_ts);
    if (!createdAt) return skip('created_at is missing');
    const row: VoiceRow = {
      id,
      voice_name: name,
      voice_gender: gender as VoiceRow['voice_gender'],
      voice_description: v.voice_description ?? '',
      is_public: v.is_public === 1 ? 1 : 0,
      // The original kept no sample: its audition clip is the only recording of the voice.
      sample_file_id: audition,
      audition_file_id: audition,
      call_name: callName,
      provider: 'dashscope',
      target_model: 'cosyvoice-v1',
      status: 'ready',
      error_info: null,
      error_status: null,
      quality: null,
      created_by: owner,
      created_at: createdAt,
      updated_at: createdAt,
    };
    if (!opts.dryRun) {
      await this.db.transaction().execute(async (trx) => {
        // With its keyword index rows, or a search would never find it.
        await insertVoice(trx, row);
        // The clip was generated for the voice: mark it so clients can tell.
        await trx
          .updateTable('files')
          .set({ origin: 'audition' })
          .where('id', '=', audition)
          .execute();
      });
    }
    report.voices.imported++;
  }

  /** The upload's path: `files/audio/` or `files/images/` under the folder, or the folder itself. */
  private async locate(
    root: string,
    diskName: string,
  ): Promise<{ path: string; size: number } | undefined> {
    for (const dir of [
      path.join(root, 'files', 'audio'),
      path.join(root, 'files', 'images'),
      root,
    ]) {
      const p = path.join(dir, diskName);
      const s = await stat(p).catch(() => undefined);
      if (s?.isFile()) return { path: p, size: s.size };
    }
    return undefined;
  }
}

interface AudioMeta {
  duration: number;
  codec: string;
  sampleRate: number;
  channels: number;
}

/** Type from the content (never the name), and the audio's headers for audio. */
async function inspect(bytes: Buffer): Promise<{ type: AllowedType; audio: AudioMeta | null }> {
  if (bytes.length === 0) throw new Error('the upload is empty');
  const sniffed = await sniffType(bytes.subarray(0, 4100));
  const type = sniffed ? typeBySniffedExt(sniffed.ext) : undefined;
  if (!type) {
    throw new Error(
      sniffed
        ? `content is ${sniffed.mime}, which Timbre does not store`
        : 'content is not a recognised audio or image format',
    );
  }
  if (type.kind === 'image') return { type, audio: null };
  try {
    const p = await probeAudio(new Uint8Array(bytes));
    return {
      type,
      audio: {
        duration: p.durationSec,
        codec: p.codec,
        sampleRate: p.sampleRate,
        channels: p.channels,
      },
    };
  } catch (err) {
    if (err instanceof AudioUnreadableError)
      throw new Error(`audio cannot be parsed: ${err.message}`, { cause: err });
    throw new Error('audio cannot be parsed: the file is damaged or truncated', {
      cause: err,
    });
  }
}

function counts(): TableCounts {
  return { total: 0, imported: 0, existing: 0, skipped: 0 };
}

function hex(b: Buffer | null | undefined): string {
  return b ? `0x${b.toString('hex')}` : '(null)';
}
