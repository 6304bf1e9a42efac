/**
 * `create_voice` without a blind retry. A create is not idempotent, so when
 * its outcome is unknown (timeout, a reset after sending, 5xx, an unreadable
 * 200) this module waits for a voice the attempt may still make, lists the
 * voices with our prefix and adopts exactly one of ours, gives up on an
 * ambiguous result, or retries when nothing was made. Voice-design ids are
 * never adopted. The steps are written out in README.md ("Create adoption").
 */
import pRetry, { AbortError } from 'p-retry';
import { ProviderError, type ProviderVoice } from '../provider.js';
import { unavailable } from './errors.js';
import {
  checkPrefix,
  mayStillRun,
  neverSent,
  sleep,
  str,
  type EnrollmentClient,
  type ListedVoice,
} from './enrollment-client.js';
import type { DashScopeLogger } from './types.js';

/** Ids remembered as returned by a create of this instance; the oldest are forgotten beyond. */
const MAX_CLAIMED = 10_000;

/** What a look for the voice of an unconfirmed create found. */
export type Reconciliation =
  | { kind: 'adopted'; voice: ProviderVoice }
  | { kind: 'none' }
  | { kind: 'ambiguous'; candidates: string[] };

export interface CreateReconcilerOptions {
  client: EnrollmentClient;
  /** Per create_voice call, default 120,000 ms. */
  createTimeoutMs?: number;
  /** After a timed-out create, keep looking for its voice this long, default 180,000 ms. */
  createSettleMs?: number;
  /** How often to look meanwhile, default 5,000 ms. */
  createSettlePollMs?: number;
  logger?: DashScopeLogger;
}

export interface CreateRequest {
  prefix: string;
  sampleUrl: string;
  /** Already resolved (never empty). */
  targetModel: string;
  /** The voices under `prefix` now, when the caller knows them: no look-up here. */
  existingVoiceIds?: readonly string[];
  signal?: AbortSignal;
}

/**
 * Holds, per provider instance, the ids its creates returned (so two
 * concurrent creates never adopt the same voice) and the baselines of
 * creates whose outcome stayed unknown (so a later create of the same
 * sample first looks for the voice the earlier one may have made). Both
 * live in memory only.
 */
export class CreateReconciler {
  private readonly client: EnrollmentClient;
  private readonly createTimeoutMs: number;
  private readonly createSettleMs: number;
  private readonly createSettlePollMs: number;
  private readonly logger: DashScopeLogger | undefined;
  private readonly claimed = new Set<string>();
  /** Baselines by prefix + sample URL (at most MAX_CLAIMED, oldest dropped first). */
  private readonly unresolved = new Map<string, Set<string>>();

  constructor(opts: CreateReconcilerOptions) {
    this.client = opts.client;
    this.createTimeoutMs = opts.createTimeoutMs ?? 120_000;
    this.createSettleMs = opts.createSettleMs ?? 180_000;
    this.createSettlePollMs = opts.createSettlePollMs ?? 5_000;
    this.logger = opts.logger;
  }

