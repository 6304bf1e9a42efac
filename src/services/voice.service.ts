import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { assessBytes, type QualityReport } from '../audio/index.js';
import { JsonCache } from '../cache/cache.js';
import { AppError, ERRORS } from '../errors.js';
import type { JobQueue } from '../jobs/queue.js';
import type { AudioFormat, VoiceProvider } from '../providers/provider.js';
import type { UserRepository } from '../repositories/user.repository.js';
import type {
  VoiceRepository,
  VoiceRow,
  VoiceWithOwner,
} from '../repositories/voice.repository.js';
import { assertCanUseVoice, assertOwnsVoice, assertVoiceId } from './access.js';
import type { FileService } from './file.service.js';
import { providerFailure } from './provider-errors.js';
import { voiceView, type VoiceView } from './voice-views.js';

const GENDERS = ['male', 'female', 'other'] as const;
type Gender = (typeof GENDERS)[number];
const REQUIRED = ['audio_file_id', 'voice_name', 'voice_gender', 'voice_description'] as const;

/**
 * Verdicts that stop a creation before any provider call. `noisy` means the
 * voice is under 12 dB above the noise floor (white noise scores 1 dB): no
 * provider makes a usable voice from that, and the advice says how to fix it.
 */
const REJECTED_VERDICTS = new Set([
  'too_short',
  'noisy',
  'too_long',
  'silent',
  'too_quiet',
  'not_speech',
  'corrupt',
  'wrong_type',
]);

export interface VoiceSettings {
  createWaitSec: number;
  auditionText: string;
}

export interface CreateVoiceInput {
  audio_file_id?: unknown;
  voice_name?: unknown;
  voice_gender?: unknown;
  voice_description?: unknown;
  is_public?: unknown;
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
  private readonly lists: JsonCache;

  constructor(
    private readonly voices: VoiceRepository,
    private readonly users: UserRepository,
    private readonly files: FileService,
    private readonly provider: VoiceProvider,
    private readonly queue: JobQueue,
    private readonly settings: VoiceSettings,
    cache: JsonCache,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.lists = cache;
  }

  /** Validates, checks the sample, writes the voice row and queues its job. */
  async create(
    userId: string,
    input: CreateVoiceInput,
    opts: { wait: boolean },
  ): Promise<CreateOutcome> {
    const fields = validateCreate(input);
    const sample = await this.files.usableSample(userId, fields.audioFileId);
    const quality = await this.assess(sample);
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
      target_model: this.provider.defaultTargetModel,
      status: 'pending',
      error_info: null,
      error_status: null,
      quality: JSON.stringify(quality),
      created_by: userId,
      created_at: nowIso,
      updated_at: nowIso,
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
    await this.lists.bump('voices');
    this.log.info({ voice_id: voiceId, sample_file_id: sample.id }, 'voice creation queued');
    if (!opts.wait)
      return { kind: 'accepted', voice: voiceView(await this.mustFind(voiceId), userId) };
    return this.waitFor(voiceId, userId, this.settings.createWaitSec * 1000);
  }

