import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { ERRORS } from '../errors.js';
import type { FileRepository, FileRow } from '../repositories/file.repository.js';
import { BlobNotFoundError, readWhole, type BlobStore } from '../storage/blob-store.js';
import { wholeRange } from '../storage/range.js';
import type { UrlSigner } from '../storage/signed-url.js';
import { pageOf, parseBool } from '../api/schemas/lenient.js';
import type { FileListBody, FileListItem, FileUpdateBody, FileView } from '../api/schemas/files.js';
import type { VoiceRow } from '../repositories/voice.repository.js';
import type { AudioWork } from '../workers/audio-work.js';
import { assertAuditionOf, assertCanReadFile, assertFileId, assertOwnsFile } from './access.js';
import { extensionOf, sanitizeFileName, typeByName } from './file-types.js';
import {
  planDownload,
  type ConditionalRequest,
  type DownloadDescriptor,
  type DownloadMode,
} from './files/download-response.js';
import { buildFileRow, contentColumns, toFileView } from './files/file-row.js';
import { sweepStorage } from './files/sweeper.js';
import { UploadInspector, type Staged } from './files/upload-inspection.js';

export type { FileListItem, FileView };
export {
  contentDisposition,
  type ConditionalRequest,
  type DownloadDescriptor,
} from './files/download-response.js';

/** One part of a multipart upload, as the HTTP layer hands it over. */
export type UploadPart =
  | { kind: 'file'; field: string; filename: string; stream: Readable }
  | { kind: 'field'; field: string; value: unknown };

export interface FileServiceOptions {
  maxBytes: number;
  /** Upload outcome counter (metrics). */
  onUpload?: (outcome: 'ok' | 'rejected' | 'error') => void;
  /** How downloads leave (default: streamed through this process). */
  downloadMode?: DownloadMode;
  /** Probing and decoding of uploaded audio, on the worker pool. */
  audio: AudioWork;
}

/**
 * Files: streamed uploads with content checks, downloads with Range and
 * conditional requests, listing, metadata edits, content replacement and
 * deletion. The row is written only after its blob is complete, and a
 * failure at any step removes what the step wrote.
 */
export class FileService {
  private readonly inspector: UploadInspector;
  private withdraw?: (file: FileRow, reason: 'deleted' | 'private') => Promise<unknown>;

  /**
   * Wires what happens to voices others made from a file its owner deletes
   * or makes private (VoiceService.withdrawFrom; set once by the container).
   */
  onWithdraw(fn: (file: FileRow, reason: 'deleted' | 'private') => Promise<unknown>): void {
    this.withdraw = fn;
  }

  constructor(
    private readonly files: FileRepository,
    private readonly blobs: BlobStore,
    private readonly signer: UrlSigner,
    private readonly log: Logger,
    private readonly opts: FileServiceOptions,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.inspector = new UploadInspector(blobs, opts.maxBytes, opts.audio);
  }

  async upload(userId: string, parts: AsyncIterable<UploadPart>): Promise<FileView> {
    let staged: Staged | undefined;
    try {
      const fields: Record<string, unknown> = {};
      for await (const part of parts) {
        if (part.kind === 'field') {
          fields[part.field] = part.value;
          continue;
        }
        if (part.field !== 'file' || staged) {
          part.stream.resume();
          throw ERRORS.badRequest(
            staged ? 'Only one file may be uploaded' : `Unexpected file field '${part.field}'`,
            { info: "send exactly one file, in the form field 'file'" },
          );
        }
        staged = await this.stage(part.filename, part.stream);
      }
      if (!staged)
        throw ERRORS.badRequest('Missing fields: file', {
          info: "send the file in the form field 'file'",
        });
      const isPublic = parseBool(fields.is_public, 'is_public') ?? true;
      const description = parseDescription(fields.description);
      const inspected = await this.inspect(staged);
      const row = buildFileRow({
        id: uuidv7(),
        ownerId: userId,
        storageKey: staged.key,
        size: staged.size,
        sha256: staged.sha256,
        name: staged.name,
        type: inspected.type,
        audio: inspected.audio,
        isPublic,
        description,
        origin: 'upload',
        nowIso: this.now().toISOString(),
      });
      await this.files.insert(row);
      this.opts.onUpload?.('ok');
      return toFileView(row);
    } catch (err) {
      if (staged) await this.discard(staged.key);
      this.opts.onUpload?.(isClientError(err) ? 'rejected' : 'error');
      throw err;
    }
  }

