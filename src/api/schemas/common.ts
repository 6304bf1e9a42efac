import { Type, type TSchema } from 'typebox';

/** `{code, message, ...}`: the error side of every route. */
export const ErrorEnvelope = Type.Object(
  {
    code: Type.Integer(),
    message: Type.String(),
    error_info: Type.Optional(Type.String()),
    msg: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
  },
  { additionalProperties: true, $id: 'ErrorEnvelope' },
);

/** A success envelope with `payload`'s keys beside `code` and `message`. */
export function envelope<P extends Record<string, TSchema>>(payload: P) {
  return Type.Object({ code: Type.Integer(), message: Type.String(), ...payload });
}

const errorRef = Type.Unsafe<{ code: number; message: string }>(Type.Ref('ErrorEnvelope'));

/** Response schemas: the given successes plus the error envelope for 4xx and 5xx. */
export function responses<S extends Record<number, TSchema>>(success: S) {
  return { ...success, '4xx': errorRef, '5xx': errorRef };
}

export const Uuid = Type.String({ minLength: 1, maxLength: 64 });
export const Timestamp = Type.String({ description: 'ISO-8601 UTC' });
