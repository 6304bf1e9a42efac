import {
  SerializerSelector,
  type Serializer,
  type SerializerFactory,
} from '@fastify/fast-json-stringify-compiler';

/**
 * Fastify's own response serializer factory (fast-json-stringify), compiling
 * each distinct schema object once instead of once per route and status.
 *
 * Fastify compiles every route's response serializers before it listens, and
 * fast-json-stringify keeps no cache: every route's `4xx` and `5xx` are the
 * one error envelope and many routes share a success shape, so the same code
 * was generated about four times over (about 200 compilations for about 50
 * distinct schemas), a large part of start-up. The output depends only on the
 * schema and on the factory's options and shared schemas, which are fixed per
 * factory, so one cache per factory. Compilation stays eager: a schema that
 * cannot be compiled still fails start-up, not a request.
 */
export function sharedSerializers(): SerializerFactory {
  const build = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    const compiled = new WeakMap<object, Serializer>();
    return (route) => {
      const { schema } = route;
      if (typeof schema !== 'object' || schema === null) return compile(route);
      let serializer = compiled.get(schema);
      if (!serializer) {
        serializer = compile(route);
        compiled.set(schema, serializer);
      }
      return serializer;
    };
  };
}
