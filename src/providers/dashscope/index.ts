export { DashScopeVoiceProvider, mapVoiceStatus } from './dashscope-provider.js';
export {
  classifyDashScopeFailure,
  parseRetryAfter,
  toProviderError,
  type DashScopeFailure,
} from './errors.js';
export { MAX_CHUNK_WEIGHT, MAX_TASK_WEIGHT, chunkWeight, splitText, textWeight } from './text.js';
export type {
  DashScopeCallOutcome,
  DashScopeLogger,
  DashScopeOperation,
  DashScopeProviderOptions,
} from './types.js';
export type { SocketPoolStats } from './ws-pool.js';
