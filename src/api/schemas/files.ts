import { Type, type Static } from 'typebox';
import { BOOL_STRINGS, BoolLike, pageLike } from './lenient.js';

/** Request and response schemas of `/api/file/*`; the service's view types derive from them. */

const Origin = Type.Union(
  [Type.Literal('upload'), Type.Literal('audition'), Type.Literal('rendition')],
  {
    description:
      "'upload', 'audition' for a clip generated for a voice, or 'rendition' for a provider-ready copy of a sample (never listed)",
  },
);

const AudioInfo = Type.Union([
  Type.Object({
    duration_sec: Type.Number(),
    codec: Type.String(),
    sample_rate: Type.Integer(),
    channels: Type.Integer(),
  }),
  Type.Null(),
]);

/** The contract's file object, plus the new `is_public`, `origin` and `audio` fields. */
export const FileObject = Type.Object({
  file_id: Type.String(),
  file_name: Type.String(),
  file_path: Type.String(),
  file_size: Type.Integer(),
  file_type: Type.String(),
  is_private: Type.Boolean({ description: "Sic: carries is_public's value, as the original did" }),
  is_public: Type.Boolean(),
  description: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  updated_at: Type.String(),
  origin: Origin,
  audio: AudioInfo,
});
export type FileView = Static<typeof FileObject>;

/** One item of `/list`. */
export const FileListItem = Type.Object({
  file_id: Type.String(),
  file_name: Type.String(),
  file_path: Type.String(),
  file_size: Type.Integer(),
  file_type: Type.String(),
  created_at: Type.String(),
  created_by_username: Type.String(),
  created_by_user_id: Type.String(),
  is_public: Type.Boolean(),
  description: Type.Union([Type.String(), Type.Null()]),
  is_owner: Type.Boolean(),
  origin: Origin,
});
export type FileListItem = Static<typeof FileListItem>;

export const FileIdParams = Type.Object({ file_id: Type.String({ maxLength: 100 }) });

export const FileListBody = Type.Object({
  page: Type.Optional(pageLike('page number, default 1')),
  page_size: Type.Optional(pageLike('items per page, default 10, capped at 100')),
  only_mine: Type.Optional(BoolLike),
});
export type FileListBody = Static<typeof FileListBody>;

export const FileUpdateBody = Type.Object({
  file_name: Type.Optional(Type.String({ maxLength: 1000, description: 'cut to 255 bytes' })),
  is_public: Type.Optional(BoolLike),
  is_private: Type.Optional(
    Type.Union(BoolLike.anyOf, {
      description: "the original's synonym of is_public (its quirk: same meaning)",
    }),
  ),
  description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type FileUpdateBody = Static<typeof FileUpdateBody>;

/**
 * A multipart form's file part. Documented only: the bytes are streamed to the
 * store by @fastify/multipart, never parsed into a body (see `formBody`).
 */
const FilePart = Type.Unsafe<unknown>({
  type: 'string',
  format: 'binary',
  description: 'the file; its type is read from its content, not from its name',
});

/** `POST /api/file/upload`'s multipart form (contract §Files). */
export const UploadForm = Type.Object({
  file: FilePart,
  is_public: Type.Optional(
    Type.Union([...BOOL_STRINGS], { description: 'default true; "" = not given' }),
  ),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
});

/** `POST /api/file/update_content/<id>`'s multipart form: the new bytes only. */
export const ContentForm = Type.Object({ file: FilePart });
