/**
 * Public types of the DashScope CosyVoice emulator: options, the handle returned by
 * `startEmulator`, fault rules and the voice / stats snapshots.
 */

export const TARGET_MODELS = [
  'cosyvoice-v1',
  'cosyvoice-v2',
  'cosyvoice-v3-flash',
  'cosyvoice-v3-plus',
  'cosyvoice-v3.5-flash',
  'cosyvoice-v3.5-plus',
] as const;
export type TargetModel = (typeof TARGET_MODELS)[number];

export function isTargetModel(v: unknown): v is TargetModel {
  return typeof v === 'string' && (TARGET_MODELS as readonly string[]).includes(v);
}

export const VOICE_STATUSES = ['DEPLOYING', 'OK', 'UNDEPLOYED'] as const;
export type VoiceStatus = (typeof VOICE_STATUSES)[number];

export function isVoiceStatus(v: unknown): v is VoiceStatus {
  return typeof v === 'string' && (VOICE_STATUSES as readonly string[]).includes(v);
}

/** What the deploy hook sees about a voice that has just been (re-)enrolled. */
export interface VoiceDeployInfo {
  voiceId: string;
  prefix: string;
  targetModel: TargetModel;
  url: string;
}

export interface EmulatorOptions {
  /** TCP port; 0 picks an ephemeral one. */
  port: number;
  /** Interface to bind. */
  host: string;
  /** API keys accepted on any host not listed in `keysByHost`. */
  keys: string[];
  /**
   * Separate key sets per Host header name (lower-case, without port), as DashScope keys are
   * per region: e.g. `{ 'dashscope-intl.aliyuncs.com': ['sk-intl'] }`. A listed host accepts
   * only its own keys.
   */
  keysByHost: Record<string, string[]>;
  /** A new or updated voice stays DEPLOYING this long, then becomes OK (or UNDEPLOYED). */
  deployDelayMs: number;
  /** Make deployment end in UNDEPLOYED (review failed): always, or per voice. */
  forceUndeployed: boolean | ((voice: VoiceDeployInfo) => boolean);
  /** Cloned-voice quota per account (all models share it). */
  quota: number;
  /** Mid-task silence from the client before `CLIENT_ERROR` (DashScope: 23 s, fixed). */
  taskIdleTimeoutMs: number;
  /** Idle time with no task (after connect or after task-finished) before the server closes. */
  connectionIdleTimeoutMs: number;
  /**
   * Close the WebSocket after every task-failed, as the protocol says (on by default). Off, a
   * task-failed ends the task only and the connection takes a new run-task with a new task_id;
   * the official SDK's pool checks that a socket is still connected, so it works either way.
   */
  closeAfterTaskFailed: boolean;
  /** Timeout for downloading a reference-audio URL. */
  sampleFetchTimeoutMs: number;
  /** Minimum valid (active) speech in a reference sample, seconds. */
  minSpeechSeconds: number;
  /** Maximum reference-sample duration, seconds (DashScope: 60). */
  maxSampleSeconds: number;
  /** Minimum reference-sample rate in Hz (DashScope: 16000). */
  minSampleRateHz: number;
  /** Maximum reference-sample size in bytes (DashScope: 10 MB). */
  maxSampleBytes: number;
  /**
   * HTTP status used for Audio.AudioSilentError / Audio.DecoderError / Audio.AudioRateError.
   * The error table lists "400/430" for these; 400 by default, 430 to exercise the odd code.
   */
  audioErrorHttpStatus: 400 | 430;
  /** Seconds of synthesized audio per counted character (speed of the fake voice at rate 1.0). */
  audioSecondsPerChar: number;
  /** Size of one binary audio frame, in milliseconds of audio (a sentence may need several). */
  audioChunkMs: number;
  /** Pause between sentences while streaming audio (simulates synthesis time). */
  sentenceDelayMs: number;
  /** Voice names usable with any model without enrolment (system voices). Empty by default. */
  builtinVoices: string[];
  /** Optional event log (the CLI prints it). */
  log: ((event: string, data?: Record<string, unknown>) => void) | undefined;
}

/** One fault to serve instead of (or before) normal behaviour. */
export type FaultKind =
  /** 429 `Throttling` (HTTP) or task-failed `Throttling` (WS run-task). */
  | { kind: 'throttling' }
  /** 500 `InternalError` (HTTP) or task-failed `InternalError` (WS). */
  | { kind: 'internal-error' }
  /** 503 `ModelUnavailable` (HTTP) or task-failed `ModelUnavailable` (WS). */
  | { kind: 'model-unavailable' }
  /** Any other status + code (HTTP) or task-failed code (WS). */
  | { kind: 'status'; status: number; code: string; message?: string }
  /** Wait this long, then behave normally (WS: delays task-started). */
  | { kind: 'latency'; ms: number }
  /** HTTP: answer with a body that is not JSON (default 502 + an HTML page). WS: a non-JSON text frame, then close. */
  | { kind: 'non-json'; status?: number; body?: string }
  /** Never answer (HTTP: until the client gives up; WS: run-task gets no task-started). */
  | { kind: 'hang' }
  /** WS only: terminate the TCP connection after this many binary audio frames of the task. */
  | { kind: 'drop-ws'; afterFrames: number };

export type FaultRule = FaultKind & {
  /** Which side the fault applies to. HTTP faults count requests; WS faults count run-tasks. */
  target: 'http' | 'ws';
  /** How many matching calls to serve it to (default 1). */
  times?: number;
  /** HTTP only: apply only to this `input.action` (e.g. `create_voice`). */
  action?: string;
};

export interface PendingFault {
  id: string;
  rule: FaultRule;
  remaining: number;
}

export interface VoiceSnapshot {
  voice_id: string;
  prefix: string;
  target_model: TargetModel;
  status: VoiceStatus;
  resource_link: string;
  gmt_create: string;
  gmt_modified: string;
}

export interface HttpCallRecord {
  action: string | null;
  status: number;
  code: string | null;
  faulted: boolean;
}

export interface EmulatorStats {
  http: {
    /** Requests to the customization route (after auth), by `input.action`. */
    byAction: Record<string, number>;
    total: number;
    unauthorized: number;
    /** Requests to the customization route, in order (the most recent 1000). */
    calls: HttpCallRecord[];
  };
  ws: {
    connections: number;
    rejectedUpgrades: number;
    activeConnections: number;
    activeTasks: number;
    runTasks: number;
    continueTasks: number;
    finishTasks: number;
    tasksFinished: number;
    tasksFailed: Record<string, number>;
    binaryFramesSent: number;
  };
}

export interface EmulatorHandle {
  port: number;
  /** e.g. `http://127.0.0.1:8790` */
  baseUrl: string;
  /** e.g. `http://127.0.0.1:8790/api/v1` (the DashScope HTTP base) */
  httpBaseUrl: string;
  /** e.g. `ws://127.0.0.1:8790/api-ws/v1/inference` */
  wsUrl: string;
  /** e.g. `http://127.0.0.1:8790/__emulator` */
  controlUrl: string;
  /** Queue a fault; returns its id. */
  injectFault(rule: FaultRule): string;
  clearFaults(): void;
  pendingFaults(): PendingFault[];
  setVoiceStatus(voiceId: string, status: VoiceStatus): void;
  voices(): VoiceSnapshot[];
  stats(): EmulatorStats;
  /** Change options at run time (deployDelayMs, quota, forceUndeployed, timers, ...). */
  configure(patch: Partial<EmulatorOptions>): void;
  /** Forget all voices, faults, stats and used task ids. */
  reset(): void;
  close(): Promise<void>;
}
