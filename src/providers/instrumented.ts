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
 * The outcome of a failed call: the ProviderError kind, `aborted` when the
 * caller's signal cancelled it (providers rethrow the signal's AbortError),
 * else `error`.
 */
function outcomeOf(err: unknown): string {
  if (err instanceof ProviderError) return err.kind;
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  return 'error';
}

/**
 * Wraps any provider and reports each call's operation, outcome (`ok`, the
 * ProviderError kind, `aborted` or `error`) and duration — the seed's
 * "provider call success rate". The one place provider calls are measured.
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
      this.observe(op, outcomeOf(err), (performance.now() - t0) / 1000);
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
    // A reader that stops early ends this generator through return(): aborted.
    let outcome = 'aborted';
    try {
      yield* this.inner.synthesize(input);
      outcome = 'ok';
    } catch (err) {
      outcome = outcomeOf(err);
      throw err;
    } finally {
      this.observe('synthesize', outcome, (performance.now() - t0) / 1000);
    }
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
