import type {
  CreateVoiceInput,
  ListVoicesOptions,
  ProviderVoice,
  SampleRequirements,
  SynthesizeInput,
  VoiceProvider,
} from './provider.js';
import { ProviderError } from './provider.js';

export type ProviderOperation = 'create' | 'query' | 'list' | 'delete' | 'synthesize';
export type CallObserver = (op: ProviderOperation, outcome: string, seconds: number) => void;

/**
 * Wraps any provider and reports each call's operation, outcome (`ok` or the
 * ProviderError kind) and duration — the seed's "provider call success rate".
 */
export class InstrumentedProvider implements VoiceProvider {
  constructor(
    private readonly inner: VoiceProvider,
    private readonly observe: CallObserver,
  ) {}

  get name(): string {
    return this.inner.name;
  }
  get defaultTargetModel(): string {
    return this.inner.defaultTargetModel;
  }
  sampleRequirements(targetModel: string): SampleRequirements {
    return this.inner.sampleRequirements(targetModel);
  }

  private async timed<T>(op: ProviderOperation, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const r = await fn();
      this.observe(op, 'ok', (performance.now() - t0) / 1000);
      return r;
    } catch (err) {
      this.observe(
        op,
        err instanceof ProviderError ? err.kind : 'error',
        (performance.now() - t0) / 1000,
      );
      throw err;
    }
  }

  createVoice(input: CreateVoiceInput): Promise<ProviderVoice> {
    return this.timed('create', () => this.inner.createVoice(input));
  }
  getVoice(voiceId: string, signal?: AbortSignal): Promise<ProviderVoice> {
    return this.timed('query', () => this.inner.getVoice(voiceId, signal));
  }
  listVoices(opts: ListVoicesOptions): Promise<ProviderVoice[]> {
    return this.timed('list', () => this.inner.listVoices(opts));
  }
  deleteVoice(voiceId: string, signal?: AbortSignal): Promise<void> {
    return this.timed('delete', () => this.inner.deleteVoice(voiceId, signal));
  }

  async *synthesize(input: SynthesizeInput): AsyncIterable<Uint8Array> {
    const t0 = performance.now();
    try {
      yield* this.inner.synthesize(input);
      this.observe('synthesize', 'ok', (performance.now() - t0) / 1000);
    } catch (err) {
      this.observe(
        'synthesize',
        err instanceof ProviderError ? err.kind : 'error',
        (performance.now() - t0) / 1000,
      );
      throw err;
    }
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