  /** Stores bytes made by Timbre itself (e.g. an audition clip) as a file of `ownerId`. */
  async storeGenerated(input: {
    ownerId: string;
    name: string;
    ext: string;
    bytes: Uint8Array;
    description: string;
    isPublic: boolean;
    audio?: { duration: number; codec: string; sampleRate: number; channels: number };
    /** Deterministic id, so a retried job finds what it stored before. */
    id?: string;
    /** A rendition of a sample: deleted with it, never listed. */
    derivedFrom?: { fileId: string; variant: string };
  }): Promise<FileRow> {
    const type = typeByName(input.ext);
    if (!type) throw new Error(`cannot store generated .${input.ext}`);
    const key = `blobs/${uuidv7()}`;
    const put = await this.blobs.put(key, Readable.from([Buffer.from(input.bytes)]));
    const row = buildFileRow({
      id: input.id ?? uuidv7(),
      ownerId: input.ownerId,
      storageKey: key,
      size: put.size,
      sha256: put.sha256,
      name: sanitizeFileName(input.name),
      type,
      audio: input.audio,
      isPublic: input.isPublic,
      description: input.description,
      origin: input.derivedFrom ? 'rendition' : 'audition',
      derivedFrom: input.derivedFrom,
      nowIso: this.now().toISOString(),
    });
    try {
      await this.files.insert(row);
    } catch (err) {
      await this.discard(key);
      throw err;
    }
    return row;
  }

  findById(id: string): Promise<FileRow | undefined> {
    return this.files.findById(id);
  }

  /** The whole blob, for in-process consumers (quality checks, the offline engine). */
  readAll(file: Pick<FileRow, 'storage_key' | 'size'>): Promise<Buffer> {
    return readWhole(this.blobs, file.storage_key, file.size);
  }

  signedUrl(fileId: string): { url: string; expiresAt: Date } {
    return this.signer.sign(fileId);
  }

  async download(userId: string, id: string, req: ConditionalRequest): Promise<DownloadDescriptor> {
    assertFileId(id);
    const file = assertCanReadFile(userId, await this.files.findById(id), id);
    return this.open(file, req);
  }

  /** A voice's audition clip, for a viewer already allowed to use the voice. */
  async downloadAudition(
    voice: Pick<VoiceRow, 'audition_file_id' | 'created_by'>,
    req: ConditionalRequest,
  ): Promise<DownloadDescriptor> {
    const id = voice.audition_file_id;
    return this.open(assertAuditionOf(voice, id ? await this.files.findById(id) : undefined), req);
  }

  /** The provider's door: a valid signature instead of a JWT. */
  async downloadSigned(
    id: string,
    exp: string | undefined,
    sig: string | undefined,
    req: ConditionalRequest,
  ): Promise<DownloadDescriptor> {
    // Verify before any lookup, so the link says nothing about other ids.
    const verdict = this.signer.verify(id, exp, sig);
    if (verdict !== 'ok') {
      throw ERRORS.forbidden(
        verdict === 'expired'
          ? 'Download link has expired'
          : 'Invalid or missing download signature',
      );
    }
    const file = await this.files.findById(id);
    if (!file) throw ERRORS.notFound('File not found');
    return this.open(file, req);
  }

  async list(
    userId: string,
    input: FileListBody,
  ): Promise<{ files: FileListItem[]; total: number; page: number; pageSize: number }> {
    const { page, pageSize } = pageOf(input);
    const onlyMine = parseBool(input.only_mine, 'only_mine') ?? false;
    const { rows, total } = await this.files.list({
      viewerId: userId,
      onlyMine,
      offset: (page - 1) * pageSize,
      limit: pageSize,
    });
    return {
      total,
      page,
      pageSize,
      files: rows.map((r) => ({
        file_id: r.id,
        file_name: r.file_name,
        file_path: `/api/file/download/${r.id}`,
        file_size: Number(r.size),
        file_type: r.mime_type,
        created_at: r.created_at,
        created_by_username: r.owner_username,
        created_by_user_id: r.owner_id,
        is_public: r.is_public === 1,
        description: r.description,
        is_owner: r.owner_id === userId,
        origin: r.origin,
      })),
    };
  }

