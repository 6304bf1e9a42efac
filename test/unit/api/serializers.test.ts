import Fastify from 'fastify';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { sharedSerializers } from '../../../src/api/plugins/serializers.js';

const route = (schema: unknown, httpStatus = '200') => ({
  schema,
  method: 'GET',
  url: '/x',
  httpStatus,
});

describe('sharedSerializers compiles each response schema once', () => {
  const Envelope = Type.Object({ code: Type.Integer(), message: Type.String() });

  it('hands every route that uses the same schema object the same serializer', () => {
    const compile = sharedSerializers()({}, {});
    const a = compile(route(Envelope, '4xx'));
    const b = compile(route(Envelope, '5xx'));
    expect(b).toBe(a);
    expect(a({ code: 404, message: 'Not found', extra: 1 })).toBe(
      '{"code":404,"message":"Not found"}',
    );
  });

  it('compiles distinct schemas separately, even when they look alike', () => {
    const compile = sharedSerializers()({}, {});
    const other = Type.Object({ code: Type.Integer(), message: Type.String() });
    const withName = Type.Object({ name: Type.String() });
    expect(compile(route(other))).not.toBe(compile(route(Envelope)));
    expect(compile(route(withName))({ name: 'ann', code: 1 })).toBe('{"name":"ann"}');
  });

  it('keeps one cache per factory: shared schemas differ between contexts', () => {
    const factory = sharedSerializers();
    const ref = Type.Unsafe(Type.Ref('Err'));
    const short = factory(
      { Err: { $id: 'Err', type: 'object', properties: { code: { type: 'integer' } } } },
      {},
    );
    const long = factory(
      {
        Err: {
          $id: 'Err',
          type: 'object',
          properties: { code: { type: 'integer' }, message: { type: 'string' } },
        },
      },
      {},
    );
    const body = { code: 400, message: 'Bad' };
    expect(short(route(ref))(body)).toBe('{"code":400}');
    expect(long(route(ref))(body)).toBe('{"code":400,"message":"Bad"}');
  });

  it('still fails at start-up on a schema that cannot be compiled', async () => {
    const app = Fastify({
      schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } },
    });
    app.get('/broken', { schema: { response: { 200: { $ref: 'Missing#' } } } }, async () => ({}));
    await expect(app.ready()).rejects.toThrow();
    await app.close().catch(() => undefined);
  });

  it('serializes the responses of an app that uses it', async () => {
    const app = Fastify({
      schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } },
    });
    for (const path of ['/a', '/b']) {
      app.get(path, { schema: { response: { 200: Envelope } } }, async () => ({
        code: 200,
        message: path,
        secret: 'dropped',
      }));
    }
    await app.ready();
    const res = await app.inject('/b');
    expect(res.body).toBe('{"code":200,"message":"/b"}');
    await app.close();
  });
});
