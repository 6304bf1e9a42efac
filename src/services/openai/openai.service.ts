import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isSpeechFormat, SPEECH_FORMATS, type SpeechFormat } from '../../audio/stream-encoder.js';
import { AppError, ERRORS } from '../../errors.js';
import type { VoiceProvider } from '../../providers/provider.js';
import type { OpenAiRepository, VoiceConsentRow } from '../../repositories/openai.repository.js';
import type { VoiceWithOwner } from '../../repositories/voice.repository.js';
import { isUuid } from '../access.js';
import type { FileService, UploadPart } from '../file.service.js';
import type { SpeechResult, SpeechService } from '../speech.service.js';
import { charCount } from '../speech-text.js';
import type { VoiceService } from '../voice.service.js';
import type { VoiceView } from '../voice-views.js';

/** OpenAI's built-in voice names: they speak with the configured default voice. */
export const OPENAI_BUILTIN_VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'fable',
  'onyx',
  'nova',
  'sage',
  'shimmer',
  'verse',
  'marin',
  'cedar',
] as const;

/** Model ids listed by the models routes (any model string is accepted). */
export const OPENAI_MODELS = ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts'] as const;

/** OpenAI's speech output rate: every format is 24 kHz mono. */
export const OPENAI_SAMPLE_RATE = 24_000;
/** Longest `instructions` accepted (they are not used by the current providers). */
const MAX_INSTRUCTIONS = 4096;
/** Most voices a name lookup or a listing reads. */
const LIST_LIMIT = 1000;

export interface OpenAiSettings {
  maxInputChars: number;
  /** A voice id or name for the built-in names, server-wide (OPENAI_DEFAULT_VOICE). */
  defaultVoice?: string;
}

/** A 400 naming the request field, as OpenAI's `param`. */
function invalid(param: string, message: string): AppError {
  return ERRORS.badRequest(message, { extra: { param } });
}

const unixSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** OpenAI's custom-voice object, with Timbre's creation status. */
export function openAiVoice(
  v: Pick<VoiceView, 'voice_id' | 'voice_name' | 'created_at' | 'status' | 'error_info'>,
) {
  return {
    id: v.voice_id,
    object: 'audio.voice' as const,
    name: v.voice_name,
    created_at: unixSeconds(v.created_at),
    type: 'audio_sample' as const,
    /** Timbre's creation status: pending, processing, ready or failed. */
    status: v.status,
    ...(v.status === 'failed' ? { error: v.error_info } : {}),
  };
}

export function openAiConsent(c: VoiceConsentRow) {
  return {
    id: c.id,
    object: 'audio.voice_consent' as const,
    name: c.name,
    language: c.language,
    created_at: unixSeconds(c.created_at),
  };
}

export interface SpeechOutcome extends SpeechResult {
  sse: boolean;
  format: SpeechFormat;
  /** OpenAI's usage block for `speech.audio.done`. */
  usage(): { input_tokens: number; output_tokens: number; total_tokens: number };
}

/**
 * The OpenAI-compatible API over Timbre's voices: speech with voice lookup by
 * id, name or built-in name, listings, and the custom-voice (consent + sample)
 * creation that runs Timbre's normal creation job.
 */
