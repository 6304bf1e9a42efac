import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeApp, registerUser, type TestApp } from '../helpers/app.js';

/**
 * Schema-driven fuzzing of every route: requests are generated from the
 * OpenAPI document the app builds from its route schemas (path, query,
 * header parameters and JSON bodies), mixed with hostile values; every
 * answer must be below 500 and, when JSON, in the `{code, message}` envelope
 * (under `/v1`, errors in OpenAI's `{error: {message, type}}` shape)
 * with code = HTTP status.
 */

// any: OpenAPI / JSON-schema fragments are walked generically.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = any;

interface Operation {
  method: string;
  path: string;
  params: { in: string; name: string; schema: Schema }[];
  body?: Schema;
  multipart: boolean;
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '%',
  '%E0%A4%A',
  '%00',
  '\u0000',
  '../../../etc/passwd',
  "'; drop table users; --",
  '1e21',
  '99999999999999999999999',
  '-1',
  'NaN',
  'true',
  '{}',
  '💥'.repeat(300),
  'x'.repeat(50_000),
  '01900000-0000-7000-8000-000000000000',
];

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    ...HOSTILE_STRINGS,
    1e21,
    -1e21,
    1e308,
    -0,
    0,
    -1,
    1.5,
    Number.MAX_SAFE_INTEGER + 2,
    true,
    false,
    null,
    [],
    {},
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** Values that follow `schema`, or (now and then) anything hostile instead. */
function fromSchema(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: conforming(schema, depth) },
    { weight: 1, arbitrary: hostile },
  );
}

function conforming(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return hostile;
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s: Schema) => conforming(s, depth + 1)));
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'string':
      return fc.oneof(
        fc.string({ maxLength: Math.min(schema.maxLength ?? 60, 60) }),
        fc.constantFrom(...HOSTILE_STRINGS),
        fc.uuid(),
      );
    case 'integer':
      return fc.oneof(fc.integer(), fc.constantFrom(1, 2, 100, 1e21));
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(schema.items, depth + 1), {
        maxLength: Math.min(schema.maxItems ?? 3, 3),
      });
    case 'object': {
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, s] of Object.entries(schema.properties ?? {})) {
        props[k] = fromSchema(s, depth + 1);
      }
      return fc.record(props, { requiredKeys: [] });
    }
    default:
      return hostile;
  }
}

function operations(doc: Schema): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(methods)) {
      ops.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p: Schema) => ({
          in: p.in,
          name: p.name,
          schema: p.schema,
        })),
        body: op.requestBody?.content?.['application/json']?.schema,
        multipart: op.requestBody?.content?.['multipart/form-data'] !== undefined,
      });
    }
  }
  return ops;
}

const asString = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

describe('schema-driven fuzzing of every route', () => {
  let t: TestApp;
  let token: string;
  let ops: Operation[];

  beforeAll(async () => {
    t = await makeApp('sqlite', { RATE_LIMIT_PER_MIN: '1000000' });
    token = (await registerUser(t.app, 'fuzzer')).access;
    ops = operations(t.app.swagger());
  });
  afterAll(async () => t?.close());

  it('covers every API route of the app', () => {
    const routes = ops.map((o) => `${o.method} ${o.path}`);
    expect(routes).toContain('POST /api/voice/get_voices');
    expect(routes).toContain('POST /api/file/upload');
    expect(routes).toContain('DELETE /api/voice/{voice_id}/shares/{user_id}');
    expect(routes.length).toBeGreaterThanOrEqual(25);
  });

  it('answers every generated request below 500, inside the envelope', async () => {
    const request = fc.nat().chain((i) => {
      const op = ops[i % ops.length]!;
      const params: Record<string, fc.Arbitrary<unknown>> = {};
      for (const p of op.params) params[`${p.in}:${p.name}`] = fromSchema(p.schema);
      return fc.record({
        op: fc.constant(op),
        params: fc.record(params, { requiredKeys: [] }),
        body: op.body ? fromSchema(op.body) : fc.option(hostile, { nil: undefined }),
        authed: fc.boolean().map((b) => b || Math.random() < 0.8),
        rawBody: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: undefined }),
      });
    });

    await fc.assert(
      fc.asyncProperty(request, async ({ op, params, body, authed, rawBody }) => {
        let url = op.path;
        const query: string[] = [];
        const headers: Record<string, string> = authed ? bearer(token) : {};
        for (const p of op.params) {
          const v = params[`${p.in}:${p.name}`];
          if (p.in === 'path') {
            url = url.replace(`{${p.name}}`, encodeURIComponent(asString(v ?? 'x') || 'x'));
          } else if (v !== undefined && p.in === 'query') {
            query.push(`${p.name}=${encodeURIComponent(asString(v))}`);
          } else if (v !== undefined && p.in === 'header') {
            headers[p.name] = asString(v)
              .replace(/[^\x20-\x7e]/g, '')
              .slice(0, 200);
          }
        }
        if (query.length) url += `?${query.join('&')}`;
        let payload: string | Buffer | undefined;
        if (op.multipart) {
          headers['content-type'] = 'multipart/form-data; boundary=fuzz';
          payload = Buffer.concat([
            Buffer.from(
              '--fuzz\r\nContent-Disposition: form-data; name="file"; filename="f.wav"\r\n\r\n',
            ),
            Buffer.from(rawBody ?? []),
            Buffer.from(rawBody && rawBody.length % 2 ? '' : '\r\n--fuzz--\r\n'),
          ]);
        } else if (body !== undefined && op.method !== 'GET') {
          headers['content-type'] = 'application/json';
          payload = JSON.stringify(body);
        }
        const res = await t.app.inject({
          method: op.method as 'GET',
          url,
          headers,
          ...(payload !== undefined ? { payload } : {}),
        });
        const where = `${op.method} ${url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
        expect(res.statusCode, where).toBeLessThan(500);
        if (url.startsWith('/v1/') && res.statusCode >= 400) {
          // The OpenAI-compatible API answers errors in OpenAI's shape.
          const json = res.json<{ error?: { message?: unknown; type?: unknown } }>();
          expect(typeof json.error?.message, where).toBe('string');
          expect(typeof json.error?.type, where).toBe('string');
        } else if (url.startsWith('/v1/')) {
          // Its successes are OpenAI's objects (lists, voices) or audio.
        } else if (String(res.headers['content-type']).startsWith('application/json')) {
          const json = res.json<{ code?: unknown; message?: unknown }>();
          expect(json.code, where).toBe(res.statusCode);
          expect(typeof json.message, where).toBe('string');
        } else {
          // Only successful downloads, audio and metrics text are not JSON.
          expect(res.statusCode, where).toBeLessThan(400);
        }
      }),
      { numRuns: 250, seed: Number(process.env.FUZZ_SEED ?? 20261128), endOnFailure: true },
    );
  }, 120_000);
});
