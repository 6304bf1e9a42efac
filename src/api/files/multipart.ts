import type { FastifyRequest } from 'fastify';
import type { UploadPart } from '../../services/file.service.js';

/** Adapts @fastify/multipart's parts to the service's transport-free shape. */
export async function* uploadParts(request: FastifyRequest): AsyncIterable<UploadPart> {
  if (!request.isMultipart()) {
    const err = new Error('Expected multipart/form-data') as Error & { code: string };
    err.code = 'FST_INVALID_MULTIPART_CONTENT_TYPE';
    throw err;
  }
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      yield { kind: 'file', field: part.fieldname, filename: part.filename, stream: part.file };
    } else {
      yield { kind: 'field', field: part.fieldname, value: part.value };
    }
  }
}
