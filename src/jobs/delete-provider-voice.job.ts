import type { VoiceProvider } from '../providers/provider.js';
import { MAX_ATTEMPTS, type JobDefinition } from './queue.js';

/** Deletes a provider voice nobody references any more; retried until it succeeds. */
export function deleteProviderVoiceJob(deps: {
  provider: VoiceProvider;
}): JobDefinition<'delete_provider_voice'> {
  return {
    maxAttempts: MAX_ATTEMPTS.delete_provider_voice,
    run: async ({ provider, providerVoiceId }, ctx) => {
      if (provider !== deps.provider.name) {
        ctx.log.warn(
          { provider, call_name: providerVoiceId },
          'voice belongs to a provider not configured here; left alone',
        );
        return;
      }
      await deps.provider.deleteVoice(providerVoiceId);
      ctx.log.info({ call_name: providerVoiceId }, 'provider voice deleted');
    },
  };
}
