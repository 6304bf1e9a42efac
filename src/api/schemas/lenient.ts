import { Type, type Static } from 'typebox';
import { ERRORS } from '../../errors.js';

/**
 * The contract's lenient readings, written once. The original Flask app read
 * `"true"`/`"false"` strings, numeric strings and fell back to defaults for
 * bad page values; its clients still send all of that. The schemas below say
 * so in the OpenAPI document (every field has its type there), and the
 * parsers turn what the schemas let through into plain typed values.
 */

/** The largest page number served; a bigger one is "invalid" and falls back to the default. */
export const MAX_PAGE = 1_000_000;
/** The contract's page_size cap (the original had none). */
export const MAX_PAGE_SIZE = 100;

/** The string forms of {@link BoolLike}: what a form field (always a string) may hold. */
export const BOOL_STRINGS = [
  Type.Literal('true'),
  Type.Literal('false'),
  Type.Literal('1'),
  Type.Literal('0'),
  Type.Literal(''),
] as const;

/**
 * A boolean as the original's clients send it: a JSON boolean, `"true"`/`"false"`,
 * `1`/`0`, `"1"`/`"0"`; `''` and `null` mean "not given". Anything else is a 400
 * naming the field (the original took any non-empty string as true).
 */
export const BoolLike = Type.Union(
  [Type.Boolean(), ...BOOL_STRINGS, Type.Literal(1), Type.Literal(0), Type.Null()],
  { description: 'boolean; also "true"/"false", 1/0, "1"/"0"; "" or null = not given' },
);
export type BoolLike = Static<typeof BoolLike>;

/**
 * A page number or size: an integer ≥ 1 or its decimal string. Any other value
 * (0, -1, 1.5, "x", null, {}, 1e21) is accepted and falls back to the default,
 * as the contract requires; the first branch is what clients should send.
 */
export function pageLike(description: string) {
  return Type.Unsafe<unknown>({
    description,
    anyOf: [
      { type: 'integer', minimum: 1 },
      { type: 'string', pattern: '^[0-9]+$' },
      { description: 'anything else falls back to the default' },
    ],
  });
}

/** Reads a BoolLike; `undefined` when not given. Throws 400 naming `field` for anything else. */
export function parseBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 'true' || v === 1 || v === '1') return true;
  if (v === false || v === 'false' || v === 0 || v === '0') return false;
  throw ERRORS.badRequest(`Invalid field: ${field}`, {
    info: `${field} must be true or false`,
  });
}

/**
 * A positive whole number from a number or a decimal string, at most `max`;
 * anything else (including numbers too large to count with) is `dflt`.
 */
export function positiveInt(v: unknown, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\d{1,16}$/.test(v.trim())) n = Number(v.trim());
  return n !== undefined && Number.isSafeInteger(n) && n >= 1 && n <= max ? n : dflt;
}

/** `page` (default 1, at most MAX_PAGE) and `page_size` (default 10, capped at 100). */
export function pageOf(input: { page?: unknown; page_size?: unknown }): {
  page: number;
  pageSize: number;
} {
  const page = positiveInt(input.page, 1, MAX_PAGE);
  // Over the cap is capped (the contract), not reset to the default.
  const size = positiveInt(input.page_size, 10);
  return { page, pageSize: Math.min(size, MAX_PAGE_SIZE) };
}
