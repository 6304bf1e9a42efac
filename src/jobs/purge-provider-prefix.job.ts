import type { VoiceProvider } from '../providers/provider.js';
import { allProviderVoices } from './provider-voices.js';
import { MAX_ATTEMPTS, type JobDefinition } from './queue.js';

/** Deletes every provider voice under a failed voice's prefix; retried until it succeeds. */
export function purgeProviderPrefixJob(deps: {
  provider: VoiceProvider;
}): JobDefinition<'purge_provider_prefix'> {
  return {
    maxAttempts: MAX_ATTEMPTS.purge_provider_prefix,
    run: async ({ provider, prefix }, ctx) => {
      if (provider !== deps.provider.name) {
        ctx.log.warn(
          { provider, prefix },
          'prefix belongs to a provider not configured here; left alone',
        );
        return;
      }
      const leftovers = await allProviderVoices(deps.provider, prefix);
      for (const v of leftovers) await deps.provider.deleteVoice(v.id);
      if (leftovers.length) {
        ctx.log.info(
          { prefix, deleted: leftovers.map((v) => v.id) },
          'orphan provider voices deleted',
        );
      }
    },
  };
}