  async update(userId: string, id: string, input: FileUpdateBody): Promise<FileView> {
    assertFileId(id);
    const file = assertOwnsFile(userId, await this.files.findById(id), id);
    const patch: Partial<FileRow> = {};
    if (input.file_name !== undefined) {
      if (typeof input.file_name !== 'string' || !input.file_name.trim()) {
        throw ERRORS.badRequest('Invalid field: file_name', {
          info: 'file_name must be a non-empty string',
        });
      }
      patch.file_name = sanitizeFileName(input.file_name);
      // A new name may not claim another type than the bytes are (upload refuses that too).
      const ext = extensionOf(patch.file_name);
      const type = typeByName(file.ext);
      if (ext && type && !type.names.includes(ext)) {
        throw ERRORS.badRequest(`file_name must keep the .${file.ext} extension`, {
          info: `the file's content is ${file.mime_type}`,
        });
      }
    }
    // The original's clients send `is_private` carrying is_public's value (its quirk).
    const pub =
      parseBool(input.is_public, 'is_public') ?? parseBool(input.is_private, 'is_private');
    if (pub !== undefined) patch.is_public = pub ? 1 : 0;
    if (input.description !== undefined) patch.description = parseDescription(input.description);
    if (!Object.keys(patch).length) {
      throw ERRORS.badRequest('Nothing to update', {
        info: 'send file_name, is_public or description',
      });
    }
    patch.updated_at = this.now().toISOString();
    await this.files.update(id, patch);
    // Private now: clones others made stop speaking (repeated on every private
    // save, so a 503 from a queue outage is fixed by saving again).
    if (patch.is_public === 0) await this.withdraw?.({ ...file, ...patch }, 'private');
    return toFileView({ ...file, ...patch });
  }

  /** Replaces the bytes; the old ones stay served until the new ones are complete. */
  async updateContent(
    userId: string,
    id: string,
    parts: AsyncIterable<UploadPart>,
  ): Promise<FileView> {
    assertFileId(id);
    const file = assertOwnsFile(userId, await this.files.findById(id), id);
    let staged: Staged | undefined;
    try {
      for await (const part of parts) {
        if (part.kind === 'field') continue;
        if (part.field !== 'file' || staged) {
          part.stream.resume();
          throw ERRORS.badRequest('Only one file may be uploaded', {
            info: "send exactly one file, in the form field 'file'",
          });
        }
        staged = await this.stage(part.filename, part.stream);
      }
      if (!staged) throw ERRORS.badRequest('Missing fields: file');
      const inspected = await this.inspect(staged);
      if (inspected.type.kind !== file.kind) {
        throw ERRORS.unsupportedMedia(`An ${file.kind} file can only be replaced by ${file.kind}`, {
          info: `the new content is ${inspected.type.kind}`,
        });
      }
      const patch: Partial<FileRow> = {
        ...contentColumns({
          storageKey: staged.key,
          size: staged.size,
          sha256: staged.sha256,
          name: staged.name,
          type: inspected.type,
          audio: inspected.audio,
        }),
        updated_at: this.now().toISOString(),
      };
      if (!(await this.files.replaceContent(id, file.storage_key, patch))) {
        throw ERRORS.conflict('The file changed meanwhile: try again');
      }
      staged = undefined;
      await this.discard(file.storage_key);
      await this.deleteDerived(id);
      return toFileView({ ...file, ...patch });
    } catch (err) {
      if (staged) await this.discard(staged.key);
      throw err;
    }
  }

  async delete(userId: string, id: string): Promise<void> {
    assertFileId(id);
    const file = assertOwnsFile(userId, await this.files.findById(id), id);
    await this.deleteRow(file);
  }

  /**
   * Deletes a file row and its blob (row first: a failed blob delete leaves
   * only a sweepable orphan). Voices others made from it are withdrawn; only
   * one of the owner's own voices still using it stops the deletion (409).
   */
  async deleteRow(file: FileRow): Promise<void> {
    const voice = await this.files.usedByVoice(file.id, file.owner_id);
    if (voice) {
      throw ERRORS.conflict(`The file is used by voice '${voice.voice_name}'`, {
        info: 'delete the voice first; its id is in voice_id',
        extra: { voice_id: voice.id },
      });
    }
    await this.withdraw?.(file, 'deleted');
    await this.files.delete(file.id);
    await this.discard(file.storage_key);
    await this.deleteDerived(file.id);
  }

  /** Deletes every file of a leaving user (her own voices are gone already). */
  async deleteAllOf(ownerId: string): Promise<void> {
    for (const file of await this.files.allOf(ownerId)) {
      await this.withdraw?.(file, 'deleted');
      await this.files.delete(file.id);
      await this.discard(file.storage_key);
      await this.deleteDerived(file.id);
    }
  }

