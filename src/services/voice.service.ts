import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { isOutputSampleRate, OUTPUT_SAMPLE_RATES } from '../audio/encode.js';
import type { QualityReport } from '../audio/index.js';
import { JsonCache } from '../cache/cache.js';
import type { AudioWork } from '../workers/audio-work.js';
import { AppError, ERRORS } from '../errors.js';
import type { JobQueue } from '../jobs/queue.js';
import type { AudioFormat, VoiceProvider } from '../providers/provider.js';
import type { UserRepository } from '../repositories/user.repository.js';
import type {
  VoiceRepository,
  VoiceRow,
  VoiceWithOwner,
} from '../repositories/voice.repository.js';
import { pageOf, parseBool } from '../api/schemas/lenient.js';
import type {
  BatchResult,
  CreateVoiceBody,
  ListVoicesBody,
  ShareBody,
  SynthesizeBody,
  UpdateVoiceBody,
  VoiceView,
} from '../api/schemas/voices.js';
import {
  assertCanUseVoice,
  assertOwnsVoice,
  assertUsableSample,
  assertVoiceId,
  isUuid,
} from './access.js';
import type { ConditionalRequest, DownloadDescriptor, FileService } from './file.service.js';
import type { UsageLimits } from './usage-limits.js';
import { voiceView } from './voice-views.js';
import type { SpeechService } from './speech.service.js';
import { sampleVerdict } from './sample-verdict.js';
import type { VoiceEvents } from '../jobs/voice-events.js';

const GENDERS = ['male', 'female', 'other'] as const;
type Gender = (typeof GENDERS)[number];
const REQUIRED = ['audio_file_id', 'voice_name', 'voice_gender', 'voice_description'] as const;

/** How often a waiting request re-reads its voice when no event comes (ms), by default. */
const WAIT_FALLBACK_MS = 1000;

/** `assess_sample`'s answer: the quality report and the verdict for one provider and model. */
export type SampleAssessment = QualityReport & {
  usable: boolean;
  /** Why the sample is not usable (absent when it is). */
  reason?: string;
  provider: string;
  target_model: string;
};

export interface VoiceSettings {
  createWaitSec: number;
  auditionText: string;
  /** Sample assessment on the worker pool. */
  audio: AudioWork;
  /** Voices one user may have being created at once (pending or processing). */
  maxInProgress: number;
  /** Retry-After (s) sent when that limit refuses a creation. */
  retryAfterSec: number;
  /** Text limit of `synthesize` (SYNTH_MAX_CHARS). */
  synthMaxChars?: number;
  /** Live job workers across all processes; a creation nobody can run is refused (503). */
  workersAlive?: () => Promise<number>;
  /** News of finished creations; a waiting request is woken by it. */
  events: VoiceEvents;
  /**
   * A waiting request re-reads its voice this often anyway (ms): the safety
   * net when no event reaches it (a worker in another process without Redis,
   * a message lost while Redis was away). Default 1000.
   */
  waitFallbackMs?: number;
}

export type CreateVoiceInput = CreateVoiceBody;

/** No voice name is longer than this, so a longer keyword matches nothing. */
const MAX_NAME_LENGTH = 50;

/** What a caller attests with `"consent": true` (kept with the voice). */
export const CONSENT_STATEMENT =
  'The creator attested that the speaker in the recording agreed to having their voice cloned.';

/** Why a voice was withdrawn, as its owner sees it in error_info. */
const WITHDRAWN = {
  deleted: 'withdrawn: the owner of the recording it was made from deleted the recording',
  private: 'withdrawn: the owner of the recording it was made from made the recording private',
  account: 'withdrawn: the owner of the recording it was made from deleted her account',
} as const;
export type WithdrawReason = keyof typeof WITHDRAWN;

export interface CreateOptions {
  /** Wait (up to CREATE_VOICE_WAIT_SEC) for the job to end. */
  wait: boolean;
  /** Called once the voice and its job are stored, before any wait. */
  onQueued?: () => void;
}

export type CreateOutcome =
  { kind: 'ready'; voice: VoiceView } | { kind: 'accepted'; voice: VoiceView };

/** `n` base-36 digits of SHA-256(`s`), each uniformly distributed. */
function hashDigits36(s: string, n: number): string {
  let x = BigInt(`0x${createHash('sha256').update(s).digest('hex')}`);
  let out = '';
  for (let i = 0; i < n; i++) {
    out += (x % 36n).toString(36);
    x /= 36n;
  }
  return out;
}

