/**
 * One CosyVoice synthesis task over a pooled WebSocket:
 * run-task → task-started → continue-task × n → finish-task, then binary
 * audio frames until task-finished. Frames are queued as they arrive and
 * handed out through an async iterator; when the consumer falls behind, the
 * socket is paused (TCP backpressure) until the queue drains.
 */
import { randomUUID } from 'node:crypto';
import { ProviderError, type AudioFormat } from '../provider.js';
import { toProviderError, unavailable } from './errors.js';
import type { PooledSocket, SocketEvent, SocketPool } from './ws-pool.js';
import type { DashScopeLogger } from './types.js';

export interface SynthesisTaskOptions {
  pool: SocketPool;
  apiKey: string;
  taskStartTimeoutMs: number;
  synthesisTimeoutMs: number;
  stallTimeoutMs: number;
  logger?: DashScopeLogger;
  /** Pause the socket above this many queued bytes, default 4 MiB. */
  highWaterBytes?: number;
}

export interface SynthesisRequest {
  model: string;
  voice: string;
  format: AudioFormat;
  sampleRate: number;
  volume: number;
  rate: number;
  pitch: number;
  /** Already split to the per-message limit. */
  chunks: string[];
  signal?: AbortSignal;
}

interface ServerEvent {
  header?: {
    task_id?: string;
    event?: string;
    error_code?: string;
    error_message?: string;
  };
}

type State = 'starting' | 'streaming' | 'finished' | 'failed';

/** Runs one task and yields its audio frames. Throws ProviderError (or the caller's abort reason). */
export async function* runSynthesisTask(
  opts: SynthesisTaskOptions,
  req: SynthesisRequest,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { socket, reused } = await opts.pool.acquire(req.signal);
  const task = new SynthesisTask(opts, req, socket, reused);
  try {
    task.start();
    for (;;) {
      const frame = await task.next();
      if (frame === undefined) break;
      yield frame;
    }
  } finally {
    task.dispose();
  }
}

class SynthesisTask {
  private readonly taskId = randomUUID();
  private state: State = 'starting';
  private readonly frames: Uint8Array[] = [];
  private queuedBytes = 0;
  private failure: unknown = undefined;
  private wake: (() => void) | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private totalTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private paused = false;
  private readonly highWater: number;
  private readonly onAbort = (): void => this.fail(this.req.signal?.reason);

  constructor(
    private readonly opts: SynthesisTaskOptions,
    private readonly req: SynthesisRequest,
    private readonly socket: PooledSocket,
    private readonly reused: boolean,
  ) {
    this.highWater = opts.highWaterBytes ?? 4 * 1024 * 1024;
  }

  start(): void {
    this.socket.tasks++;
    this.socket.handler = (event) => this.onEvent(event);
    if (this.req.signal?.aborted === true) {
      this.fail(this.req.signal.reason);
      return;
    }
    this.req.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.startTimer = setTimeout(() => {
      this.fail(
        unavailable(
          `DashScope did not start the synthesis task within ${this.opts.taskStartTimeoutMs} ms.`,
        ),
      );
    }, this.opts.taskStartTimeoutMs);
    this.totalTimer = setTimeout(() => {
      this.fail(
        unavailable(
          `DashScope did not finish the synthesis within ${this.opts.synthesisTimeoutMs} ms.`,
        ),
      );
    }, this.opts.synthesisTimeoutMs);
    this.opts.logger?.debug(
      {
        taskId: this.taskId,
        socket: this.socket.id,
        reused: this.reused,
        chunks: this.req.chunks.length,
      },
      'starting DashScope synthesis task',
    );
    this.send({
      header: { action: 'run-task', task_id: this.taskId, streaming: 'duplex' },
      payload: {
        task_group: 'audio',
        task: 'tts',
        function: 'SpeechSynthesizer',
        model: this.req.model,
        parameters: {
          text_type: 'PlainText',
          voice: this.req.voice,
          format: this.req.format,
          sample_rate: this.req.sampleRate,
          volume: this.req.volume,
          rate: this.req.rate,
          pitch: this.req.pitch,
        },
        input: {},
      },
    });
  }