  /**
   * Enrols a voice, or adopts the one an unconfirmed earlier attempt made.
   * @throws ProviderError `sample`, `request`, `auth`, `quota`, `throttled`,
   *   `unavailable` (also when the outcome stays unknown or ambiguous).
   */
  async create(req: CreateRequest): Promise<ProviderVoice> {
    const { prefix, sampleUrl, targetModel, signal } = req;
    checkPrefix(prefix);
    const key = `${prefix}\u0000${sampleUrl}`;
    const earlier = this.unresolved.get(key);
    // Ids that existed before our first attempt; any other id with our
    // prefix that appears later may be ours.
    const baseline =
      earlier ??
      new Set(req.existingVoiceIds ?? (await this.client.listAll(prefix, signal)).map((v) => v.id));
    if (earlier !== undefined) {
      // An earlier call could not tell whether it created the voice; look first.
      const found = await this.reconcile(prefix, sampleUrl, baseline, signal);
      if (found.kind === 'adopted') {
        this.unresolved.delete(key);
        return this.claim({ ...found.voice, targetModel });
      }
      if (found.kind === 'ambiguous') throw this.ambiguousCreate(found.candidates);
      this.unresolved.delete(key);
    }

    let uncertainAttempts = 0;
    const result = await pRetry(async (): Promise<{ voice: ProviderVoice; adopted: boolean }> => {
      try {
        const output = await this.client.send(
          'create_voice',
          { target_model: targetModel, prefix, url: sampleUrl },
          signal,
          this.createTimeoutMs,
        );
        const id = str(output.voice_id);
        if (id === undefined) {
          // 200 without an id: something was probably created; treat as unknown.
          throw unavailable('DashScope accepted the create but returned no voice_id.');
        }
        return { voice: { id, status: 'deploying', targetModel }, adopted: false };
      } catch (err) {
        // Throttling refuses the request, so a plain retry is safe; anything
        // but `unavailable` is a definite answer.
        if (!(err instanceof ProviderError) || err.kind !== 'unavailable') throw err;
        if (neverSent(err)) throw err; // nothing reached DashScope: plain retry
        uncertainAttempts++;
        this.logger?.warn(
          {
            prefix,
            kind: err.kind,
            code: err.details.providerCode,
            status: err.details.httpStatus,
          },
          'DashScope create_voice outcome unknown; checking for the voice before any retry',
        );
        let found: Reconciliation;
        try {
          found = await this.settle(prefix, sampleUrl, baseline, mayStillRun(err), signal);
        } catch (checkErr) {
          if (signal?.aborted === true) throw checkErr;
          this.remember(key, baseline);
          throw new AbortError(
            unavailable(
              'DashScope did not confirm the voice creation and the outcome could not be checked; it will be looked for on the next attempt.',
              checkErr,
            ),
          );
        }
        if (found.kind === 'adopted')
          return { voice: { ...found.voice, targetModel }, adopted: true };
        if (found.kind === 'ambiguous') {
          this.remember(key, baseline);
          throw new AbortError(this.ambiguousCreate(found.candidates));
        }
        throw err; // Nothing was created: safe to retry.
      }
    }, this.client.retryOptions(signal));

    if (uncertainAttempts > 0 && !result.adopted) {
      // An earlier attempt may have created a voice after we looked: remove
      // such duplicates (same prefix and sample URL, new since the baseline).
      await this.sweepDuplicates(prefix, sampleUrl, baseline, result.voice.id, signal);
    }
    if (result.adopted) {
      this.logger?.info(
        { voiceId: result.voice.id },
        'adopted the voice created by an unconfirmed attempt',
      );
    }
    return this.claim(result.voice);
  }

  /**
   * Looks for the voice of an unconfirmed create. A timed-out request may
   * still be running server-side: keep looking until it must have landed,
   * and only then decide that nothing was created (a new create before that
   * could enrol the same sample twice).
   */
  private async settle(
    prefix: string,
    sampleUrl: string,
    baseline: Set<string>,
    mayStillLand: boolean,
    signal?: AbortSignal,
  ): Promise<Reconciliation> {
    const settleUntil =
      mayStillLand && this.createSettleMs > 0 ? Date.now() + this.createSettleMs : 0;
    for (;;) {
      const found = await this.reconcile(prefix, sampleUrl, baseline, signal);
      const left = settleUntil - Date.now();
      if (found.kind !== 'none' || left <= 0) return found;
      await sleep(Math.min(this.createSettlePollMs, left), signal);
    }
  }

  /** Keeps the baseline of a create whose outcome stays unknown, for the next attempt. */
  private remember(key: string, baseline: Set<string>): void {
    this.unresolved.delete(key);
    this.unresolved.set(key, baseline);
    if (this.unresolved.size > MAX_CLAIMED) {
      const oldest = this.unresolved.keys().next();
      if (oldest.done !== true) this.unresolved.delete(oldest.value);
    }
  }