  /** The stored rendition `variant` of `fileId`, if made before. */
  findRendition(fileId: string, variant: string): Promise<FileRow | undefined> {
    return this.files.findDerived(fileId, variant);
  }

  /** Deletes every rendition made from `fileId` (rows, then blobs). Idempotent. */
  async deleteDerived(fileId: string): Promise<void> {
    for (const r of await this.files.derivedOf(fileId)) {
      await this.files.delete(r.id);
      await this.discard(r.storage_key);
    }
  }

  /** Deletes a file Timbre made (e.g. an audition clip), whatever uses it. Idempotent. */
  async deleteGenerated(fileId: string): Promise<void> {
    const file = await this.files.findById(fileId);
    if (!file) return;
    await this.files.delete(file.id);
    await this.discard(file.storage_key);
    await this.deleteDerived(file.id);
  }

  /**
   * Removes blobs no row points to, older than `minAgeMs` (younger ones may
   * belong to a write in flight), and temporary leftovers of interrupted
   * writes older than `temporaryMinAgeMs` (no upload lives longer than the
   * upload time limit, so older ones are dead); logs rows whose blob is missing.
   */
  sweep(
    minAgeMs = 15 * 60_000,
    temporaryMinAgeMs = minAgeMs,
  ): Promise<{ temporary: number; orphans: number; missing: number }> {
    return sweepStorage(
      { files: this.files, blobs: this.blobs, log: this.log, now: this.now },
      minAgeMs,
      temporaryMinAgeMs,
    );
  }

  private stage(filename: string, stream: Readable): Promise<Staged> {
    return this.inspector.stage(filename, stream);
  }

  private inspect(staged: Staged) {
    return this.inspector.inspect(staged);
  }

  private async open(file: FileRow, req: ConditionalRequest): Promise<DownloadDescriptor> {
    let mode = this.opts.downloadMode ?? { kind: 'stream' };
    // A store that cannot presign streams instead.
    if (mode.kind === 'redirect' && !this.blobs.presignGet) mode = { kind: 'stream' };
    const plan = planDownload(file, req, mode);
    switch (plan.kind) {
      case 'not-modified':
      case 'x-accel':
        return { status: plan.status, headers: plan.headers };
      case 'unsatisfiable':
        throw ERRORS.rangeNotSatisfiable('Range not satisfiable', {
          info: `the file has ${plan.size} bytes`,
          headers: { 'content-range': `bytes */${plan.size}` },
        });
      case 'redirect': {
        const ttlSec = mode.kind === 'redirect' ? mode.ttlSec : 60;
        const full = planDownload(file, {}, { kind: 'stream' });
        const location = await this.blobs.presignGet!(file.storage_key, {
          ttlSec,
          contentType: full.kind === 'stream' ? full.headers['content-type'] : undefined,
          contentDisposition:
            full.kind === 'stream' ? full.headers['content-disposition'] : undefined,
        });
        return { status: 302, headers: { ...plan.headers, location } };
      }
      case 'stream':
        return this.stream(file, plan.status, plan.headers, plan.range);
    }
  }

  private async stream(
    file: FileRow,
    status: 200 | 206,
    headers: Record<string, string>,
    range: { start: number; end: number } | undefined,
  ): Promise<DownloadDescriptor> {
    try {
      const body = await this.blobs.read(file.storage_key, range ?? wholeRange(file.size));
      return { status, headers, body };
    } catch (err) {
      if (err instanceof BlobNotFoundError) {
        this.log.error({ file_id: file.id, blob: file.storage_key }, 'file row has no blob');
        throw ERRORS.notFound('File content is missing', {
          info: 'the stored bytes are gone; re-upload the file',
        });
      }
      throw err;
    }
  }

  private async discard(key: string): Promise<void> {
    try {
      await this.blobs.delete(key);
    } catch (err) {
      // The sweeper will get it.
      this.log.warn({ err, blob: key }, 'could not remove blob');
    }
  }
}

function parseDescription(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string')
    throw ERRORS.badRequest('Invalid field: description', { info: 'description must be a string' });
  if (v.length > 1000)
    throw ERRORS.badRequest('Invalid field: description', {
      info: 'description is over 1000 characters',
    });
  return v;
}

function isClientError(err: unknown): boolean {
  return (
    typeof (err as { status?: unknown }).status === 'number' &&
    (err as { status: number }).status < 500
  );
}
