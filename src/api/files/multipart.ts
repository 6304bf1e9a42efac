import type { Multipart } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { finished, PassThrough } from 'node:stream';
import { AppError, ERRORS } from '../../errors.js';
import type { UploadPart } from '../../services/file.service.js';
import { UPLOAD_BUFFER } from '../../storage/meter.js';

export interface UploadTimeouts {
  /** Cut the upload when no byte arrived for this long (ms). */
  idleMs: number;
  /** Cut the upload when it has not ended after this long (ms). */
  totalMs: number;
}

/**
 * Adapts @fastify/multipart's parts to the service's transport-free shape,
 * and guards the transfer: a body that stalls past `idleMs` or runs past
 * `totalMs` fails with 408 (the service then removes what it staged), and a
 * malformed multipart body fails with 400 instead of surfacing the parser's
 * own error.
 */
export async function* uploadParts(
  request: FastifyRequest,
  timeouts: UploadTimeouts,
): AsyncIterable<UploadPart> {
  if (!request.isMultipart()) {
    const err = new Error('Expected multipart/form-data') as Error & { code: string };
    err.code = 'FST_INVALID_MULTIPART_CONTENT_TYPE';
    throw err;
  }
  const raw = request.raw;
  const started = Date.now();
  let lastByte = started;
  let failure: AppError | undefined;
  let current: PassThrough | undefined;
  let wake: ((err: AppError) => void) | undefined;
  const onData = () => {
    lastByte = Date.now();
  };
  raw.on('data', onData);
  const watchdog = setInterval(
    () => {
      const now = Date.now();
      const idle = now - lastByte >= timeouts.idleMs;
      if (!idle && now - started < timeouts.totalMs) return;
      failure = ERRORS.requestTimeout('Upload timed out', {
        info: idle
          ? `no data received for ${Math.round(timeouts.idleMs / 1000)} s`
          : `the upload took longer than ${Math.round(timeouts.totalMs / 1000)} s`,
        // A client this slow does not get to keep its connection.
        headers: { connection: 'close' },
      });
      clearInterval(watchdog);
      current?.destroy(failure);
      wake?.(failure);
    },
    Math.max(50, Math.min(1000, Math.floor(Math.min(timeouts.idleMs, timeouts.totalMs) / 4))),
  );
  watchdog.unref();

  const parts: AsyncIterator<Multipart> = request.parts()[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (failure) throw failure;
      const next: IteratorResult<Multipart> = await new Promise((resolve, reject) => {
        wake = reject;
        parts.next().then(resolve, (err: unknown) => reject(clientError(err)));
      });
      wake = undefined;
      if (next.done) break;
      const part = next.value;
      if (part.type === 'file') {
        // The service reads `stream`; parser errors on the part become 400s there.
        // UPLOAD_BUFFER: a 64 KiB network chunk passes through without a stall.
        const stream = new PassThrough({ highWaterMark: UPLOAD_BUFFER });
        // The consumer learns of a failure from the stream itself (`errored`, which
        // pipeline() checks) even when it fails before the consumer attaches.
        stream.on('error', () => undefined);
        current = stream;
        // `finished` also reports an error the part met before this line ran (a
        // body cut short inside a file is often parsed, and failed, at once).
        finished(part.file, (err) => {
          if (err) stream.destroy(clientError(err));
        });
        part.file.pipe(stream);
        yield { kind: 'file', field: part.fieldname, filename: part.filename, stream };
        current = undefined;
      } else {
        yield { kind: 'field', field: part.fieldname, value: part.value };
      }
    }
  } finally {
    clearInterval(watchdog);
    raw.off('data', onData);
  }
}

/** A multipart parser's error is the client's (a malformed or truncated body). */
function clientError(err: unknown): Error {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('FST_')) return err as Error;
  return ERRORS.badRequest('Malformed multipart body', {
    info: (err as Error)?.message?.slice(0, 200) || 'the form data could not be parsed',
  });
}
