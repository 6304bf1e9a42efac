import { Type, type Static } from 'typebox';
import { BoolLike, pageLike } from './lenient.js';

/** Request and response schemas of `/api/voice/*`; the service's view types derive from them. */

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

export const VoiceStatus = Type.Union(
  [
    Type.Literal('pending'),
    Type.Literal('processing'),
    Type.Literal('ready'),
    Type.Literal('failed'),
    Type.Literal('revoked'),
  ],
  {
    description:
      "pending | processing | ready | failed | revoked (the sample's owner withdrew it; see error_info)",
  },
);

/** The contract's voice object plus the new fields (status, provider, quality…). */
export const VoiceObject = Type.Object({
  voice_id: Type.String(),
  voice_name: Type.String(),
  voice_gender: Type.String({ description: 'male | female | other' }),
  voice_description: Type.String(),
  voice_audition_url: Nullable(Type.String({ description: 'the file id of the audition clip' })),
  call_name: Nullable(Type.String({ description: "the provider's voice id" })),
  is_public: Type.Boolean(),
  created_by_user_id: Type.String(),
  created_by_username: Type.String(),
  created_at: Type.String(),
  is_created_by_current_user: Type.Boolean(),
  is_shared_with_current_user: Type.Boolean(),
  status: VoiceStatus,
  error_info: Nullable(Type.String()),
  provider: Type.String(),
  target_model: Type.String(),
  quality: Type.Unknown({ description: 'the sample assessment: verdict, score, metrics, advice' }),
});
export type VoiceView = Static<typeof VoiceObject>;

/** Text fields the contract requires; a blank or null one counts as missing (400 `Missing fields: …`). */
const RequiredText = (maxLength: number, description: string) =>
  Type.Optional(Nullable(Type.String({ maxLength, description })));

/**
 * A create_voice body. Presence, blanks and the gender's allowed values are
 * checked by the service, so the contract's own messages stay, and a batch
 * reports them per item.
 */
export const CreateVoiceBody = Type.Object({
  audio_file_id: RequiredText(100, 'id of an uploaded audio file you own, or a public one'),
  voice_name: RequiredText(1000, 'at most 50 characters'),
  voice_gender: RequiredText(100, 'male | female | other'),
  voice_description: RequiredText(10_000, 'at most 1000 characters'),
  is_public: Type.Optional(BoolLike),
  /** true: the caller attests the speaker agreed (required to clone someone else's recording). */
  consent: Type.Optional(BoolLike),
});
export type CreateVoiceBody = Static<typeof CreateVoiceBody>;

export const BatchCreateBody = Type.Object({
  voices: Type.Array(CreateVoiceBody, { minItems: 1, maxItems: 20 }),
});

export const CreateVoiceQuery = Type.Object({
  async: Type.Optional(
    Type.String({ maxLength: 10, description: '"1" or "true": answer 202 at once' }),
  ),
});

export const BatchResult = Type.Object({
  index: Type.Integer(),
  code: Type.Integer(),
  message: Type.String(),
  error_info: Type.Optional(Type.String()),
  voice_id: Type.Optional(Type.String()),
  status: Type.Optional(VoiceStatus),
  retry_after: Type.Optional(Type.String({ description: 'with 429: seconds to wait' })),
});
export type BatchResult = Static<typeof BatchResult>;

export const AssessBody = Type.Object({
  audio_file_id: RequiredText(100, 'id of an uploaded audio file you own, or a public one'),
});

export const Quality = Type.Object({
  verdict: Type.String(),
  score: Type.Number(),
  usable: Type.Boolean(),
  /** Why the sample is not usable for this provider and model. */
  reason: Type.Optional(Type.String()),
  /** Which provider and model the verdict is for (assess_sample). */
  provider: Type.Optional(Type.String()),
  target_model: Type.Optional(Type.String()),
  advice: Type.Array(Type.String()),
  metrics: Type.Optional(Type.Unknown()),
});

/** Longest key_word read: no voice name is over 50 characters, so a longer one matches nothing. */
export const MAX_KEYWORD_LENGTH = 1000;

export const ListVoicesBody = Type.Object({
  key_word: Type.Optional(
    Nullable(
      Type.String({
        maxLength: MAX_KEYWORD_LENGTH,
        description: 'literal substring of the name (% and _ are not wildcards)',
      }),
    ),
  ),
  page: Type.Optional(pageLike('page number, default 1')),
  page_size: Type.Optional(pageLike('items per page, default 10, capped at 100')),
  gender: Type.Optional(
    Nullable(Type.String({ maxLength: 100, description: 'all | male | female | other' })),
  ),
  created_by_current_user: Type.Optional(BoolLike),
  order: Type.Optional(
    Type.Unknown({
      description:
        "'oldest' (default, the contract's order) or 'newest'; anything else is a 400 naming the choices",
    }),
  ),
});
export type ListVoicesBody = Static<typeof ListVoicesBody>;

export const VerifyBody = Type.Object({
  voice_id: Type.Optional(
    Type.Unsafe<unknown>({
      description: 'a voice id (UUID); anything else is 400 `Invalid voice_id format`',
      anyOf: [{ type: 'string', maxLength: 100 }, {}],
    }),
  ),
});

export const VoiceParams = Type.Object({ voice_id: Type.String({ maxLength: 100 }) });
export const ShareParams = Type.Object({
  voice_id: Type.String({ maxLength: 100 }),
  user_id: Type.String({ maxLength: 100 }),
});

export const UpdateVoiceBody = Type.Object({
  voice_name: Type.Optional(Type.String({ maxLength: 1000, description: 'at most 50 characters' })),
  voice_gender: Type.Optional(
    Type.String({ maxLength: 100, description: 'male | female | other' }),
  ),
  voice_description: Type.Optional(
    Type.String({ maxLength: 10_000, description: 'at most 1000 characters' }),
  ),
  is_public: Type.Optional(BoolLike),
});
export type UpdateVoiceBody = Static<typeof UpdateVoiceBody>;

export const SynthesizeBody = Type.Object({
  text: Type.Optional(Type.String({ description: 'the text to speak' })),
  format: Type.Optional(Type.String({ maxLength: 10, description: 'mp3 (default) | wav | pcm' })),
  sample_rate: Type.Optional(
    Type.Union([Type.Integer(), Type.String({ pattern: '^[0-9]{1,6}$' })], {
      description: '8000 | 16000 | 22050 (default) | 24000 | 44100 | 48000',
    }),
  ),
  rate: Type.Optional(Type.Number({ description: 'speed, 0.5–2, default 1' })),
  pitch: Type.Optional(Type.Number({ description: '0.5–2, default 1' })),
  volume: Type.Optional(Type.Number({ description: '0–100, default 50' })),
});
export type SynthesizeBody = Static<typeof SynthesizeBody>;

export const ShareBody = Type.Object({
  user_id: Type.Optional(Type.String({ maxLength: 100 })),
  identifier: Type.Optional(Type.String({ maxLength: 255 })),
  type: Type.Optional(Type.String({ maxLength: 10, description: 'phone | email' })),
});
export type ShareBody = Static<typeof ShareBody>;

export const ShareItem = Type.Object({
  user_id: Type.String(),
  username: Type.String(),
  created_at: Type.Optional(Type.String()),
});