/**
 * `u` + 3 chars of the user + 6 of the voice: finds a voice's own provider
 * voice again after an interrupted run (the job adopts whatever carries this
 * prefix, so two voices must practically never share one). The digits are
 * taken modulo 36 of the whole hash: the leading digits of a number's base-36
 * form are far from uniform (a 64-bit number starts with 1–3 most of the
 * time), which made same-user collisions likely within a few hundred voices.
 */
export function providerPrefix(userId: string, voiceId: string): string {
  return `u${hashDigits36(userId, 3)}${hashDigits36(voiceId, 6)}`;
}

/**
 * The voice library and the front half of creation: validation, access,
 * sample assessment, the voice row and its job. The job itself lives in
 * jobs/create-voice.job.ts.
 */
export class VoiceService {
  constructor(
    private readonly voices: VoiceRepository,
    private readonly users: UserRepository,
    private readonly files: FileService,
    private readonly provider: VoiceProvider,
    private readonly queue: JobQueue,
    private readonly settings: VoiceSettings,
    private readonly listCache: JsonCache,
    private readonly log: Logger,
    private readonly limits: UsageLimits,
    private readonly now: () => Date = () => new Date(),
    private readonly speech?: SpeechService,
  ) {}

  /**
   * Validates, checks the sample, writes the voice row and queues its job.
   * Takes one creation from the user's hourly quota, given back when the
   * creation fails for the server's reasons (5xx) or is held back because too
   * many of the user's voices are still being created (429, Retry-After).
   */
  async create(
    userId: string,
    input: CreateVoiceInput,
    opts: CreateOptions,
  ): Promise<CreateOutcome> {
    const ticket = await this.limits.takeCreation(userId);
    try {
      return await this.createCounted(userId, input, opts);
    } catch (err) {
      // Failed for the server's reasons, or held back by the in-progress limit.
      if (!(err instanceof AppError) || err.status >= 500 || err.status === 429) {
        await ticket.release();
      }
      throw err;
    }
  }

  private async createCounted(
    userId: string,
    input: CreateVoiceInput,
    opts: CreateOptions,
  ): Promise<CreateOutcome> {
    const fields = validateCreate(input);
    if (this.settings.workersAlive && (await this.settings.workersAlive()) === 0) {
      throw ERRORS.unavailable('No worker is running to create voices', {
        info: 'start a worker (npm run worker, or RUN_WORKER=true) and try again',
      });
    }
    const inProgress = await this.voices.countInProgress(userId);
    if (inProgress >= this.settings.maxInProgress) {
      throw ERRORS.tooManyRequests('Too many requests', {
        info: `at most ${this.settings.maxInProgress} voices being created at once per user; retry when one is ready`,
        headers: { 'retry-after': String(this.settings.retryAfterSec) },
      });
    }
    const sample = await this.sample(userId, fields.audioFileId);
    const someoneElses = sample.owner_id !== userId;
    if (someoneElses && parseBool(input.consent, 'consent') !== true) {
      throw ERRORS.forbidden('Consent required to clone a recording you did not upload', {
        info: 'send "consent": true to attest that the speaker agreed to having their voice cloned',
      });
    }
    const targetModel = this.provider.defaultTargetModel;
    const quality = await this.assess(sample, targetModel);
    const voiceId = uuidv7();
    const nowIso = this.now().toISOString();
    const row: VoiceRow = {
      id: voiceId,
      voice_name: fields.name,
      voice_gender: fields.gender,
      voice_description: fields.description,
      is_public: fields.isPublic ? 1 : 0,
      sample_file_id: sample.id,
      audition_file_id: null,
      call_name: null,
      provider: this.provider.name,
      target_model: targetModel,
      status: 'pending',
      error_info: null,
      error_status: null,
      quality: JSON.stringify(quality),
      created_by: userId,
      created_at: nowIso,
      updated_at: nowIso,
      sample_owner_id: sample.owner_id,
      consent_at: someoneElses ? nowIso : null,
      consent_statement: someoneElses ? CONSENT_STATEMENT : null,
    };
    await this.voices.insert(row);
    try {
      await this.queue.enqueue('create_voice', { voiceId }, { jobId: `create_voice:${voiceId}` });
    } catch (err) {
      // No job, no voice: never leave a pending row nobody will finish.
      await this.voices.delete(voiceId);
      throw ERRORS.unavailable('Could not queue the voice creation', {
        info: 'try again shortly',
        cause: err,
      });
    }
    await this.listCache.bump('voices');
    this.log.info({ voice_id: voiceId, sample_file_id: sample.id }, 'voice creation queued');
    opts.onQueued?.();
    if (!opts.wait)
      return { kind: 'accepted', voice: voiceView(await this.mustFind(voiceId), userId) };
    return this.waitFor(voiceId, userId, this.settings.createWaitSec * 1000);
  }

