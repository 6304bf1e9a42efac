import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ConditionalHeaders, conditionalHeaders, sendDownload } from '../download.js';
import { requireAccessToken } from '../plugins/auth.js';
import { envelope, responses } from '../schemas/common.js';
import {
  ContentForm,
  FileIdParams,
  FileListBody,
  FileListItem,
  FileObject,
  FileUpdateBody,
  UploadForm,
} from '../schemas/files.js';
import { formBody } from '../schemas/form-body.js';
import { uploadParts } from './multipart.js';

const Binary = Type.Unsafe<unknown>({ description: 'the file bytes (Range supported)' });

/** `/api/file/*` (contract §Files). */
export const fileRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { files, tokens, config } = app.services;
  const timeouts = {
    idleMs: config.upload.idleTimeoutSec * 1000,
    totalMs: config.upload.totalTimeoutSec * 1000,
  };
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
        description:
          'Uploads one audio or image file (multipart form: `file`, `is_public`, `description`).',
        response: responses({ 201: envelope(FileObject.properties) }),
      },
      config: formBody(UploadForm),
    },
    async (request, reply) => {
      const view = await files.upload(request.userId, uploadParts(request, timeouts));
      return reply.status(201).send({ code: 201, message: 'upload file success', ...view });
    },
  );

  app.get(
    '/download/:file_id',
    {
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        params: FileIdParams,
        headers: ConditionalHeaders,
        response: responses({ 200: Binary, 206: Binary, 304: Binary }),
      },
    },
    async (request, reply) =>
      sendDownload(
        reply,
        await files.download(
          request.userId,
          request.params.file_id,
          conditionalHeaders(request.headers),
        ),
      ),
  );

  app.post(
    '/list',
    {
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        body: Type.Optional(FileListBody),
        response: responses({
          200: envelope({
            has_next: Type.Boolean(),
            total_items: Type.Integer(),
            total_pages: Type.Integer(),
            current_page: Type.Integer(),
            files: Type.Array(FileListItem),
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
        params: FileIdParams,
        body: FileUpdateBody,
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
        description:
          'Replaces the bytes of one of your files: audio only by audio, image only by image.',
        params: FileIdParams,
        response: responses({ 200: envelope({ file: FileObject }) }),
      },
      config: formBody(ContentForm),
    },
    async (request) => {
      const file = await files.updateContent(
        request.userId,
        request.params.file_id,
        uploadParts(request, timeouts),
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
        params: FileIdParams,
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
          params: FileIdParams,
          querystring: Type.Object({
            exp: Type.Optional(Type.String({ maxLength: 20 })),
            sig: Type.Optional(Type.String({ maxLength: 100 })),
          }),
          headers: ConditionalHeaders,
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
            conditionalHeaders(request.headers),
          ),
        ),
    );
  }
};
