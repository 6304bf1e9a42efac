import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { DashScopeVoiceProvider } from './dashscope/index.js';
import { OfflineVoiceProvider } from './offline/index.js';
import type { AudioWork } from '../workers/audio-work.js';
import type { CpuPool } from '../workers/cpu-pool.js';
import type { VoiceProvider } from './provider.js';

/** The one place that picks a provider from configuration. */
export function createProvider(
  config: Config,
  log: Logger,
  work: { cpu: CpuPool; audio: AudioWork },
): VoiceProvider {
  switch (config.provider.kind) {
    case 'offline':
      return new OfflineVoiceProvider({
        dir: path.join(config.dataDir, 'offline-voices'),
        cpu: work.cpu,
        audio: work.audio,
      });
    case 'dashscope': {
      const ds = config.provider.dashscope;
      if (!ds.apiKey) throw new Error('DASHSCOPE_API_KEY is required');
      return new DashScopeVoiceProvider({
        apiKey: ds.apiKey,
        baseUrl: ds.baseUrl,
        wsUrl: ds.wsUrl,
        defaultTargetModel: ds.targetModel,
        createTimeoutMs: ds.createTimeoutSec * 1000,
        createSettleMs: ds.createSettleSec * 1000,
        maxSockets: ds.wsMaxSockets,
        logger: log.child({ component: 'dashscope' }),
      });
    }
  }
}