  /**
   * Batch creation: each item on its own, asynchronously; per-item results.
   * Each item counts against the creation quota; an item the server failed
   * (5xx) ends the batch with that error, the items before it stay created.
   */
  async createMany(userId: string, items: CreateVoiceInput[]): Promise<BatchResult[]> {
    const results: BatchResult[] = [];
    for (const [index, item] of items.entries()) {
      try {
        const r = await this.create(userId, item, { wait: false });
        results.push({
          index,
          code: 202,
          message: 'create voice accepted',
          voice_id: r.voice.voice_id,
          status: r.voice.status,
        });
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        results.push({
          index,
          code: err.status,
          message: err.message,
          ...(err.info ? { error_info: err.info } : {}),
          ...(err.headers?.['retry-after'] ? { retry_after: err.headers['retry-after'] } : {}),
        });
      }
    }
    return results;
  }

  /** Waits (bounded) for a creation to end; failed creations become their error. */
  async waitFor(voiceId: string, userId: string, maxMs: number): Promise<CreateOutcome> {
    const deadline = Date.now() + maxMs;
    const fallbackMs = this.settings.waitFallbackMs ?? WAIT_FALLBACK_MS;
    for (;;) {
      // Listen before reading, so a finish between the read and the wait is not missed.
      const stop = new AbortController();
      const woken = this.settings.events.waitFor(
        voiceId,
        Math.min(fallbackMs, Math.max(0, deadline - Date.now())),
        stop.signal,
      );
      let outcome: CreateOutcome | undefined;
      try {
        outcome = await this.outcomeNow(voiceId, userId, deadline);
      } catch (err) {
        stop.abort();
        throw err;
      }
      if (outcome) {
        stop.abort();
        return outcome;
      }
      await woken;
    }
  }

  /** The creation's end as the row tells it; undefined while it runs and time is left. */
  private async outcomeNow(
    voiceId: string,
    userId: string,
    deadline: number,
  ): Promise<CreateOutcome | undefined> {
    const v = await this.mustFind(voiceId);
    if (v.status === 'ready') return { kind: 'ready', voice: voiceView(v, userId) };
    if (v.status === 'failed') {
      // The job stored its ERRORS entry's status with the reason.
      throw new AppError(v.error_status ?? 502, 'create voice fail', {
        info: v.error_info ?? 'the voice could not be created',
        extra: { voice_id: v.id, status: 'failed' },
      });
    }
    if (Date.now() >= deadline) return { kind: 'accepted', voice: voiceView(v, userId) };
    return undefined;
  }

  /**
   * The assessment of a sample the caller may use (own or public audio),
   * judged for the configured provider and its default model: the same
   * verdict creation applies.
   */
  async assessSample(userId: string, fileId: string | null | undefined): Promise<SampleAssessment> {
    if (typeof fileId !== 'string' || !fileId.trim())
      throw ERRORS.badRequest('Missing fields: audio_file_id');
    const sample = await this.sample(userId, fileId.trim());
    const slot = await this.limits.enter('assess', userId);
    try {
      const report = await this.qualityOf(sample);
      const targetModel = this.provider.defaultTargetModel;
      const verdict = sampleVerdict(report, this.provider.sampleRequirements(targetModel));
      return {
        ...report,
        usable: verdict.usable,
        ...(verdict.reason && !verdict.usable ? { reason: verdict.reason } : {}),
        provider: this.provider.name,
        target_model: targetModel,
      };
    } finally {
      await slot.release();
    }
  }
  /** A file the caller may clone from (access.ts decides). */
  private async sample(userId: string, fileId: string) {
    return assertUsableSample(userId, await this.files.findById(fileId), fileId);
  }

