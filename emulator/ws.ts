/**
 * WebSocket side: `/api-ws/v1/inference` (with or without a trailing slash), the duplex
 * run-task / continue-task / finish-task protocol of CosyVoice speech synthesis.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { AudioStreamEncoder, SAMPLE_RATES, synthesize, type AudioFormat } from './audio.js';
import { DOC_MESSAGES, docMessageFor } from './errors.js';
import { bearerKey } from './http.js';
import type { EmulatorState } from './state.js';
import { SentenceSplitter, countChars, stripSsml } from './text.js';
import { type FaultRule, isTargetModel, type TargetModel } from './types.js';

export const WS_PATH = '/api-ws/v1/inference';
export const MAX_CHARS_PER_CONTINUE = 20_000;
export const MAX_CHARS_PER_TASK = 200_000;
export const CLIENT_TIMEOUT_MESSAGE = DOC_MESSAGES.clientTimeout;

type Json = Record<string, unknown>;

interface Word {
  text: string;
  begin_index: number;
  end_index: number;
  begin_time: number;
  end_time: number;
}

interface TaskParams {
  model: TargetModel;
  voice: string;
  format: AudioFormat;
  sampleRate: number;
  volume: number;
  rate: number;
  pitch: number;
  ssml: boolean;
  wordTimestamps: boolean;
  seed: number;
  /** kbps, Opus only. */
  bitRate: number;
}

interface Task {
  id: string;
  params: TaskParams;
  phase: 'starting' | 'started' | 'finishing' | 'done';
  aborted: boolean;
  /** finish-task with `directive: "cancel"` (the SDK's streaming_cancel): drop unsent audio. */
  cancelled: boolean;
  splitter: SentenceSplitter;
  /** Counted characters received (limit check). */
  received: number;
  /** Counted characters synthesized so far (`usage.characters`). */
  characters: number;
  /** `usage.characters` of the last sentence queued. */
  queuedChars: number;
  continues: number;
  sentenceIndex: number;
  audioMs: number;
  words: Word[];
  encoder: AudioStreamEncoder | undefined;
  chain: Promise<void>;
  framesSent: number;
  dropAfterFrames: number | undefined;
}

class TaskFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string): TaskFailure => new TaskFailure('InvalidParameter', message);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numberParam(
  p: Json,
  name: string,
  def: number,
  min: number,
  max: number,
  int: boolean,
): number {
  const v = p[name];
  if (v === undefined || v === null) return def;
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    (int && !Number.isInteger(v)) ||
    v < min ||
    v > max
  )
    throw invalid(
      `Parameter ${name} must be ${int ? 'an integer' : 'a number'} in [${min}, ${max}]`,
    );
  return v;
}

function boolParam(p: Json, name: string): boolean {
  const v = p[name];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalid(`Parameter ${name} must be a boolean`);
  return v;
}

/** Word timestamps for one sentence: words split on spaces, each ideograph a word. */
function wordsFor(text: string, startMs: number, durationMs: number): Word[] {
  const tokens: { text: string; begin: number; end: number }[] = [];
  const re = /\p{Unified_Ideograph}|[^\s\p{Unified_Ideograph}]+/gu;
  for (const m of text.matchAll(re))
    tokens.push({ text: m[0], begin: m.index, end: m.index + m[0].length });
  const weights = tokens.map((t) => countChars(t.text));
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  let t = startMs;
  return tokens.map((tok, i) => {
    const d = (durationMs * weights[i]!) / total;
    const w = {
      text: tok.text,
      begin_index: tok.begin,
      end_index: tok.end,
      begin_time: Math.round(t),
      end_time: Math.round(t + d),
    };
    t += d;
    return w;
  });
}

