import type { ProviderVoice, VoiceProvider } from '../providers/provider.js';

/**
 * Every provider voice under `prefix`, walking pages of 10 (the size the
 * DashScope docs and SDK use) until an empty page or one with nothing new:
 * the largest page a provider honours is not documented, so a short page
 * proves nothing.
 */
export async function allProviderVoices(
  provider: VoiceProvider,
  prefix: string,
): Promise<ProviderVoice[]> {
  const seen = new Map<string, ProviderVoice>();
  for (let pageIndex = 0; pageIndex < 1000; pageIndex++) {
    const page = await provider.listVoices({ prefix, pageIndex, pageSize: 10 });
    let added = 0;
    for (const v of page) {
      if (!seen.has(v.id)) {
        seen.set(v.id, v);
        added++;
      }
    }
    if (page.length === 0 || added === 0) break;
  }
  return [...seen.values()];
}
