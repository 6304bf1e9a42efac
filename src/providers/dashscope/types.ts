/** The subset of a pino logger the client uses (a pino logger fits). */
export interface DashScopeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface DashScopeProviderOptions {
  /** DashScope API key; keys are per region (Beijing vs Singapore). */
  apiKey: string;
  /** Enrollment base, default `https://dashscope.aliyuncs.com/api/v1`. */
  baseUrl?: string;
  /** Inference WebSocket, default `wss://dashscope.aliyuncs.com/api-ws/v1/inference`. */
  wsUrl?: string;
  /** Sent as `X-DashScope-WorkSpace` when set. */
  workspace?: string;
  /** Default `cosyvoice-v2`. */
  defaultTargetModel?: string;

  /** Per enrollment HTTP call except create_voice, default 15,000 ms. */
  requestTimeoutMs?: number;
  /**
   * Per create_voice call, default 120,000 ms: DashScope downloads and
   * checks the sample inside the call (the Python SDK waits up to 300 s).
   */
  createTimeoutMs?: number;
  /** WebSocket connect + upgrade, default 5,000 ms. */
  connectTimeoutMs?: number;
  /** run-task → task-started, default 10,000 ms. */
  taskStartTimeoutMs?: number;
  /** Whole synthesis task, default 600,000 ms (the SDK's value). */
  synthesisTimeoutMs?: number;
  /** Longest silence from the server mid-task (while we are reading), default 30,000 ms. */
  synthesisStallTimeoutMs?: number;

  /** Retries after the first attempt for throttled/unavailable calls, default 3. */
  retries?: number;
  /** First backoff delay, default 500 ms; doubles each retry, with jitter (×1–2). */
  minRetryDelayMs?: number;
  /** Backoff cap, default 8,000 ms. */
  maxRetryDelayMs?: number;
  /**
   * Longest `Retry-After` we wait in-process, default 60,000 ms. A longer one
   * ends the call with kind `throttled` and `details.retryAfter` so the caller
   * can reschedule.
   */
  maxRetryAfterMs?: number;

  /** Most WebSockets open at once; extra syntheses wait. Default 4. */
  maxSockets?: number;
  /** An idle socket is closed after this long, default 50,000 ms (the server closes at 60 s). */
  socketIdleMs?: number;
  /**
   * After a create timed out (its request may still be running at DashScope),
   * keep looking for the voice it may have made for this long before any new
   * create, default 180,000 ms (with the 120 s create timeout: the SDK's
   * 300 s bound on a create). Not applied after a 5xx answer (the server is
   * done) or when the request never left (connection refused).
   */
  createSettleMs?: number;
  /** How often to look during `createSettleMs`, default 5,000 ms. */
  createSettlePollMs?: number;
  /**
   * Audio queued for a slow reader before the socket is paused (TCP
   * backpressure), default 4 MiB; reading resumes below half of it.
   */
  streamHighWaterBytes?: number;
  /** Voices per `list_voice` page when walking every page, default 10 (the SDK's and the docs'). */
  listPageSize?: number;

  logger?: DashScopeLogger;
  /** `user-agent` on HTTP calls and the WebSocket upgrade, default `timbre/<version> (dashscope-client)`. */
  userAgent?: string;
  /** Injectable for tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}