class Connection {
  task: Task | undefined;
  closed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private taskTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly state: EmulatorState,
    private readonly onGone: (c: Connection) => void,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => this.state.log('ws-error', { error: String(err) }));
    this.armIdle();
  }

  // ---- timers ----

  /** No task: close after the connection idle timeout (60 s on DashScope). */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.closed) return;
      this.state.log('ws-idle-close');
      this.close(1000, 'idle timeout');
    }, this.state.opts.connectionIdleTimeoutMs);
  }

  /** Mid-task: fail with CLIENT_ERROR after the task idle timeout (23 s on DashScope). */
  private armTaskTimer(task: Task): void {
    clearTimeout(this.taskTimer);
    this.taskTimer = setTimeout(() => {
      if (this.closed || this.task !== task || task.phase === 'done' || task.phase === 'finishing')
        return;
      // The message is the server's fixed text, whatever timeout is configured.
      this.fail(task.id, new TaskFailure('CLIENT_ERROR', CLIENT_TIMEOUT_MESSAGE));
    }, this.state.opts.taskIdleTimeoutMs);
  }

  private clearTimers(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.taskTimer);
    this.idleTimer = undefined;
    this.taskTimer = undefined;
  }

  // ---- sending ----

  private sendEvent(taskId: string, event: string, payload: Json, attributes: Json = {}): void {
    if (this.closed) return;
    this.ws.send(JSON.stringify({ header: { task_id: taskId, event, attributes }, payload }));
  }

  private sendBinary(frame: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.ws.send(frame, { binary: true }, () => resolve());
    });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.endTask(false);
    this.ws.close(code, reason);
  }

  /**
   * task-failed: the task ends (its unsent audio is dropped) and, as the protocol says, the
   * connection is closed; with `closeAfterTaskFailed: false` it waits for a new run-task.
   */
  fail(taskId: string, f: TaskFailure): void {
    if (this.closed) return;
    const ws = this.state.statsData.ws;
    ws.tasksFailed[f.code] = (ws.tasksFailed[f.code] ?? 0) + 1;
    this.state.log('task-failed', { taskId, code: f.code, message: f.message });
    this.ws.send(
      JSON.stringify({
        header: {
          task_id: taskId,
          event: 'task-failed',
          error_code: f.code,
          error_message: f.message,
          attributes: {},
        },
        payload: {},
      }),
    );
    this.endTask(false);
    if (this.state.opts.closeAfterTaskFailed) this.close(1000, 'task failed');
    else this.armIdle();
  }

  /** Drop the current task's state (finished, aborted or connection gone). */
  private endTask(finished: boolean): void {
    const t = this.task;
    if (!t || t.phase === 'done') return;
    if (!finished) t.aborted = true;
    t.phase = 'done';
    t.splitter.clear();
    t.encoder?.close();
    this.state.statsData.ws.activeTasks--;
    clearTimeout(this.taskTimer);
  }

  private onClose(): void {
    const midTask = this.task !== undefined && this.task.phase !== 'done';
    if (midTask && !this.closed) this.state.log('ClientDisconnect', { taskId: this.task?.id });
    this.closed = true;
    this.clearTimers();
    this.endTask(false);
    this.task = undefined;
    this.onGone(this);
  }

  // ---- receiving ----

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.close(1003, 'binary frames are not accepted');
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(rawToString(data));
    } catch {
      // Malformed JSON: DashScope closes the socket with 1007.
      this.close(1007, 'invalid JSON');
      return;
    }
    const header = isObject(msg) && isObject(msg.header) ? msg.header : undefined;
    const taskId = typeof header?.task_id === 'string' ? header.task_id : '';
    try {
      if (!isObject(msg) || !header) throw invalid(DOC_MESSAGES.invalidParameter);
      const payload = msg.payload;
      if (this.task && this.task.phase !== 'done' && this.task.phase !== 'finishing')
        this.armTaskTimer(this.task);
      switch (header.action) {
        case 'run-task':
          this.state.statsData.ws.runTasks++;
          this.runTask(header, payload);
          return;
        case 'continue-task':
          this.state.statsData.ws.continueTasks++;
          this.continueTask(taskId, header, payload);
          return;
        case 'finish-task':
          this.state.statsData.ws.finishTasks++;
          this.finishTask(taskId, header, payload);
          return;
        default:
          throw invalid(`unsupported action: ${String(header.action)}`);
      }
    } catch (e) {
      if (e instanceof TaskFailure) this.fail(taskId, e);
      else {
        this.state.log('ws-internal', { error: String(e) });
        this.fail(taskId, new TaskFailure('InternalError', DOC_MESSAGES.internalError));
      }
    }
  }

  private parseRunTask(header: Json, payload: unknown): { id: string; params: TaskParams } {
    const id = header.task_id;
    // DashScope uses a UUID with or without dashes; the emulator insists on one (stricter
    // reading: arbitrary strings are unverified).
    if (typeof id !== 'string' || !/^[0-9a-f]{32}$/i.test(id.replace(/-/g, '')))
      throw invalid('header.task_id must be a UUID (dashes optional)');
    if (header.streaming !== 'duplex') throw invalid('header.streaming must be duplex');
    if (!isObject(payload)) throw invalid(DOC_MESSAGES.taskNull);
    if (payload.task_group !== 'audio') throw invalid('payload.task_group must be audio');
    if (payload.task !== 'tts') throw invalid('payload.task must be tts');
    if (payload.function !== 'SpeechSynthesizer')
      throw invalid('payload.function must be SpeechSynthesizer');
    if (!isTargetModel(payload.model)) throw invalid(DOC_MESSAGES.modelNotExist);
    if (!isObject(payload.input)) throw invalid(DOC_MESSAGES.taskNull);
    const p = payload.parameters;
    if (!isObject(p)) throw invalid('payload.parameters can not be null');
    if (p.text_type !== undefined && p.text_type !== 'PlainText')
      throw invalid('Parameter text_type must be PlainText');
    if (typeof p.voice !== 'string' || p.voice === '') throw invalid('Parameter voice is required');
    // The SDK sends its own defaults: `format: "Default"` and `sample_rate: 0`
    // mean the service's defaults (mp3, 22050 Hz).
    const format = p.format === undefined || p.format === 'Default' ? 'mp3' : p.format;
    if (format !== 'pcm' && format !== 'wav' && format !== 'mp3' && format !== 'opus')
      throw invalid(`Parameter format is invalid: ${JSON.stringify(format)}`);
    if (format === 'opus' && payload.model === 'cosyvoice-v1')
      throw invalid('Parameter format opus is not supported by cosyvoice-v1');
    const sampleRate = p.sample_rate === undefined || p.sample_rate === 0 ? 22050 : p.sample_rate;
    if (typeof sampleRate !== 'number' || !(SAMPLE_RATES as readonly number[]).includes(sampleRate))
      throw invalid(`Parameter sample_rate must be one of ${SAMPLE_RATES.join(', ')}`);
    const volume = numberParam(p, 'volume', 50, 0, 100, true);
    const rate = numberParam(p, 'rate', 1, 0.5, 2, false);
    const pitch = numberParam(p, 'pitch', 1, 0.5, 2, false);
    const bitRate = numberParam(p, 'bit_rate', 32, 6, 510, true);
    const seed = numberParam(p, 'seed', 0, 0, 65535, true);
    const ssml = boolParam(p, 'enable_ssml');
    const wordTimestamps = boolParam(p, 'word_timestamp_enabled');
    return {
      id,
      params: {
        model: payload.model,
        voice: p.voice,
        format,
        sampleRate,
        volume,
        rate,
        pitch,
        ssml,
        wordTimestamps,
        seed,
        bitRate,
      },
    };
  }

  /** Unknown voice, voice not OK or voice for another model. Real code unverified (engine 418). */
  private checkVoice(params: TaskParams): void {
    if (this.state.opts.builtinVoices.includes(params.voice)) return;
    const v = this.state.getVoice(params.voice);
    const prefix = DOC_MESSAGES.engine418;
    if (!v) throw invalid(`${prefix} (voice not found: ${params.voice})`);
    if (v.status !== 'OK') throw invalid(`${prefix} (voice status is ${v.status})`);
    if (v.target_model !== params.model)
      throw invalid(`${prefix} (voice was enrolled for ${v.target_model}, not ${params.model})`);
  }

  private runTask(header: Json, payload: unknown): void {
    const { id, params } = this.parseRunTask(header, payload);
    // A run-task during an active task aborts it silently (its unsent audio is dropped).
    if (this.task && this.task.phase !== 'done') {
      this.state.log('task-aborted', { taskId: this.task.id, by: id });
      this.endTask(false);
    }
    if (this.state.usedTaskIds.has(id)) throw invalid(`task_id ${id} has already been used`);
    this.state.usedTaskIds.add(id);
    this.checkVoice(params);

    const task: Task = {
      id,
      params,
      phase: 'starting',
      aborted: false,
      cancelled: false,
      splitter: new SentenceSplitter(),
      received: 0,
      characters: 0,
      queuedChars: 0,
      continues: 0,
      sentenceIndex: 0,
      audioMs: 0,
      words: [],
      encoder: undefined,
      chain: Promise.resolve(),
      framesSent: 0,
      dropAfterFrames: undefined,
    };
    this.task = task;
    this.state.statsData.ws.activeTasks++;
    clearTimeout(this.idleTimer);
    this.armTaskTimer(task);
    const fault = this.state.takeFault('ws', 'run-task');
    this.enqueue(task, async () => {
      if (fault && !(await this.applyStartFault(task, fault))) return;
      task.encoder = await AudioStreamEncoder.create(
        params.format,
        params.sampleRate,
        params.bitRate,
      );
      // An Opus encoder is a process: stop it if the task ended meanwhile.
      if (task.aborted || this.closed) {
        task.encoder.close();
        return;
      }
      task.phase = 'started';
      this.sendEvent(task.id, 'task-started', {});
    });
  }

  /** Returns false when the fault replaces task-started. */
  private async applyStartFault(task: Task, fault: FaultRule): Promise<boolean> {
    switch (fault.kind) {
      case 'latency':
        await sleep(fault.ms);
        return !task.aborted && !this.closed;
      case 'drop-ws':
        task.dropAfterFrames = fault.afterFrames;
        return true;
      case 'hang':
        return false;
      case 'throttling':
        this.fail(task.id, new TaskFailure('Throttling', DOC_MESSAGES.throttling));
        return false;
      case 'internal-error':
        this.fail(task.id, new TaskFailure('InternalError', DOC_MESSAGES.internalError));
        return false;
      case 'model-unavailable':
        this.fail(task.id, new TaskFailure('ModelUnavailable', DOC_MESSAGES.modelUnavailable));
        return false;
      case 'status':
        this.fail(task.id, new TaskFailure(fault.code, fault.message ?? docMessageFor(fault.code)));
        return false;
      case 'non-json':
        if (!this.closed) this.ws.send(fault.body ?? '<html><body>502 Bad Gateway</body></html>');
        this.close(1011, 'upstream error');
        return false;
    }
  }

  private activeTask(taskId: string, what: string): Task {
    const t = this.task;
    if (!t || t.phase === 'done') throw invalid(`${what} without a running task`);
    if (t.id !== taskId) throw invalid(`${what} for unknown task_id ${taskId}`);
    // Text must not be sent before task-started arrives.
    if (t.phase === 'starting') throw invalid(`${what} received before task-started`);
    if (t.phase === 'finishing') throw invalid(`${what} received after finish-task`);
    return t;
  }

  private continueTask(taskId: string, _header: Json, payload: unknown): void {
    const t = this.activeTask(taskId, 'continue-task');
    if (!isObject(payload) || !isObject(payload.input)) throw invalid(DOC_MESSAGES.taskNull);
    const input = payload.input;
    t.continues++;
    if (t.params.ssml && t.continues > 1) throw invalid(DOC_MESSAGES.ssmlOnce);
    const text = input.text ?? '';
    if (typeof text !== 'string') throw invalid('input.text must be a string');
    const spoken = t.params.ssml ? stripSsml(text) : text;
    const n = countChars(spoken);
    if (n > MAX_CHARS_PER_CONTINUE)
      throw invalid(
        `Text length ${n} exceeds the limit of ${MAX_CHARS_PER_CONTINUE} characters per request`,
      );
    if (t.received + n > MAX_CHARS_PER_TASK)
      throw invalid(`Text length exceeds the limit of ${MAX_CHARS_PER_TASK} characters per task`);
    t.received += n;
    const sentences = t.splitter.push(spoken);
    if (input.flush === true) sentences.push(...t.splitter.flush());
    this.enqueueSentences(t, sentences);
  }

  private finishTask(taskId: string, _header: Json, payload: unknown): void {
    const t = this.activeTask(taskId, 'finish-task');
    if (!isObject(payload) || !isObject(payload.input)) throw invalid(DOC_MESSAGES.taskNull);
    t.phase = 'finishing';
    clearTimeout(this.taskTimer);
    if (payload.input.directive === 'cancel') {
      // The SDK's streaming_cancel: stop early, drop what is not sent, still answer task-finished.
      t.cancelled = true;
      t.splitter.clear();
    } else {
      this.enqueueSentences(t, t.splitter.flush());
    }
    this.enqueue(t, async () => {
      if (t.dropAfterFrames !== undefined && t.framesSent >= t.dropAfterFrames) {
        this.drop(t);
        return;
      }
      // Opus: the pages the encoder held back, end of stream included.
      const tail = await t.encoder!.finish();
      if (t.aborted || this.closed) return;
      if (!t.cancelled) {
        const index = Math.max(0, t.sentenceIndex - 1);
        for (const frame of tail) {
          this.sendEvent(t.id, 'result-generated', {
            output: { type: 'sentence-synthesis', sentence: { index, words: [] } },
          });
          await this.sendBinary(frame);
          t.framesSent++;
          this.state.statsData.ws.binaryFramesSent++;
        }
      }
      const payloadOut: Json = {
        output: { sentence: { words: t.words } },
        // Every character sent, spaces between sentences included (SSML tags excluded).
        usage: { characters: t.received },
      };
      this.sendEvent(t.id, 'task-finished', payloadOut, { request_uuid: randomUUID() });
      this.endTask(true);
      this.state.statsData.ws.tasksFinished++;
      this.armIdle();
    });
  }

  /**
   * Queues sentences with the running `usage.characters` each reports: the
   * docs count every character of the text (white space between sentences
   * included, SSML tags not), so the last sentence of a batch reports all text
   * consumed so far, the spaces the splitter trimmed included.
   */
  private enqueueSentences(t: Task, sentences: string[]): void {
    const consumed = t.received - countChars(t.splitter.pending);
    let running = t.queuedChars;
    sentences.forEach((s, i) => {
      running = i === sentences.length - 1 ? Math.max(running, consumed) : running + countChars(s);
      const usage = running;
      this.enqueue(t, () => this.speak(t, s, usage));
    });
    t.queuedChars = running;
  }

  private enqueue(task: Task, fn: () => Promise<void>): void {
    task.chain = task.chain
      .then(async () => {
        if (task.aborted || this.closed) return;
        await fn();
      })
      .catch((e: unknown) => {
        this.state.log('ws-internal', { error: String(e) });
        this.fail(task.id, new TaskFailure('InternalError', DOC_MESSAGES.internalError));
      });
  }

  /** Injected fault: cut the TCP connection without a close frame. */
  private drop(task: Task): void {
    this.state.log('ws-dropped', { taskId: task.id, frames: task.framesSent });
    this.closed = true;
    this.clearTimers();
    this.endTask(false);
    this.ws.terminate();
  }

  /** One sentence: begin, (synthesis + binary) x N, end. */
  private async speak(t: Task, text: string, usageChars: number): Promise<void> {
    if (t.cancelled) return;
    const o = this.state.opts;
    if (o.sentenceDelayMs > 0) {
      await sleep(o.sentenceDelayMs);
      if (t.aborted || this.closed) return;
    }
    const index = t.sentenceIndex++;
    const p = t.params;
    this.sendEvent(t.id, 'result-generated', {
      output: { type: 'sentence-begin', sentence: { index, words: [] }, original_text: text },
    });
    const encoder = t.encoder!;
    // Opus audio is made at its Opus rate (see opus.ts).
    const sampleRate = encoder.sampleRate;
    const samples = synthesize(text, {
      sampleRate,
      volume: p.volume,
      rate: p.rate,
      pitch: p.pitch,
      secondsPerChar: o.audioSecondsPerChar,
      seed: p.seed + hash(p.voice),
    });
    const durationMs = (samples.length / sampleRate) * 1000;
    const frames = await encoder.frames(
      samples,
      Math.ceil(durationMs / Math.max(1, o.audioChunkMs)),
    );
    for (const frame of frames) {
      if (t.aborted || t.cancelled || this.closed) return;
      if (t.dropAfterFrames !== undefined && t.framesSent >= t.dropAfterFrames) {
        this.drop(t);
        return;
      }
      this.sendEvent(t.id, 'result-generated', {
        output: { type: 'sentence-synthesis', sentence: { index, words: [] } },
      });
      const sent = this.sendBinary(frame);
      t.framesSent++;
      this.state.statsData.ws.binaryFramesSent++;
      // With a drop pending, make sure the frame is on the wire before cutting the socket.
      if (t.dropAfterFrames !== undefined) await sent;
    }
    const words = p.wordTimestamps ? wordsFor(text, t.audioMs, durationMs) : [];
    t.words.push(...words);
    t.audioMs += durationMs;
    t.characters = usageChars;
    this.sendEvent(t.id, 'result-generated', {
      output: { type: 'sentence-end', sentence: { index, words }, original_text: text },
      usage: { characters: t.characters },
    });
  }
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 1000;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export class WsSide {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  private readonly conns = new Set<Connection>();

  constructor(private readonly state: EmulatorState) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://emulator.invalid').pathname;
    const reject = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path !== WS_PATH && path !== `${WS_PATH}/`) {
      reject(404, 'Not Found');
      return;
    }
    // The key is checked at the upgrade: a plain 401, no JSON event.
    if (!this.state.keyAllowed(bearerKey(req.headers.authorization), req.headers.host)) {
      this.state.statsData.ws.rejectedUpgrades++;
      reject(401, 'Unauthorized');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const s = this.state.statsData.ws;
      s.connections++;
      s.activeConnections++;
      const conn = new Connection(ws, this.state, (c) => {
        if (this.conns.delete(c)) this.state.statsData.ws.activeConnections--;
      });
      this.conns.add(conn);
    });
  }

  closeAll(): void {
    for (const c of this.conns) c.close(1001, 'emulator shutting down');
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