  /** The next frame, or undefined once the task finished. */
  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) {
        this.queuedBytes -= frame.byteLength;
        if (this.paused && this.queuedBytes <= this.highWater / 2) this.resume();
        return frame;
      }
      if (this.state === 'failed') throw this.failure;
      if (this.state === 'finished') return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Returns the socket to the pool after a clean finish, else closes it. */
  dispose(): void {
    this.clearTimers();
    this.req.signal?.removeEventListener('abort', this.onAbort);
    if (this.paused) this.socket.ws.resume();
    if (this.state === 'finished') {
      this.opts.pool.release(this.socket);
    } else {
      // Failed, aborted, or the consumer stopped reading: the task may still
      // be running server-side, so the socket cannot take another one.
      if (this.state !== 'failed') this.state = 'failed';
      this.opts.pool.discard(this.socket);
    }
  }

  private onEvent(event: SocketEvent): void {
    if (this.state === 'finished' || this.state === 'failed') return;
    switch (event.type) {
      case 'binary':
        if (this.state !== 'streaming') return;
        this.touch();
        this.frames.push(event.data);
        this.queuedBytes += event.data.byteLength;
        if (!this.paused && this.queuedBytes > this.highWater) this.pause();
        this.notify();
        return;
      case 'text':
        this.touch();
        this.onText(event.data);
        return;
      case 'close':
        this.fail(
          this.state === 'starting'
            ? unavailable(
                `DashScope closed the connection before the task started (code ${event.code}${event.reason === '' ? '' : `: ${event.reason}`}).`,
              )
            : unavailable(
                `The connection dropped mid-synthesis (code ${event.code}${event.reason === '' ? '' : `: ${event.reason}`}).`,
              ),
        );
        return;
      case 'error':
        this.fail(unavailable('The DashScope connection failed mid-synthesis.', event.error));
        return;
    }
  }

  private onText(text: string): void {
    let message: ServerEvent;
    try {
      message = JSON.parse(text) as ServerEvent;
    } catch {
      this.fail(unavailable('DashScope sent a message that is not JSON.'));
      return;
    }
    const header = message.header ?? {};
    if (header.task_id !== undefined && header.task_id !== this.taskId) {
      this.opts.logger?.warn(
        { taskId: this.taskId, other: header.task_id },
        'ignoring event of another task',
      );
      return;
    }
    switch (header.event) {
      case 'task-started':
        if (this.state !== 'starting') return;
        clearTimeout(this.startTimer);
        this.state = 'streaming';
        this.armStall();
        for (const text of this.req.chunks) {
          this.send({
            header: { action: 'continue-task', task_id: this.taskId, streaming: 'duplex' },
            payload: { input: { text } },
          });
        }
        this.send({
          header: { action: 'finish-task', task_id: this.taskId, streaming: 'duplex' },
          payload: { input: {} },
        });
        return;
      case 'task-finished':
        this.clearTimers();
        this.state = 'finished';
        this.notify();
        return;
      case 'task-failed': {
        const err = toProviderError(
          {
            ...(header.error_code !== undefined && { code: header.error_code }),
            ...(header.error_message !== undefined && { message: header.error_message }),
          },
          this.opts.apiKey,
        );
        this.fail(err);
        return;
      }
      case undefined:
      default:
        // result-generated and future events carry nothing we need.
        return;
    }
  }

  private send(message: object): void {
    this.socket.ws.send(JSON.stringify(message), (err) => {
      if (err !== undefined && err !== null)
        this.fail(unavailable('Could not send to DashScope.', err));
    });
  }

  private fail(err: unknown): void {
    if (this.state === 'finished' || this.state === 'failed') return;
    this.state = 'failed';
    this.failure = err;
    this.clearTimers();
    if (err instanceof ProviderError) {
      this.opts.logger?.debug(
        { taskId: this.taskId, kind: err.kind, code: err.details.providerCode },
        'DashScope synthesis task failed',
      );
    }
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private touch(): void {
    if (this.state === 'streaming' && !this.paused) this.armStall();
  }

  private armStall(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      this.fail(
        unavailable(`DashScope sent nothing for ${this.opts.stallTimeoutMs} ms mid-synthesis.`),
      );
    }, this.opts.stallTimeoutMs);
  }

  private pause(): void {
    this.paused = true;
    clearTimeout(this.stallTimer);
    this.socket.ws.pause();
  }

  private resume(): void {
    this.paused = false;
    this.socket.ws.resume();
    if (this.state === 'streaming') this.armStall();
  }

  private clearTimers(): void {
    clearTimeout(this.startTimer);
    clearTimeout(this.totalTimer);
    clearTimeout(this.stallTimer);
  }
}