export class OpenAiService {
  constructor(
    private readonly repo: OpenAiRepository,
    private readonly voices: VoiceService,
    private readonly files: FileService,
    private readonly speech: SpeechService,
    private readonly provider: VoiceProvider,
    private readonly settings: OpenAiSettings,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** `POST /v1/audio/speech`. */
  async speak(
    userId: string,
    body: Record<string, unknown>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<SpeechOutcome> {
    if (typeof body.model !== 'string' || !body.model.trim())
      throw invalid('model', "'model' is required: any model name, e.g. tts-1");
    if (typeof body.input !== 'string')
      throw invalid('input', "'input' is required and must be a string");
    if (!body.input.trim()) throw invalid('input', "'input' is empty");
    if (body.voice === undefined || body.voice === null)
      throw invalid('voice', '\'voice\' is required: a voice id, a voice name or {"id": ...}');
    const format = body.response_format ?? 'mp3';
    if (!isSpeechFormat(format))
      throw invalid(
        'response_format',
        `'response_format' must be one of ${SPEECH_FORMATS.join(', ')}`,
      );
    const speed = body.speed === undefined || body.speed === null ? 1 : Number(body.speed);
    if (
      (typeof body.speed !== 'number' && typeof body.speed !== 'string' && body.speed != null) ||
      !Number.isFinite(speed) ||
      speed < 0.25 ||
      speed > 4
    ) {
      throw invalid('speed', "'speed' must be a number from 0.25 to 4.0");
    }
    if (body.instructions !== undefined && body.instructions !== null) {
      if (typeof body.instructions !== 'string')
        throw invalid('instructions', "'instructions' must be a string");
      if (charCount(body.instructions) > MAX_INSTRUCTIONS)
        throw invalid(
          'instructions',
          `'instructions' may be at most ${MAX_INSTRUCTIONS} characters`,
        );
    }
    const streamFormat = body.stream_format ?? 'audio';
    if (streamFormat !== 'audio' && streamFormat !== 'sse')
      throw invalid('stream_format', "'stream_format' must be 'audio' or 'sse'");
    // The text limit first: a too-long input fails without any lookup.
    try {
      this.speech.checkText(body.input, this.inputLimit());
    } catch (err) {
      throw withParam(err, 'input');
    }
    const voice = await this.resolveVoice(userId, body.voice);
    // `instructions` are accepted for compatibility; no current provider takes them.
    const result = await this.speech.speak({
      voice,
      text: body.input,
      format,
      sampleRate: OPENAI_SAMPLE_RATE,
      speed,
      limit: this.inputLimit(),
      // The same per-user synthesis slot as /api synthesis.
      userId,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const inputChars = charCount(body.input);
    return {
      ...result,
      sse: streamFormat === 'sse',
      format,
      usage: () => {
        // Timbre has no tokenizer: about 4 characters per input token (OpenAI's
        // rule of thumb), and one output token per 50 ms of audio.
        const input_tokens = Math.ceil(inputChars / 4);
        const output_tokens = Math.ceil(result.pcmBytes() / 2 / (OPENAI_SAMPLE_RATE / 20));
        return { input_tokens, output_tokens, total_tokens: input_tokens + output_tokens };
      },
    };
  }

  private inputLimit() {
    return {
      maxChars: this.settings.maxInputChars,
      setting: 'OPENAI_MAX_INPUT_CHARS',
      field: 'input',
    };
  }

  /**
   * A voice the caller may speak with: an id, `{"id": …}`, a name (the
   * caller's own first, then shared with them, then public; two at the same
   * level are ambiguous), or one of OpenAI's built-in names, which speak with
   * the caller's default voice, else the server's.
   */
  async resolveVoice(userId: string, voice: unknown): Promise<VoiceWithOwner> {
    let ref: unknown = voice;
    if (typeof voice === 'object' && voice !== null && !Array.isArray(voice)) {
      ref = (voice as { id?: unknown }).id;
    }
    if (typeof ref !== 'string' || !ref.trim() || charCount(ref) > 100) {
      throw invalid('voice', '\'voice\' must be a voice id, a voice name or {"id": "<voice id>"}');
    }
    const s = ref.trim();
    if (isUuid(s)) return withParamAsync(this.voices.readyVoice(userId, s), 'voice');
    const named = await this.byName(userId, s);
    if (named) return named;
    if ((OPENAI_BUILTIN_VOICES as readonly string[]).includes(s.toLowerCase())) {
      const mine = await this.repo.defaultVoiceId(userId);
      const fallback = mine ?? this.settings.defaultVoice;
      if (!fallback) {
        throw invalid(
          'voice',
          `'${s}' is one of OpenAI's voices; this server has none of its own by that name. ` +
            'Choose a default voice (PUT /api/voice/default_voice, or the OPENAI_DEFAULT_VOICE setting), or send a Timbre voice id or name',
        );
      }
      if (isUuid(fallback))
        return withParamAsync(this.voices.readyVoice(userId, fallback), 'voice');
      const byName = await this.byName(userId, fallback);
      if (byName) return byName;
      throw invalid('voice', `the default voice '${fallback}' for '${s}' is not usable by you`);
    }
    throw ERRORS.notFound(`Voice '${s}' not found`, {
      info: 'send the id or exact name of a ready voice you own, that is shared with you, or that is public',
      extra: { param: 'voice' },
    });
  }

  private async byName(userId: string, name: string): Promise<VoiceWithOwner | undefined> {
    const rows = await this.repo.usableVoices(userId, { name, limit: LIST_LIMIT });
    const own = rows.filter((r) => r.created_by === userId);
    const shared = rows.filter(
      (r) => r.created_by !== userId && Boolean(Number(r.shared_with_viewer)),
    );
    const rest = rows.filter((r) => r.created_by !== userId && !Number(r.shared_with_viewer));
    for (const [level, group] of [
      ['your own', own],
      ['shared with you', shared],
      ['public', rest],
    ] as const) {
      if (group.length === 1) return group[0];
      if (group.length > 1) {
        throw invalid(
          'voice',
          `the name '${name}' is ambiguous: ${group.length} voices ${level} have it; send one of their ids (${group
            .slice(0, 5)
            .map((g) => g.id)
            .join(', ')})`,
        );
      }
    }
    return undefined;
  }

  /** `GET /v1/audio/voices`: ready voices the caller may use (public ones without a caller). */
  async listVoices(userId: string | undefined) {
    const rows = await this.repo.usableVoices(userId, { limit: LIST_LIMIT });
    const data = rows.map((r) => ({
      id: r.id,
      name: r.voice_name,
      object: 'voice' as const,
      created_at: unixSeconds(r.created_at),
      owned_by: r.owner_username,
      type: 'audio_sample' as const,
      status: r.status,
    }));
    return {
      object: 'list' as const,
      data,
      voices: data.map((d) => ({ id: d.id, name: d.name })),
    };
  }

  /** The speech models this server answers to (any name works; these are listed). */
  models() {
    const created = 1_700_000_000;
    return [...OPENAI_MODELS, `timbre-${this.provider.name}`].map((id) => ({
      id,
      name: id,
      object: 'model' as const,
      created,
      owned_by: 'timbre',
    }));
  }

  /** `POST /v1/audio/voice_consents`: the recording becomes a private file of the caller. */
  async createConsent(userId: string, parts: AsyncIterable<UploadPart>) {
    const fields: Record<string, unknown> = {};
    const file = await this.files.upload(userId, renameFile(parts, 'recording', fields));
    try {
      const name = requiredString(fields.name, 'name', 255);
      const language = requiredString(fields.language, 'language', 35);
      if (!/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(language))
        throw invalid('language', "'language' must be a BCP 47 tag such as en-US");
      if (!file.audio) throw invalid('recording', "'recording' must be an audio file");
      const row: VoiceConsentRow = {
        id: `cons_${randomUUID().replace(/-/g, '')}`,
        user_id: userId,
        name,
        language,
        file_id: file.file_id,
        created_at: this.now().toISOString(),
      };
      await this.repo.insertConsent(row);
      this.log.info({ consent_id: row.id, file_id: file.file_id }, 'voice consent stored');
      return openAiConsent(row);
    } catch (err) {
      await this.dropUpload(file.file_id);
      throw err;
    }
  }

  async getConsent(userId: string, id: string) {
    return openAiConsent(await this.ownConsent(userId, id));
  }

  async listConsents(userId: string) {
    const rows = await this.repo.listConsents(userId, LIST_LIMIT);
    const data = rows.map(openAiConsent);
    return {
      object: 'list' as const,
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: false,
    };
  }

  async deleteConsent(userId: string, id: string) {
    const c = await this.ownConsent(userId, id);
    await this.repo.deleteConsent(c.id);
    await this.dropUpload(c.file_id);
    return { id: c.id, object: 'audio.voice_consent' as const, deleted: true };
  }

  private async ownConsent(userId: string, id: string): Promise<VoiceConsentRow> {
    const c = id.length <= 40 ? await this.repo.findConsent(id) : undefined;
    if (!c || c.user_id !== userId)
      throw ERRORS.notFound(`Voice consent '${id.slice(0, 40)}' not found`, {
        extra: { param: 'consent' },
      });
    return c;
  }

  /**
   * `POST /v1/audio/voices`: uploads the sample and runs Timbre's normal
   * creation (assessment, job, audition clip), waiting for it as the Timbre
   * route does; answers the voice with its status.
   */
  async createVoice(userId: string, parts: AsyncIterable<UploadPart>) {
    const fields: Record<string, unknown> = {};
    const file = await this.files.upload(userId, renameFile(parts, 'audio_sample', fields));
    let created = false;
    try {
      if (fields.type !== undefined && fields.type !== 'audio_sample') {
        throw invalid(
          'type',
          "only 'audio_sample' voices can be created here (Timbre clones from audio)",
        );
      }
      const name = requiredString(fields.name, 'name', 50);
      const consentId = requiredString(fields.consent, 'consent', 40);
      const consent = await this.ownConsent(userId, consentId);
      const outcome = await this.voices.create(
        userId,
        {
          audio_file_id: file.file_id,
          voice_name: name,
          voice_gender: 'other',
          voice_description: `Created through the OpenAI-compatible API with consent ${consent.id} (${consent.language}).`,
          is_public: false,
        },
        { wait: true },
      );
      created = true;
      return openAiVoice(outcome.voice);
    } catch (err) {
      // A voice row that failed later keeps its sample, as Timbre's own route does.
      const hasVoice = err instanceof AppError && typeof err.extra?.voice_id === 'string';
      if (!created && !hasVoice) await this.dropUpload(file.file_id);
      throw err;
    }
  }

  async getVoice(userId: string, id: string) {
    if (!isUuid(id)) throw ERRORS.notFound(`Voice '${id.slice(0, 100)}' not found`);
    return openAiVoice(await this.voices.get(userId, id));
  }

  async deleteVoice(userId: string, id: string) {
    if (!isUuid(id)) throw ERRORS.notFound(`Voice '${id.slice(0, 100)}' not found`);
    await this.voices.delete(userId, id);
    return { id, object: 'audio.voice.deleted' as const, deleted: true };
  }

  /** The voice OpenAI's built-in names speak with for this user (null: the server's). */
  async defaultVoice(userId: string) {
    const id = await this.repo.defaultVoiceId(userId);
    return { voice_id: id, server_default: this.settings.defaultVoice ?? null };
  }

  async setDefaultVoice(userId: string, voiceId: unknown) {
    if (voiceId === null) {
      await this.repo.setDefaultVoice(userId, null, this.now().toISOString());
      return this.defaultVoice(userId);
    }
    if (typeof voiceId !== 'string' || !isUuid(voiceId))
      throw ERRORS.badRequest('Invalid field: voice_id', {
        info: 'send a voice id, or null to clear',
      });
    await this.voices.readyVoice(userId, voiceId);
    await this.repo.setDefaultVoice(userId, voiceId, this.now().toISOString());
    return this.defaultVoice(userId);
  }

  private async dropUpload(fileId: string) {
    try {
      await this.files.deleteGenerated(fileId);
    } catch (err) {
      this.log.warn({ err, file_id: fileId }, 'could not remove an upload of a failed request');
    }
  }
}

/** Passes the file in `field` on as `file` (FileService's name); collects the other fields. */
async function* renameFile(
  parts: AsyncIterable<UploadPart>,
  field: string,
  fields: Record<string, unknown>,
): AsyncIterable<UploadPart> {
  // Uploads through this API are private.
  yield { kind: 'field', field: 'is_public', value: 'false' };
  let sawFile = false;
  for await (const part of parts) {
    if (part.kind === 'field') {
      fields[part.field] = part.value;
      continue;
    }
    if (part.field !== field) {
      part.stream.resume();
      throw invalid(
        part.field,
        `unexpected file field '${part.field}'; send the audio as '${field}'`,
      );
    }
    sawFile = true;
    yield { ...part, field: 'file' };
  }
  if (!sawFile)
    throw invalid(field, `'${field}' is required: send the audio file in this form field`);
}

function requiredString(v: unknown, param: string, max: number): string {
  if (typeof v !== 'string' || !v.trim()) throw invalid(param, `'${param}' is required`);
  if (charCount(v.trim()) > max)
    throw invalid(param, `'${param}' may be at most ${max} characters`);
  return v.trim();
}

function withParam(err: unknown, param: string): unknown {
  if (err instanceof AppError && err.status < 500 && !err.extra?.param) {
    return new AppError(err.status, err.message, {
      info: err.info,
      headers: err.headers,
      extra: { ...err.extra, param },
      cause: err.cause,
    });
  }
  return err;
}

async function withParamAsync<T>(p: Promise<T>, param: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw withParam(err, param);
  }
}
