import { encodeMp3, encodePcm16, encodeWav } from '../../src/audio/encode.js';
import {
  inProcessRequirements,
  ProviderError,
  type CreateVoiceInput,
  type SampleRequirements,
  type ProviderErrorKind,
  type ProviderVoice,
  type SynthesizeInput,
  type VoiceProvider,
} from '../../src/providers/provider.js';

/** The provider calls a test can make fail. */
export type FakeOp = 'create' | 'get' | 'list' | 'delete' | 'synthesize';

/**
 * What happens after enrolment: `ok` at once; `deploying` for `polls` status
 * queries (then ok); `after` deploying for `ms` after creation (then ok);
 * `forever` never leaves deploying; `undeployed` is the provider rejecting
 * the sample at review.
 */
export type Deployment =
  | { kind: 'ok' }
  | { kind: 'deploying'; polls: number }
  | { kind: 'after'; ms: number }
  | { kind: 'forever' }
  | { kind: 'undeployed' };

interface FakeVoice {
  id: string;
  prefix: string;
  targetModel: string;
  createdAt: string;
  /** Status queries left before the voice is ok (Infinity: never). */
  pollsLeft: number;
  /** When the voice becomes ok (epoch ms), for `after`. */
  readyAt?: number;
  undeployed: boolean;
}

interface Failure {
  kind: ProviderErrorKind;
  /** Failures left; Infinity for always. */
  left: number;
  /** For `create`: the voice lands at the provider although the call fails (a lost response). */
  landed?: boolean;
}

/** 0.3 s of a quiet 220 Hz tone: tiny, but real, playable audio. */
function tone(sampleRate: number): Float32Array {
  const n = Math.round(sampleRate * 0.3);
  const pcm = new Float32Array(n);
  for (let i = 0; i < n; i++) pcm[i] = 0.2 * Math.sin((2 * Math.PI * 220 * i) / sampleRate);
  return pcm;
}

/**
 * An in-memory, scriptable `VoiceProvider` for tests: failure injection per
 * operation (N times or always), deployment behaviour, empty synthesis, call
 * counters and the set of live provider voices (to assert "no orphan").
 */
export class FakeProvider implements VoiceProvider {
  readonly name = 'fake';
  readonly defaultTargetModel = 'fake-model-v1';
  /** Takes every container; refuses what the quality check rejects outright. */
  requirements: SampleRequirements = inProcessRequirements(['good', 'clipped'], {
    maxBytes: 50 * 1024 * 1024,
  });
  sampleRequirements(): SampleRequirements {
    return this.requirements;
  }

  /** Voices that exist at the "provider" now, by id. */
  readonly voices = new Map<string, FakeVoice>();
  /** Every call, by operation (including failed ones). */
  readonly calls: Record<FakeOp, number> = { create: 0, get: 0, list: 0, delete: 0, synthesize: 0 };
  /** Inputs seen by createVoice and synthesize, for assertions. */
  readonly created: CreateVoiceInput[] = [];
  readonly synthesized: SynthesizeInput[] = [];
  /** How a newly created voice deploys. */
  deployment: Deployment = { kind: 'ok' };
  /** Synthesis succeeds but yields no bytes (N times; Infinity for always). */
  emptySynthesis = 0;
  /** Read the sample through `readSample` on create (as the offline engine does). */
  readSamples = false;

  private readonly failures = new Map<FakeOp, Failure>();
  private seq = 0;
  private readonly mp3Cache = new Map<number, Uint8Array>();

  private held: { reached: () => void; opened: Promise<void> } | undefined;

  /**
   * Holds the next synthesis before any audio until `open()` (or until its
   * signal aborts): `reached` resolves when it is waiting. Later calls pass.
   */
  holdNextSynthesis(): { reached: Promise<void>; open: () => void } {
    let reached!: () => void;
    let open!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const opened = new Promise<void>((r) => (open = r));
    this.held = { reached, opened };
    return { reached: reachedP, open };
  }

  /** Makes `op` throw a ProviderError of `kind` the next `times` calls (default: always). */
  fail(op: FakeOp, kind: ProviderErrorKind, times = Infinity, opts: { landed?: boolean } = {}) {
    this.failures.set(op, { kind, left: times, landed: opts.landed });
    return this;
  }

  /** Clears every injected failure and behaviour, and zeroes the counters (voices stay). */
  reset(): void {
    this.failures.clear();
    this.deployment = { kind: 'ok' };
    this.emptySynthesis = 0;
    for (const op of Object.keys(this.calls) as FakeOp[]) this.calls[op] = 0;
    this.created.length = 0;
    this.synthesized.length = 0;
  }

  /** Lets every voice still deploying become usable now. */
  finishDeploying(): void {
    for (const v of this.voices.values()) {
      v.pollsLeft = 0;
      v.readyAt = undefined;
    }
  }

  /** Ids of live provider voices, sorted. */
  liveIds(): string[] {
    return [...this.voices.keys()].sort();
  }

