export {
  DASHSCOPE_SAMPLE_REQUIREMENTS,
  DashScopeVoiceProvider,
  DEFAULT_WS_URL,
} from './dashscope-provider.js';
export {
  DEFAULT_BASE_URL,
  DEFAULT_USER_AGENT,
  EnrollmentClient,
  isVoiceDesignId,
  mapVoiceStatus,
  type EnrollmentClientOptions,
} from './enrollment-client.js';
export { CreateReconciler, type CreateReconcilerOptions } from './create-reconciler.js';
export {
  classifyDashScopeFailure,
  parseRetryAfter,
  toProviderError,
  type DashScopeFailure,
} from './errors.js';
export { MAX_CHUNK_WEIGHT, MAX_TASK_WEIGHT, chunkWeight, splitText, textWeight } from './text.js';
export type { DashScopeLogger, DashScopeProviderOptions } from './types.js';
export type { SocketPoolStats } from './ws-pool.js';
