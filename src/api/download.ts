import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { ConditionalRequest, DownloadDescriptor } from '../services/file.service.js';

/** The request headers a download honours (Range, If-Range and the conditional ones). */
export const ConditionalHeaders = Type.Object({
  range: Type.Optional(Type.String({ description: 'bytes=start-end' })),
  'if-range': Type.Optional(Type.String()),
  'if-none-match': Type.Optional(Type.String()),
  'if-modified-since': Type.Optional(Type.String()),
});

/** Reads the headers a download honours, for the services' transport-free shape. */
export function conditionalHeaders(h: IncomingHttpHeaders): ConditionalRequest {
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