  private claim(voice: ProviderVoice): ProviderVoice {
    this.claimed.add(voice.id);
    if (this.claimed.size > MAX_CLAIMED) {
      const oldest = this.claimed.values().next();
      if (oldest.done !== true) this.claimed.delete(oldest.value);
    }
    return voice;
  }

  private ambiguousCreate(candidates: string[]): ProviderError {
    this.logger?.error({ candidates }, 'cannot tell which new DashScope voice a create made');
    return unavailable(
      `DashScope did not confirm the voice creation and ${candidates.length} new voices with this prefix cannot be told apart; not retrying to avoid duplicates.`,
    );
  }

  /**
   * Looks for the voice an unconfirmed create made: a voice with our prefix
   * that is not in `baseline`, not claimed by another create here, and whose
   * `resource_link` is our sample URL. Several such voices are duplicates of
   * ours: the newest is adopted and the rest deleted. A lone new voice whose
   * link cannot be read is adopted; new voices with another link are someone
   * else's and are left alone.
   */
  private async reconcile(
    prefix: string,
    sampleUrl: string,
    baseline: Set<string>,
    signal?: AbortSignal,
  ): Promise<Reconciliation> {
    // listAll leaves voice-design voices out: they are never candidates.
    const fresh = (await this.client.listAll(prefix, signal)).filter(
      (v) => !baseline.has(v.id) && !this.claimed.has(v.id),
    );
    if (fresh.length === 0) return { kind: 'none' };
    const ours: ListedVoice[] = [];
    const unverifiable: ListedVoice[] = [];
    for (const voice of fresh) {
      let link: string | undefined;
      try {
        link = await this.client.enrolledUrl(voice.id, signal);
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'not_found') continue;
        throw err;
      }
      if (link === undefined) unverifiable.push(voice);
      else if (link === sampleUrl) ours.push(voice);
    }
    if (ours.length > 0) {
      const [newest, ...extras] = newestFirst(ours);
      if (newest === undefined) return { kind: 'none' };
      for (const extra of extras) {
        this.logger?.warn(
          { voiceId: extra.id, kept: newest.id },
          'deleting a duplicate voice from a retried create',
        );
        await this.client.delete(extra.id, signal).catch((err: unknown) => {
          this.logger?.error(
            { voiceId: extra.id, err: String(err) },
            'could not delete a duplicate voice',
          );
        });
      }
      return { kind: 'adopted', voice: newest };
    }
    if (unverifiable.length === 1 && fresh.length === 1 && unverifiable[0] !== undefined) {
      return { kind: 'adopted', voice: unverifiable[0] };
    }
    if (unverifiable.length === 0) return { kind: 'none' };
    return { kind: 'ambiguous', candidates: unverifiable.map((v) => v.id) };
  }

  private async sweepDuplicates(
    prefix: string,
    sampleUrl: string,
    baseline: Set<string>,
    keep: string,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      const fresh = (await this.client.listAll(prefix, signal)).filter(
        (v) => v.id !== keep && !baseline.has(v.id) && !this.claimed.has(v.id),
      );
      for (const voice of fresh) {
        if ((await this.client.enrolledUrl(voice.id, signal)) === sampleUrl) {
          this.logger?.warn(
            { voiceId: voice.id, kept: keep },
            'deleting a duplicate voice from a retried create',
          );
          await this.client.delete(voice.id, signal);
        }
      }
    } catch (err) {
      // The voice we return is fine; a leftover duplicate only costs quota.
      this.logger?.warn(
        { err: String(err) },
        'could not check for duplicate voices after a retried create',
      );
    }
  }
}

/**
 * Newest first by `gmt_create` ("YYYY-MM-DD HH:MM:SS", so strings sort by
 * time); on a tie the later list position wins.
 */
function newestFirst(voices: ListedVoice[]): ListedVoice[] {
  return voices
    .map((v, i) => ({ v, i }))
    .sort((a, b) => {
      const byTime = (b.v.createdAt ?? '').localeCompare(a.v.createdAt ?? '');
      return byTime !== 0 ? byTime : b.i - a.i;
    })
    .map(({ v }) => v);
}