  /**
   * The sample's assessment, computed once per blob (blob keys are immutable)
   * on the worker pool. Audio past the decode bound is refused with 422: it
   * was never decoded whole, so there is nothing to report but its length.
   */
  private async qualityOf(sample: {
    storage_key: string;
    ext: string;
    size: number;
  }): Promise<QualityReport> {
    const { audio } = this.settings;
    // Read only when this blob has not been assessed yet (many creations of one sample).
    const { verdict, score, metrics, advice, exceedsSec } = await audio.assess(
      () => this.files.readAll(sample),
      sample.ext,
      sample.storage_key,
    );
    if (exceedsSec !== undefined) {
      throw ERRORS.unprocessable('The audio is too long', {
        info: `The sample plays longer than ${audio.limits.maxSampleSec} s; trim it to 10–30 seconds of clear speech and upload it again.`,
        extra: { quality: { verdict, score, advice, usable: false } },
      });
    }
    return metrics ? { verdict, score, metrics, advice } : { verdict, score, advice };
  }

  private async assess(
    sample: { storage_key: string; ext: string; sha256: string; size: number },
    targetModel: string,
  ): Promise<QualityReport> {
    const report = await this.qualityOf(sample);
    const verdict = sampleVerdict(report, this.provider.sampleRequirements(targetModel));
    if (!verdict.usable) {
      throw ERRORS.unprocessable('The audio sample is not usable for cloning', {
        info: verdict.reason ?? `sample judged ${report.verdict}`,
        extra: {
          quality: report,
          provider: this.provider.name,
          target_model: targetModel,
        },
      });
    }
    return report;
  }

  async get(userId: string, voiceId: string): Promise<VoiceView> {
    const v = await this.findVisible(userId, voiceId);
    return voiceView(v, userId);
  }

  /**
   * Contract `get_voices`: oldest first (or `order: 'newest'`), literal keyword, gender,
   * paging with fallbacks and a cap.
   */
  async list(
    userId: string,
    input: ListVoicesBody,
  ): Promise<{ voices: VoiceView[]; hasNext: boolean }> {
    const { page, pageSize } = pageOf(input);
    if (input.order !== undefined && input.order !== 'oldest' && input.order !== 'newest') {
      throw ERRORS.badRequest("order must be 'oldest' or 'newest'");
    }
    const order = input.order === 'newest' ? 'desc' : 'asc';
    const gender =
      typeof input.gender === 'string' && (GENDERS as readonly string[]).includes(input.gender)
        ? (input.gender as Gender)
        : undefined;
    if (input.gender && input.gender !== 'all' && !gender) {
      throw ERRORS.badRequest("gender must be one of 'all', 'male', 'female', or 'other'");
    }
    const keyword = typeof input.key_word === 'string' ? input.key_word.trim() : '';
    const onlyMine = parseBool(input.created_by_current_user, 'created_by_current_user') ?? false;
    if ([...keyword].length > MAX_NAME_LENGTH) return { voices: [], hasNext: false };
    const gen = await this.listCache.generation('voices');
    // The keyword is hashed so a long one cannot make a long cache key.
    const kw = keyword ? createHash('sha256').update(keyword).digest('base64url').slice(0, 22) : '';
    const key = `voices:${gen}:${userId}:${onlyMine ? 1 : 0}:${gender ?? 'all'}:${page}:${pageSize}:${order}:${kw}`;
    const rows = await this.listCache.remember(key, () =>
      this.voices.list({
        viewerId: userId,
        onlyMine,
        keyword: keyword || undefined,
        gender,
        offset: (page - 1) * pageSize,
        limit: pageSize + 1,
        order,
      }),
    );
    return {
      hasNext: rows.length > pageSize,
      voices: rows.slice(0, pageSize).map((r) => voiceView(r, userId)),
    };
  }

  async mine(userId: string): Promise<VoiceView[]> {
    return (await this.voices.listByOwner(userId)).map((r) => voiceView(r, userId));
  }

  /** Contract `verify_voice`. */
  async verify(userId: string, voiceId: unknown): Promise<VoiceView> {
    assertVoiceId(voiceId);
    return voiceView(await this.findVisible(userId, voiceId), userId);
  }

