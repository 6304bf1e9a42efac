/**
 * A small pool of DashScope inference WebSockets. DashScope lets a socket run
 * one task at a time and accepts a new task (new task_id) after
 * `task-finished`, closing it itself after 60 s without a task; reusing
 * sockets saves a TLS + upgrade round trip per synthesis.
 *
 * Rules: at most `maxSockets` sockets exist at once (extra callers wait in
 * FIFO order); an idle socket is closed after `idleMs`; a socket that saw
 * anything but a clean `task-finished` is never put back.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { ProviderError } from '../provider.js';
import { abortReason, describeNetworkError, toProviderError, unavailable } from './errors.js';
import type { DashScopeLogger } from './types.js';

/** What a socket reports to the task that currently holds it. */
export type SocketEvent =
  | { type: 'text'; data: string }
  | { type: 'binary'; data: Uint8Array }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; error: Error };

export interface PooledSocket {
  readonly id: number;
  readonly ws: WebSocket;
  /** Tasks started on this socket, including the current one. */
  tasks: number;
  /** Receives the socket's events while a task holds it. */
  handler: ((event: SocketEvent) => void) | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  closed: boolean;
}

export interface SocketPoolOptions {
  url: string;
  apiKey: string;
  /** Sent as `user-agent` on the upgrade. */
  userAgent?: string;
  workspace?: string;
  connectTimeoutMs: number;
  maxSockets: number;
  idleMs: number;
  logger?: DashScopeLogger;
}

