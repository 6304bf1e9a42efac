import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/provider.js';

describe('ProviderError', () => {
  it('treats throttling and outages as retryable but not bad samples', () => {
    expect(new ProviderError('throttled', 'x').retryable).toBe(true);
    expect(new ProviderError('unavailable', 'x').retryable).toBe(true);
    expect(new ProviderError('sample', 'x').retryable).toBe(false);
  });
});