  get totalCalls(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  private injected(op: FakeOp): Failure | undefined {
    const f = this.failures.get(op);
    if (!f || f.left <= 0) return undefined;
    f.left -= 1;
    return f;
  }

  private error(op: FakeOp, f: Failure): ProviderError {
    return new ProviderError(f.kind, `fake ${op} failure (${f.kind})`, {
      providerCode: `Fake.${f.kind}`,
      ...(f.kind === 'throttled' ? { retryAfter: 1 } : {}),
    });
  }

  async createVoice(input: CreateVoiceInput): Promise<ProviderVoice> {
    this.calls.create += 1;
    if (!/^[a-z0-9]{1,10}$/.test(input.prefix)) {
      throw new ProviderError('request', `bad prefix '${input.prefix}'`);
    }
    this.created.push(input);
    if (this.readSamples && input.readSample) await input.readSample();
    const f = this.injected('create');
    if (f && !f.landed) throw this.error('create', f);
    const d = this.deployment;
    const v: FakeVoice = {
      id: `${input.targetModel}-${input.prefix}-${(++this.seq).toString(16).padStart(8, '0')}`,
      prefix: input.prefix,
      targetModel: input.targetModel,
      createdAt: new Date().toISOString(),
      pollsLeft: d.kind === 'deploying' ? d.polls : d.kind === 'forever' ? Infinity : 0,
      ...(d.kind === 'after' ? { readyAt: Date.now() + d.ms } : {}),
      undeployed: d.kind === 'undeployed',
    };
    this.voices.set(v.id, v);
    if (f) throw this.error('create', f);
    return this.view(v);
  }

  async getVoice(voiceId: string): Promise<ProviderVoice> {
    this.calls.get += 1;
    const f = this.injected('get');
    if (f) throw this.error('get', f);
    const v = this.voices.get(voiceId);
    if (!v) throw new ProviderError('not_found', `no voice ${voiceId}`);
    if (v.pollsLeft > 0) v.pollsLeft -= 1;
    return this.view(v);
  }

  async listVoices(opts: {
    prefix?: string;
    pageIndex?: number;
    pageSize?: number;
  }): Promise<ProviderVoice[]> {
    this.calls.list += 1;
    const f = this.injected('list');
    if (f) throw this.error('list', f);
    const size = opts.pageSize ?? 10;
    const start = (opts.pageIndex ?? 0) * size;
    return [...this.voices.values()]
      .filter((v) => !opts.prefix || v.prefix === opts.prefix)
      .slice(start, start + size)
      .map((v) => this.view(v));
  }

  async deleteVoice(voiceId: string): Promise<void> {
    this.calls.delete += 1;
    const f = this.injected('delete');
    if (f) throw this.error('delete', f);
    this.voices.delete(voiceId);
  }

  async *synthesize(input: SynthesizeInput): AsyncIterable<Uint8Array> {
    this.calls.synthesize += 1;
    this.synthesized.push(input);
    const f = this.injected('synthesize');
    if (f) throw this.error('synthesize', f);
    const v = this.voices.get(input.voiceId);
    if (!v) throw new ProviderError('request', `no voice ${input.voiceId}`);
    if (v.undeployed || v.pollsLeft > 0) {
      throw new ProviderError('request', `voice ${input.voiceId} is not deployed`);
    }
    const held = this.held;
    if (held) {
      this.held = undefined;
      held.reached();
      await new Promise<void>((resolve, reject) => {
        void held.opened.then(resolve);
        input.signal?.addEventListener('abort', () => reject(new Error('synthesis aborted')), {
          once: true,
        });
      });
    }
    if (this.emptySynthesis > 0) {
      this.emptySynthesis -= 1;
      return;
    }
    const bytes = await this.audio(input.format, input.sampleRate);
    // Two chunks, so consumers must concatenate.
    const half = Math.floor(bytes.length / 2);
    yield bytes.slice(0, half);
    yield bytes.slice(half);
  }

  /** The bytes `synthesize` returns for a format and rate. */
  async audio(format: SynthesizeInput['format'], sampleRate: number): Promise<Uint8Array> {
    const pcm = tone(sampleRate);
    if (format === 'wav') return encodeWav(pcm, sampleRate);
    if (format === 'pcm') return encodePcm16(pcm);
    let mp3 = this.mp3Cache.get(sampleRate);
    if (!mp3) {
      mp3 = await encodeMp3(pcm, sampleRate);
      this.mp3Cache.set(sampleRate, mp3);
    }
    return mp3;
  }

  async close(): Promise<void> {}

  private view(v: FakeVoice): ProviderVoice {
    const deploying = v.pollsLeft > 0 || (v.readyAt !== undefined && Date.now() < v.readyAt);
    const status = v.undeployed ? 'undeployed' : deploying ? 'deploying' : 'ok';
    return { id: v.id, status, targetModel: v.targetModel, createdAt: v.createdAt };
  }
}