/** Counters for tests and metrics. */
export interface SocketPoolStats {
  /** Sockets opened since the pool was created. */
  opened: number;
  /** Acquisitions served by an idle socket. */
  reused: number;
  /** Sockets open now (idle + busy). */
  open: number;
  idle: number;
  busy: number;
  /** Callers waiting for a free slot. */
  waiting: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class SocketPool {
  private readonly sockets = new Set<PooledSocket>();
  private readonly idle: PooledSocket[] = [];
  private readonly waiters: Waiter[] = [];
  /** Slots taken by sockets and by connections being opened. */
  private slots = 0;
  private nextId = 1;
  private opened = 0;
  private reused = 0;
  private closing = false;

  constructor(private readonly opts: SocketPoolOptions) {}

  stats(): SocketPoolStats {
    return {
      opened: this.opened,
      reused: this.reused,
      open: this.sockets.size,
      idle: this.idle.length,
      busy: this.sockets.size - this.idle.length,
      waiting: this.waiters.length,
    };
  }

  /**
   * A socket for one task: an idle one if any, else a new connection.
   * @throws ProviderError `auth` (upgrade refused with 401/403), `throttled`
   *   (429), `unavailable` (timeout, network, other statuses); the caller's
   *   abort reason when `signal` aborts.
   */
  async acquire(signal?: AbortSignal): Promise<{ socket: PooledSocket; reused: boolean }> {
    if (this.closing) throw unavailable('The DashScope provider is closed.');
    for (;;) {
      signal?.throwIfAborted();
      const idle = this.takeIdle();
      if (idle !== undefined) {
        this.reused++;
        return { socket: idle, reused: true };
      }
      if (this.slots < this.opts.maxSockets) break;
      await this.waitForSlot(signal);
    }
    this.slots++;
    try {
      const socket = await this.connect(signal);
      return { socket, reused: false };
    } catch (err) {
      this.slots--;
      this.wakeOne();
      throw err;
    }
  }

  /** Gives a socket back after a clean `task-finished`; otherwise use {@link discard}. */
  release(socket: PooledSocket): void {
    socket.handler = undefined;
    if (this.closing || socket.closed || socket.ws.readyState !== WebSocket.OPEN) {
      this.discard(socket);
      return;
    }
    socket.idleTimer = setTimeout(() => {
      this.opts.logger?.debug({ socket: socket.id }, 'closing idle DashScope socket');
      this.discard(socket);
    }, this.opts.idleMs);
    socket.idleTimer.unref();
    this.idle.push(socket);
    this.wakeOne();
  }

  /** Closes a socket that must not be reused (failed, aborted, dropped). */
  discard(socket: PooledSocket): void {
    socket.handler = undefined;
    this.forget(socket);
    if (socket.ws.readyState === WebSocket.OPEN) socket.ws.close(1000);
    else if (socket.ws.readyState === WebSocket.CONNECTING) socket.ws.terminate();
  }

  /** Closes every socket, idle or busy, and fails the waiters. */
  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.waiters.splice(0))
      w.reject(unavailable('The DashScope provider is closed.'));
    const closes = [...this.sockets].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.ws.readyState === WebSocket.CLOSED) {
            resolve();
            return;
          }
          const timer = setTimeout(() => {
            s.ws.terminate();
            resolve();
          }, 1000);
          timer.unref();
          s.ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          this.discard(s);
        }),
    );
    await Promise.all(closes);
  }

  private takeIdle(): PooledSocket | undefined {
    while (this.idle.length > 0) {
      // Most recently used first: it is the least likely to have been closed by the server.
      const socket = this.idle.pop();
      if (socket === undefined) break;
      clearTimeout(socket.idleTimer);
      socket.idleTimer = undefined;
      if (!socket.closed && socket.ws.readyState === WebSocket.OPEN) return socket;
      this.forget(socket);
    }
    return undefined;
  }

  private forget(socket: PooledSocket): void {
    clearTimeout(socket.idleTimer);
    socket.idleTimer = undefined;
    const i = this.idle.indexOf(socket);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.sockets.delete(socket)) {
      this.slots--;
      this.wakeOne();
    }
  }

  private wakeOne(): void {
    this.waiters.shift()?.resolve();
  }

  private waitForSlot(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal));
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private connect(signal?: AbortSignal): Promise<PooledSocket> {
    // `Bearer` as the SDK sends it (the docs' samples write `bearer`).
    const headers: Record<string, string> = { Authorization: `Bearer ${this.opts.apiKey}` };
    if (this.opts.userAgent !== undefined) headers['user-agent'] = this.opts.userAgent;
    if (this.opts.workspace !== undefined) headers['X-DashScope-WorkSpace'] = this.opts.workspace;
    const ws = new WebSocket(this.opts.url, {
      headers,
      handshakeTimeout: this.opts.connectTimeoutMs,
      perMessageDeflate: false,
    });
    const socket: PooledSocket = {
      id: this.nextId++,
      ws,
      tasks: 0,
      handler: undefined,
      idleTimer: undefined,
      closed: false,
    };
    // Without an 'error' listener a late socket error would crash the process.
    ws.on('error', (error) => socket.handler?.({ type: 'error', error }));

    return new Promise<PooledSocket>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        fail(
          unavailable(`Could not connect to DashScope within ${this.opts.connectTimeoutMs} ms.`),
        );
      }, this.opts.connectTimeoutMs + 100);
      const onAbort = (): void => fail(abortReason(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (err: Error): void => {
        if (!done()) return;
        socket.closed = true;
        ws.terminate();
        reject(err);
      };

      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        void readRejection(res).then(
          (body) => fail(this.upgradeError(res.statusCode ?? 0, body)),
          () => fail(this.upgradeError(res.statusCode ?? 0, undefined)),
        );
      });
      ws.once('error', (err) => {
        fail(unavailable(`Could not connect to DashScope (${describeNetworkError(err)}).`, err));
      });
      ws.once('close', () =>
        fail(unavailable('DashScope closed the connection during the handshake.')),
      );
      ws.once('open', () => {
        if (!done()) return;
        ws.removeAllListeners('close');
        ws.on('message', (data, isBinary) => {
          const bytes = toBytes(data);
          socket.handler?.(
            isBinary
              ? { type: 'binary', data: bytes }
              : { type: 'text', data: Buffer.from(bytes).toString('utf8') },
          );
        });
        ws.on('close', (code, reason) => {
          socket.closed = true;
          const handler = socket.handler;
          this.forget(socket);
          handler?.({ type: 'close', code, reason: reason.toString('utf8') });
        });
        this.sockets.add(socket);
        this.opened++;
        this.opts.logger?.debug({ socket: socket.id }, 'opened DashScope socket');
        resolve(socket);
      });
    });
  }

  private upgradeError(
    status: number,
    body: { code?: string; message?: string } | undefined,
  ): ProviderError {
    return toProviderError(
      {
        httpStatus: status,
        ...(body?.code !== undefined && { code: body.code }),
        ...(body?.message !== undefined && { message: body.message }),
      },
      this.opts.apiKey,
    );
  }
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) {
    const joined = Buffer.concat(data);
    return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Reads a small JSON error body from a refused upgrade, if there is one. */
async function readRejection(
  res: IncomingMessage,
): Promise<{ code?: string; message?: string } | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 500);
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 16_384) chunks.push(chunk);
    });
    res.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    res.on('error', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { code, message } = parsed as { code?: unknown; message?: unknown };
    return {
      ...(typeof code === 'string' && { code }),
      ...(typeof message === 'string' && { message }),
    };
  } catch {
    return undefined;
  }
}
