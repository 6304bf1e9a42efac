import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes on a fresh socket and reads one response (until the server
 * closes or `timeoutMs` passes). For requests fetch would refuse to send.
 */
export function rawRequest(
  port: number,
  chunks: (string | Buffer)[],
  opts: { timeoutMs?: number; gapMs?: number; keepOpen?: boolean } = {},
): Promise<RawResponse & { elapsedMs: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    const tryParse = (final: boolean) => {
      const text = Buffer.concat(got).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return final ? fail(text) : undefined;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const body = text.slice(end + 4);
      const length = Number(headers['content-length']);
      if (!final && (!Number.isFinite(length) || Buffer.byteLength(body) < length)) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        body: Number.isFinite(length) ? Buffer.from(body).subarray(0, length).toString() : body,
        elapsedMs: Date.now() - t0,
      });
    };
    const fail = (text: string) => {
      clearTimeout(timer);
      reject(new Error(`connection closed without a response: ${JSON.stringify(text)}`));
    };
    socket.on('data', (d) => {
      got.push(d);
      tryParse(false);
    });
    socket.on('close', () => tryParse(true));
    socket.on('error', () => undefined);
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (socket.destroyed) return;
        socket.write(c);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}