  async update(userId: string, voiceId: string, input: UpdateVoiceBody): Promise<VoiceView> {
    const v = await this.findOwned(userId, voiceId);
    const patch: Partial<VoiceRow> = {};
    if (input.voice_name !== undefined) patch.voice_name = checkName(input.voice_name);
    if (input.voice_gender !== undefined) patch.voice_gender = checkGender(input.voice_gender);
    if (input.voice_description !== undefined)
      patch.voice_description = checkDescription(input.voice_description);
    const isPublic = parseBool(input.is_public, 'is_public');
    if (isPublic !== undefined) patch.is_public = isPublic ? 1 : 0;
    if (!Object.keys(patch).length) {
      throw ERRORS.badRequest('Nothing to update', {
        info: 'send voice_name, voice_gender, voice_description or is_public',
      });
    }
    patch.updated_at = this.now().toISOString();
    await this.voices.update(v.id, patch);
    await this.listCache.bump('voices');
    return voiceView({ ...v, ...patch }, userId);
  }

  /**
   * Deletes a voice: the row and its audition clip now, the provider voice
   * through a retried job (it must not be left eating the account's quota).
   */
  async delete(userId: string, voiceId: string): Promise<void> {
    const v = await this.findOwned(userId, voiceId);
    if (v.status === 'pending' || v.status === 'processing') {
      throw ERRORS.conflict('The voice is still being created', {
        info: 'wait until it is ready or failed',
      });
    }
    // Queue the provider delete first: if the queue is down the caller gets a
    // 503 and nothing is half-deleted. The short delay lets the row go first.
    if (v.call_name) {
      try {
        await this.queue.enqueue(
          'delete_provider_voice',
          { provider: v.provider, providerVoiceId: v.call_name },
          { jobId: `delete_provider_voice:${v.call_name}`, delayMs: 1000 },
        );
      } catch (err) {
        throw ERRORS.unavailable('Could not queue the deletion', {
          info: 'try again shortly',
          cause: err,
        });
      }
    }
    await this.voices.delete(v.id);
    await this.listCache.bump('voices');
    if (v.audition_file_id) await this.files.deleteGenerated(v.audition_file_id);
    this.log.info({ voice_id: v.id, call_name: v.call_name }, 'voice deleted');
  }

  /**
   * The sample's owner withdraws it: every voice someone else made from the
   * file becomes `revoked` (unusable; its provider voice deleted through the
   * retried job, its audition clip removed; its owner sees why in
   * error_info). The file owner's own voices are left alone. Idempotent.
   * Throws 503 (nothing changed for the voice at hand) when the queue is down.
   */
  async withdrawFrom(
    file: { id: string; owner_id: string },
    reason: WithdrawReason,
  ): Promise<number> {
    const made = await this.voices.madeFrom(file.id);
    let n = 0;
    for (const v of made) {
      if (v.created_by === file.owner_id || v.status === 'revoked') continue;
      await this.queueProviderCleanup(v);
      const ok = await this.voices.transition(v.id, ['pending', 'processing', 'ready', 'failed'], {
        status: 'revoked',
        call_name: null,
        audition_file_id: null,
        error_info: WITHDRAWN[reason],
        error_status: 403,
        updated_at: this.now().toISOString(),
      });
      if (!ok) continue;
      n++;
      if (v.audition_file_id) await this.files.deleteGenerated(v.audition_file_id);
      this.log.info({ voice_id: v.id, sample_file_id: file.id, reason }, 'voice withdrawn');
    }
    if (n) await this.listCache.bump('voices');
    return n;
  }

  /** Every voice made from the caller's recording, by whom and when; 404 unless she owns it. */
  async madeFromFile(userId: string, fileId: string) {
    const file = isUuid(fileId) ? await this.files.findById(fileId) : undefined;
    if (!file || file.owner_id !== userId) throw ERRORS.notFound('File not found');
    return (await this.voices.madeFrom(file.id)).map((v) => ({
      voice_id: v.id,
      voice_name: v.voice_name,
      status: v.status,
      created_by_user_id: v.created_by,
      created_by_username: v.owner_username,
      created_at: v.created_at,
      consent: v.consent_at
        ? { attested_at: v.consent_at, statement: v.consent_statement ?? CONSENT_STATEMENT }
        : null,
    }));
  }

