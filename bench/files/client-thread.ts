/**
 * The transfer bench's HTTP client, run on a thread of its own so that
 * receiving or sending 100 MB does not share the event loop of the server
 * under test (the apps and the bare route live on the bench's main thread;
 * nginx is a process of its own, so a client on the main thread made every
 * Timbre path compete with its own client while nginx did not).
 *
 * Started by {@link startClientThread}; each call is one message.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

/** Streams `file` as a one-part multipart upload; resolves with status and body. */
export function streamUpload(
  url: string,
  headers: Record<string, string>,
  file: string,
): Promise<{ status: number; body: string }> {
  const boundary = `----timbre-bench-${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.wav"\r\n` +
      'Content-Type: audio/wav\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + statSync(file).size + tail.length;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(length),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write(head);
    const src = createReadStream(file, { highWaterMark: 1024 * 1024 });
    src.on('error', reject);
    src.pipe(req, { end: false });
    src.on('end', () => req.end(tail));
  });
}

/** GETs `url` and counts the bytes (and hashes them with `hash`); resolves with seconds taken. */
export function fetchAll(url: string, headers: Record<string, string> = {}, hash = false) {
  return new Promise<{ sec: number; bytes: number; sha256?: string }>((resolve, reject) => {
    const t0 = performance.now();
    request(url, { headers }, (res: IncomingMessage) => {
      let bytes = 0;
      const h = hash ? createHash('sha256') : undefined;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        h?.update(c);
      });
      res.on('end', () => {
        if (res.statusCode !== 200 && res.statusCode !== 206)
          reject(new Error(`GET ${url}: ${res.statusCode}`));
        else
          resolve({
            sec: (performance.now() - t0) / 1000,
            bytes,
            ...(h ? { sha256: h.digest('hex') } : {}),
          });
      });
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

type Call =
  | { id: number; op: 'upload'; url: string; headers: Record<string, string>; file: string }
  | {
      id: number;
      op: 'fetch';
      url: string;
      headers: Record<string, string>;
      hash: boolean;
      times: number;
    };

type CallBody = Call extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never;

export interface FetchResult {
  sec: number;
  bytes: number;
  sha256?: string;
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (call: Call) => {
    const run = async (): Promise<unknown> => {
      if (call.op === 'upload') {
        const t0 = performance.now();
        const r = await streamUpload(call.url, call.headers, call.file);
        return { ...r, sec: (performance.now() - t0) / 1000 };
      }
      // `times` GETs one after another, each a request of its own: the time
      // of them all, the bytes of each (they must agree).
      let sec = 0;
      let last: FetchResult | undefined;
      for (let i = 0; i < call.times; i++) {
        const r = await fetchAll(call.url, call.headers, call.hash);
        if (last && r.bytes !== last.bytes) throw new Error(`GET ${call.url}: sizes differ`);
        sec += r.sec;
        last = r;
      }
      return { ...last, sec };
    };
    run().then(
      (result) => port.postMessage({ id: call.id, result }),
      (err: unknown) => port.postMessage({ id: call.id, error: String(err) }),
    );
  });
}

/** A client thread: uploads and downloads run there, one call at a time. */
export function startClientThread() {
  const file = new URL(import.meta.url).href;
  // The bench runs under tsx; a worker needs its loader registered first.
  const worker = new Worker(
    `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(file)}); })`,
    { eval: true },
  );
  let next = 0;
  const pending = new Map<number, { resolve(v: never): void; reject(e: Error): void }>();
  worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(m.error));
    else p?.resolve(m.result as never);
  });
  worker.on('error', (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  const call = <T>(c: CallBody) =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...c, id });
    });
  return {
    upload: (url: string, headers: Record<string, string>, file: string) =>
      call<{ status: number; body: string; sec: number }>({ op: 'upload', url, headers, file }),
    fetch: (
      url: string,
      headers: Record<string, string> = {},
      opts: { hash?: boolean; times?: number } = {},
    ) =>
      call<FetchResult>({
        op: 'fetch',
        url,
        headers,
        hash: opts.hash ?? false,
        times: opts.times ?? 1,
      }),
    close: () => worker.terminate(),
  };
}
