import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DownloadDescriptor } from '../../services/file.service.js';
import { requireAccessToken } from '../plugins/auth.js';
import { envelope, responses } from '../schemas/common.js';
import { uploadParts } from './multipart.js';

const AudioInfo = Type.Union([
  Type.Object({
    duration_sec: Type.Number(),
    codec: Type.String(),
    sample_rate: Type.Integer(),
    channels: Type.Integer(),
  }),
  Type.Null(),
]);

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
  origin: Type.String({ description: "'upload', or 'audition' for a clip generated for a voice" }),
  audio: AudioInfo,
});

const ListItem = Type.Object({
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
  origin: Type.String(),
});

const IdParams = Type.Object({ file_id: Type.String({ maxLength: 100 }) });
const Binary = Type.Unsafe<unknown>({ description: 'the file bytes (Range supported)' });
const Conditional = Type.Object({
  range: Type.Optional(Type.String()),
  'if-range': Type.Optional(Type.String()),
  'if-none-match': Type.Optional(Type.String()),
  'if-modified-since': Type.Optional(Type.String()),
});

function conditional(request: FastifyRequest) {
  const h = request.headers;
  return {
    range: h.range,
    ifRange: typeof h['if-range'] === 'string' ? h['if-range'] : undefined,
    ifNoneMatch: h['if-none-match'],
    ifModifiedSince: h['if-modified-since'],
  };
}

/** Streams a download descriptor; the service decided everything else. */
export function sendDownload(reply: FastifyReply, d: DownloadDescriptor) {
  void reply.status(d.status).headers(d.headers);
  return d.body ? reply.send(d.body) : reply.send();
}

/** `/api/file/*` (contract §Files). */
export const fileRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { files, tokens } = app.services;
  app.addHook('onRequest', requireAccessToken(tokens));
  // An upload refused mid-body (413, 415, a second file…) leaves the rest of the
  // request unread and unpiped: Node only drains bodies nobody consumed, so the
  // client would stall writing and its connection could never be reused.
  // Discard the rest, as Node does for an unread body.
  app.addHook('onSend', async (request) => {
    if (!request.raw.complete) {
      request.raw.unpipe();
      request.raw.resume();
    }
  });

  app.post(
    '/upload',
    {
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        consumes: ['multipart/form-data'],
        description: 'multipart: `file`, `is_public` ("true"/"false", default true), `description`',
        response: responses({ 201: envelope(FileObject.properties) }),
      },
    },
    async (request, reply) => {
      const view = await files.upload(request.userId, uploadParts(request));
      return reply.status(201).send({ code: 201, message: 'upload file success', ...view });
    },
  );

  app.get(
    '/download/:file_id',
    {
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        params: IdParams,
        headers: Conditional,
        response: responses({ 200: Binary, 206: Binary, 304: Binary }),
      },
    },
    async (request, reply) =>
      sendDownload(
        reply,
        await files.download(request.userId, request.params.file_id, conditional(request)),
      ),
  );

  app.post(
    '/list',
    {
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        body: Type.Optional(
          Type.Object({
            page: Type.Optional(Type.Unknown()),
            page_size: Type.Optional(Type.Unknown()),
            only_mine: Type.Optional(Type.Unknown()),
          }),
        ),
        response: responses({
          200: envelope({
            has_next: Type.Boolean(),
            total_items: Type.Integer(),
            total_pages: Type.Integer(),
            current_page: Type.Integer(),
            files: Type.Array(ListItem),
          }),
        }),
      },
      // A bodiless POST means "defaults" (the schema alone would reject `undefined`).
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const r = await files.list(request.userId, request.body ?? {});
      const totalPages = Math.ceil(r.total / r.pageSize);
      return {
        code: 200,
        message: r.files.length ? 'get file list success' : 'no file found',
        has_next: r.page < totalPages,
        total_items: r.total,
        total_pages: totalPages,
        current_page: r.page,
        files: r.files,
      };
    },
  );

  app.put(
    '/update/:file_id',
    {
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        params: IdParams,
        body: Type.Object({
          file_name: Type.Optional(Type.Unknown()),
          is_public: Type.Optional(Type.Unknown()),
          is_private: Type.Optional(Type.Unknown()),
          description: Type.Optional(Type.Unknown()),
        }),
        response: responses({ 200: envelope({ file: FileObject }) }),
      },
    },
    async (request) => {
      const file = await files.update(request.userId, request.params.file_id, request.body);
      return { code: 200, message: 'update file success', file };
    },
  );

  app.post(
    '/update_content/:file_id',
    {
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        consumes: ['multipart/form-data'],
        params: IdParams,
        response: responses({ 200: envelope({ file: FileObject }) }),
      },
    },
    async (request) => {
      const file = await files.updateContent(
        request.userId,
        request.params.file_id,
        uploadParts(request),
      );
      return { code: 200, message: 'update file content success', file };
    },
  );

  app.delete(
    '/delete/:file_id',
    {
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        params: IdParams,
        response: responses({ 200: envelope({ file_id: Type.String() }) }),
      },
    },
    async (request) => {
      await files.delete(request.userId, request.params.file_id);
      return { code: 200, message: 'delete file success', file_id: request.params.file_id };
    },
  );
};

/** `/api/temfile/download/:id` and `/api/tempfile/download/:id`: the provider's signed door. */
export const providerDownloadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { files } = app.services;
  for (const prefix of ['/temfile', '/tempfile']) {
    app.get(
      `${prefix}/download/:file_id`,
      {
        schema: {
          tags: ['files'],
          description: 'Signed, short-lived link for the voice provider (no JWT). Range supported.',
          params: IdParams,
          querystring: Type.Object({
            exp: Type.Optional(Type.String({ maxLength: 20 })),
            sig: Type.Optional(Type.String({ maxLength: 100 })),
          }),
          headers: Conditional,
          response: responses({ 200: Binary, 206: Binary, 304: Binary }),
        },
      },
      async (request, reply) =>
        sendDownload(
          reply,
          await files.downloadSigned(
            request.params.file_id,
            request.query.exp,
            request.query.sig,
            conditional(request),
          ),
        ),
    );
  }
};