  /**
   * Deletes every voice of a leaving user: provider voices through the
   * retried job (queued first, so a queue outage leaves everything as it
   * was), then rows, shares and audition clips.
   */
  async deleteAllOf(userId: string): Promise<void> {
    const mine = await this.voices.listByOwner(userId);
    for (const v of mine) await this.queueProviderCleanup(v);
    for (const v of mine) {
      await this.voices.delete(v.id);
      if (v.audition_file_id) await this.files.deleteGenerated(v.audition_file_id);
    }
    await this.voices.deleteSharesTo(userId);
    await this.listCache.bump('voices');
  }

  /**
   * Queues the deletion of what the provider holds for a voice: its voice,
   * and, while creation may still be enrolling one, a later sweep of its prefix.
   */
  private async queueProviderCleanup(v: VoiceRow): Promise<void> {
    try {
      if (v.call_name) {
        await this.queue.enqueue(
          'delete_provider_voice',
          { provider: v.provider, providerVoiceId: v.call_name },
          { jobId: `delete_provider_voice:${v.call_name}`, delayMs: 1000 },
        );
      }
      if (v.status === 'pending' || v.status === 'processing') {
        const prefix = providerPrefix(v.created_by, v.id);
        await this.queue.enqueue(
          'purge_provider_prefix',
          { provider: v.provider, prefix },
          { jobId: `purge_provider_prefix:${prefix}`, delayMs: 60_000 },
        );
      }
    } catch (err) {
      throw ERRORS.unavailable('Could not queue the removal of provider voices', {
        info: 'try again shortly',
        cause: err,
      });
    }
  }

  async share(userId: string, voiceId: string, input: ShareBody) {
    const v = await this.findOwned(userId, voiceId);
    let target;
    if (typeof input.user_id === 'string' && input.user_id) {
      target = await this.users.findById(input.user_id);
    } else if (
      typeof input.identifier === 'string' &&
      (input.type === 'phone' || input.type === 'email')
    ) {
      target = await this.users.findByIdentifier(input.type, input.identifier.trim().toLowerCase());
    } else {
      throw ERRORS.badRequest('Missing fields: user_id', {
        info: 'send user_id, or identifier and type',
      });
    }
    if (!target) throw ERRORS.notFound('User not found');
    if (target.id === userId) throw ERRORS.badRequest('You cannot share a voice with yourself');
    if (!(await this.voices.isSharedWith(v.id, target.id))) {
      await this.voices.share(v.id, target.id, this.now().toISOString());
      await this.listCache.bump('voices');
    }
    return { user_id: target.id, username: target.username };
  }

  async unshare(userId: string, voiceId: string, targetUserId: string): Promise<void> {
    const v = await this.findOwned(userId, voiceId);
    if (!(await this.voices.unshare(v.id, targetUserId)))
      throw ERRORS.notFound('The voice is not shared with this user');
    await this.listCache.bump('voices');
  }

  async shares(userId: string, voiceId: string) {
    const v = await this.findOwned(userId, voiceId);
    return this.voices.shares(v.id);
  }

  /**
   * Streams a voice's audition clip to a viewer who may use the voice (the
   * clip itself stays a private file of the creator). Keeps Range, If-Range
   * and the conditional headers.
   */
  async audition(
    viewerId: string,
    voiceId: string,
    req: ConditionalRequest,
  ): Promise<DownloadDescriptor> {
    const v = await this.readyVoice(viewerId, voiceId);
    return this.files.downloadAudition(v, req);
  }

  /** A voice the caller may synthesize with or listen to: theirs, public or shared, and ready. */
  async readyVoice(userId: string, voiceId: string): Promise<VoiceWithOwner> {
    const v = await this.findVisible(userId, voiceId);
    if (v.status !== 'ready' || !v.call_name) {
      throw ERRORS.conflict('The voice is not ready', { info: `its status is ${v.status}` });
    }
    return v;
  }

