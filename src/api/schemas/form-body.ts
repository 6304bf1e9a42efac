import type { SwaggerTransform } from '@fastify/swagger';
import type { TObject } from 'typebox';

/**
 * Route `config` that documents a multipart form as the route's request body
 * in the OpenAPI document, and only there.
 *
 * Multipart routes read their parts as streams (@fastify/multipart without
 * `attachFieldsToBody`), so they declare no `schema.body`: Fastify would
 * validate the (absent) parsed body and refuse every upload, and making it
 * present would mean buffering the file. This per-route swagger transform adds
 * the form to the schema the document is built from, so `/docs` shows
 * `multipart/form-data` with every field's type while the request path stays
 * unchanged.
 */
export function formBody(form: TObject): { swaggerTransform: SwaggerTransform } {
  return {
    swaggerTransform: ({ schema, url }) => ({
      schema: { ...schema, consumes: ['multipart/form-data'], body: form },
      url,
    }),
  };
}