  /** Batch creation: each item on its own, asynchronously; per-item results. */
  async createMany(userId: string, items: CreateVoiceInput[]) {
    const results: {
      index: number;
      code: number;
      message: string;
      error_info?: string;
      voice_id?: string;
      status?: string;
    }[] = [];
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
        });
      }
    }
    return results;
  }

  /** Waits (bounded) for a creation to end; failed creations become their error. */
  async waitFor(voiceId: string, userId: string, maxMs: number): Promise<CreateOutcome> {
    const deadline = Date.now() + maxMs;
    let delay = 50;
    for (;;) {
      const v = await this.mustFind(voiceId);
      if (v.status === 'ready') return { kind: 'ready', voice: voiceView(v, userId) };
      if (v.status === 'failed') {
        throw new AppError(v.error_status ?? 502, 'create voice fail', {
          info: v.error_info ?? 'the voice could not be created',
          extra: { voice_id: v.id, status: 'failed' },
        });
      }
      if (Date.now() >= deadline) return { kind: 'accepted', voice: voiceView(v, userId) };
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(delay * 1.5, 500);
    }
  }

  /** The assessment of a sample the caller may use (own or public audio). */
  async assessSample(
    userId: string,
    fileId: unknown,
  ): Promise<QualityReport & { usable: boolean }> {
    if (typeof fileId !== 'string' || !fileId.trim())
      throw ERRORS.badRequest('Missing fields: audio_file_id');
    const sample = await this.files.usableSample(userId, fileId);
    const report = await this.qualityOf(sample);
    return { ...report, usable: !REJECTED_VERDICTS.has(report.verdict) };
  }

  private async qualityOf(sample: { storage_key: string; ext: string }): Promise<QualityReport> {
    const bytes = await this.files.readAll(sample);
    const { verdict, score, metrics, advice } = await assessBytes(bytes, sample.ext);
    return { verdict, score, metrics, advice };
  }

  private async assess(sample: { storage_key: string; ext: string }): Promise<QualityReport> {
    const report = await this.qualityOf(sample);
    if (REJECTED_VERDICTS.has(report.verdict)) {
      throw ERRORS.unprocessable('The audio sample is not usable for cloning', {
        info: report.advice.join(' ') || `sample judged ${report.verdict}`,
        extra: { quality: report },
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
    input: {
      key_word?: unknown;
      page?: unknown;
      page_size?: unknown;
      gender?: unknown;
      created_by_current_user?: unknown;
      order?: unknown;
    },
  ): Promise<{ voices: VoiceView[]; hasNext: boolean }> {
    if (input.order !== undefined && input.order !== 'oldest' && input.order !== 'newest') {
      throw ERRORS.badRequest("order must be 'oldest' or 'newest'");
    }
    const order = input.order === 'newest' ? 'desc' : 'asc';
    const page = positiveInt(input.page, 1);
    const pageSize = Math.min(positiveInt(input.page_size, 10), 100);
    const gender =
      typeof input.gender === 'string' && (GENDERS as readonly string[]).includes(input.gender)
        ? (input.gender as Gender)
        : undefined;
    if (input.gender !== undefined && input.gender !== 'all' && input.gender !== '' && !gender) {
      throw ERRORS.badRequest("gender must be one of 'all', 'male', 'female', or 'other'");
    }
    const keyword = typeof input.key_word === 'string' ? input.key_word.trim() : '';
    const onlyMine =
      input.created_by_current_user === true || input.created_by_current_user === 'true';
    const gen = await this.lists.generation('voices');
    // The keyword is hashed so a long one cannot make a long cache key.
    const kw = keyword ? createHash('sha256').update(keyword).digest('base64url').slice(0, 22) : '';
    const key = `voices:${gen}:${userId}:${onlyMine ? 1 : 0}:${gender ?? 'all'}:${page}:${pageSize}:${order}:${kw}`;
    const rows = await this.lists.remember(key, () =>
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

  async update(
    userId: string,
    voiceId: string,
    input: {
      voice_name?: unknown;
      voice_gender?: unknown;
      voice_description?: unknown;
      is_public?: unknown;
    },
  ): Promise<VoiceView> {
    const v = await this.findOwned(userId, voiceId);
    const patch: Partial<VoiceRow> = {};
    if (input.voice_name !== undefined) patch.voice_name = checkName(input.voice_name);
    if (input.voice_gender !== undefined) patch.voice_gender = checkGender(input.voice_gender);
    if (input.voice_description !== undefined)
      patch.voice_description = checkDescription(input.voice_description);
    if (input.is_public !== undefined) patch.is_public = parseBool(input.is_public) ? 1 : 0;
    if (!Object.keys(patch).length) {
      throw ERRORS.badRequest('Nothing to update', {
        info: 'send voice_name, voice_gender, voice_description or is_public',
      });
    }
    patch.updated_at = this.now().toISOString();
    await this.voices.update(v.id, patch);
    await this.lists.bump('voices');
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
    await this.lists.bump('voices');
    if (v.audition_file_id) await this.files.deleteGenerated(v.audition_file_id);
    this.log.info({ voice_id: v.id, call_name: v.call_name }, 'voice deleted');
  }

  async share(
    userId: string,
    voiceId: string,
    input: { user_id?: unknown; identifier?: unknown; type?: unknown },
  ) {
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
      await this.lists.bump('voices');
    }
    return { user_id: target.id, username: target.username };
  }

  async unshare(userId: string, voiceId: string, targetUserId: string): Promise<void> {
    const v = await this.findOwned(userId, voiceId);
    if (!(await this.voices.unshare(v.id, targetUserId)))
      throw ERRORS.notFound('The voice is not shared with this user');
    await this.lists.bump('voices');
  }

  async shares(userId: string, voiceId: string) {
    const v = await this.findOwned(userId, voiceId);
    return this.voices.shares(v.id);
  }

  /** A voice the caller may synthesize with or listen to: theirs, public or shared, and ready. */
  async usable(userId: string, voiceId: string): Promise<VoiceWithOwner> {
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
    input: {
      text?: unknown;
      format?: unknown;
      sample_rate?: unknown;
      rate?: unknown;
      pitch?: unknown;
      volume?: unknown;
    },
  ): Promise<{ contentType: string; stream: AsyncIterable<Uint8Array> }> {
    const v = await this.usable(userId, voiceId);
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
    if (![8000, 16000, 22050, 24000, 44100, 48000].includes(sampleRate)) {
      throw ERRORS.badRequest('sample_rate must be one of 8000, 16000, 22050, 24000, 44100, 48000');
    }
    const num = (val: unknown, name: string, lo: number, hi: number, dflt: number) => {
      if (val === undefined) return dflt;
      if (typeof val !== 'number' || !(val >= lo && val <= hi))
        throw ERRORS.badRequest(`${name} must be a number from ${lo} to ${hi}`);
      return val;
    };
    const stream = this.provider.synthesize({
      voiceId: v.call_name!,
      targetModel: v.target_model,
      text: input.text,
      format,
      sampleRate,
      rate: num(input.rate, 'rate', 0.5, 2, 1),
      pitch: num(input.pitch, 'pitch', 0.5, 2, 1),
      volume: num(input.volume, 'volume', 0, 100, 50),
    });
    const it = stream[Symbol.asyncIterator]();
    let first: IteratorResult<Uint8Array>;
    try {
      first = await it.next();
    } catch (err) {
      throw providerFailure(err);
    }
    // No audio at all is a provider failure, not an empty 200.
    if (first.done) {
      throw ERRORS.badGateway('The voice provider returned no audio', {
        info: 'the provider answered without any audio; try again later',
      });
    }
    const firstChunk = first.value;
    const contentType =
      format === 'mp3'
        ? 'audio/mpeg'
        : format === 'wav'
          ? 'audio/wav'
          : `audio/L16; rate=${sampleRate}; channels=1`;
    async function* rest(): AsyncIterable<Uint8Array> {
      yield firstChunk;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    }
    return { contentType, stream: rest() };
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
    isPublic:
      input.is_public === undefined || input.is_public === null
        ? false
        : parseBool(input.is_public),
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

/** JSON booleans, and the strings "true"/"false" read correctly (the original took any non-empty string as true). */
function parseBool(v: unknown): boolean {
  if (v === true || v === 'true' || v === 1 || v === '1') return true;
  if (v === false || v === 'false' || v === 0 || v === '0') return false;
  throw ERRORS.badRequest('Invalid field: is_public', { info: 'is_public must be true or false' });
}

function positiveInt(v: unknown, dflt: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : dflt;
}