  /**
   * Speech from text with a voice, as audio chunks. The first chunk is
   * awaited before returning, so provider errors still become clean 4xx/5xx.
   */
  async synthesize(
    userId: string,
    voiceId: string,
    input: SynthesizeBody,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ contentType: string; stream: AsyncIterable<Uint8Array> }> {
    const v = await this.readyVoice(userId, voiceId);
    if (v.provider !== this.provider.name) {
      throw ERRORS.conflict(
        `The voice was made with provider '${v.provider}', which this server does not use now`,
      );
    }
    if (typeof input.text !== 'string' || !input.text.trim())
      throw ERRORS.badRequest('Missing fields: text');
    const format = (input.format ?? 'mp3') as AudioFormat;
    if (!['mp3', 'wav', 'pcm'].includes(format))
      throw ERRORS.badRequest("format must be 'mp3', 'wav' or 'pcm'");
    const sampleRate = input.sample_rate === undefined ? 22050 : Number(input.sample_rate);
    if (!isOutputSampleRate(sampleRate)) {
      throw ERRORS.badRequest(`sample_rate must be one of ${OUTPUT_SAMPLE_RATES.join(', ')}`);
    }
    const num = (val: number | undefined, name: string, lo: number, hi: number, dflt: number) => {
      if (val === undefined) return dflt;
      if (typeof val !== 'number' || !(val >= lo && val <= hi))
        throw ERRORS.badRequest(`${name} must be a number from ${lo} to ${hi}`);
      return val;
    };
    const rate = num(input.rate, 'rate', 0.5, 2, 1);
    const pitch = num(input.pitch, 'pitch', 0.5, 2, 1);
    const volume = num(input.volume, 'volume', 0, 100, 50);
    if (!this.speech) throw new Error('VoiceService needs a SpeechService to synthesize');
    const speech = this.speech;
    // Long text is split on sentences and streamed (services/speech.service.ts),
    // which also holds the user's synthesis slot until the audio is sent or the
    // client goes away.
    const r = await speech.speak({
      voice: v,
      text: input.text,
      format,
      sampleRate,
      speed: rate,
      pitch,
      volume,
      limit: {
        maxChars: this.settings.synthMaxChars ?? 20_000,
        setting: 'SYNTH_MAX_CHARS',
        field: 'text',
      },
      passThrough: true,
      userId,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { contentType: r.contentType, stream: r.stream };
  }

  private async mustFind(voiceId: string): Promise<VoiceWithOwner> {
    const v = await this.voices.findById(voiceId);
    if (!v) throw ERRORS.notFound('Voice not found');
    return v;
  }

  /** Owner sees every status; others only ready voices that are public or shared with them. */
  private async findVisible(userId: string, voiceId: string): Promise<VoiceWithOwner> {
    assertVoiceId(voiceId);
    const found = await this.voices.findById(voiceId);
    const shared =
      !!found && found.created_by !== userId && (await this.voices.isSharedWith(voiceId, userId));
    const v = await assertCanUseVoice(userId, found, async () => shared);
    return shared ? { ...v, shared_with_viewer: true } : v;
  }

  private async findOwned(userId: string, voiceId: string): Promise<VoiceWithOwner> {
    assertVoiceId(voiceId);
    return assertOwnsVoice(userId, await this.voices.findById(voiceId));
  }
}

function validateCreate(input: CreateVoiceInput) {
  const missing = REQUIRED.filter((k) => {
    const v = input[k];
    return v === undefined || v === null || (typeof v === 'string' && !v.trim());
  });
  if (missing.length) throw ERRORS.badRequest(`Missing fields: ${missing.join(', ')}`);
  for (const k of REQUIRED) {
    if (typeof input[k] !== 'string')
      throw ERRORS.badRequest(`Invalid field: ${k}`, { info: `${k} must be a string` });
  }
  return {
    audioFileId: (input.audio_file_id as string).trim(),
    name: checkName(input.voice_name),
    gender: checkGender(input.voice_gender),
    description: checkDescription(input.voice_description),
    isPublic: parseBool(input.is_public, 'is_public') ?? false,
  };
}

function checkName(v: unknown): string {
  if (typeof v !== 'string' || !v.trim())
    throw ERRORS.badRequest('Invalid field: voice_name', {
      info: 'voice_name must be a non-empty string',
    });
  const name = v.trim();
  if ([...name].length > 50) throw ERRORS.badRequest('voice_name must be at most 50 characters');
  return name;
}

function checkGender(v: unknown): Gender {
  if (typeof v === 'string' && (GENDERS as readonly string[]).includes(v)) return v as Gender;
  throw ERRORS.badRequest("voice_gender must be one of 'male', 'female', or 'other'");
}

function checkDescription(v: unknown): string {
  if (typeof v !== 'string')
    throw ERRORS.badRequest('Invalid field: voice_description', {
      info: 'voice_description must be a string',
    });
  if ([...v].length > 1000)
    throw ERRORS.badRequest('voice_description must be at most 1000 characters');
  return v;
}
