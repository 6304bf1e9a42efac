import type { Logger } from 'pino';
import {
  speechContentType,
  type SpeechEncoder,
  type SpeechFormat,
} from '../audio/stream-encoder.js';
import { ERRORS } from '../errors.js';
import type { VoiceProvider } from '../providers/provider.js';
import type { VoiceRow } from '../repositories/voice.repository.js';
import { providerFailure } from './provider-errors.js';
import { charCount, speechSegments } from './speech-text.js';
import type { Ticket, UsageLimits } from './usage-limits.js';

/** What the provider interface accepts as `rate`. */
const PROVIDER_RATE_MIN = 0.5;
const PROVIDER_RATE_MAX = 2;

export interface SpeakInput {
  /** A ready voice the caller may use (access already checked). */
  voice: Pick<VoiceRow, 'id' | 'call_name' | 'target_model' | 'provider'>;
  text: string;
  format: SpeechFormat;
  /** Output rate in Hz (one the provider offers). */
  sampleRate: number;
  /** Overall speed, 0.25–4 (1 = normal). Beyond the provider's 0.5–2 the encoder changes tempo. */
  speed?: number;
  pitch?: number;
  volume?: number;
  /** The text limit for this route, and the setting that sets it (named in the error). */
  limit: { maxChars: number; setting: string; field: string };
  /**
   * A text of one sentence in mp3, wav or pcm goes to the provider as it is,
   * in that format (the Timbre route's behaviour for short texts).
   */
  passThrough?: boolean;
  /**
   * The caller: one of their synthesis slots (SYNTHESIZE_IN_FLIGHT_PER_USER,
   * 429 with Retry-After past it) is held from before the first provider call
   * until the audio is sent, the client goes away or the time limit passes.
   */
  userId?: string;
  /** Aborted when the client goes away: the synthesis stops and its slot is freed at once. */
  signal?: AbortSignal;
}

export interface SpeechResult {
  contentType: string;
  stream: AsyncIterable<Uint8Array>;
  /** Number of provider calls the text was split into. */
  segments: number;
  /** Bytes of 16-bit PCM produced so far (for usage figures). */
  pcmBytes(): number;
}

export interface SpeechSettings {
  timeoutSec: number;
}

/**
 * Speech from text, for every synthesis route: checks the text limit, splits
 * long text on sentences, synthesizes them one by one through the provider as
 * 16-bit PCM and streams the audio, encoded, as it is produced. The whole
 * synthesis is bounded by `timeoutSec`; the first audio is awaited before
 * returning, so failures before it become clean 4xx/5xx answers.
 */
export class SpeechService {
  constructor(
    private readonly provider: VoiceProvider,
    private readonly encoder: SpeechEncoder,
    private readonly settings: SpeechSettings,
    private readonly log: Logger,
    private readonly limits?: UsageLimits,
  ) {}

  /** Throws 400 naming the limit and its setting when `text` is over it or empty. */
  checkText(text: string, limit: SpeakInput['limit']): string[] {
    const n = charCount(text);
    if (n > limit.maxChars) {
      throw ERRORS.badRequest(
        `${limit.field} is ${n} characters long; the limit is ${limit.maxChars} characters (${limit.setting})`,
        { info: 'split the text into several requests' },
      );
    }
    const segments = speechSegments(text);
    if (!segments.length) {
      throw ERRORS.badRequest(`${limit.field} has nothing to speak`, {
        info: 'send words, not only punctuation or spaces',
      });
    }
    return segments;
  }

  async speak(input: SpeakInput): Promise<SpeechResult> {
    if (input.voice.provider !== this.provider.name) {
      throw ERRORS.conflict(
        `The voice was made with provider '${input.voice.provider}', which this server does not use now`,
      );
    }
    const segments = this.checkText(input.text, input.limit);
    const speed = input.speed ?? 1;
    const rate = Math.min(PROVIDER_RATE_MAX, Math.max(PROVIDER_RATE_MIN, speed));
    const tempo = speed / rate;
    const common = {
      voiceId: input.voice.call_name!,
      targetModel: input.voice.target_model,
      sampleRate: input.sampleRate,
      rate,
      pitch: input.pitch ?? 1,
      volume: input.volume ?? 50,
    };
    const direct =
      input.passThrough &&
      segments.length === 1 &&
      tempo === 1 &&
      (input.format === 'mp3' || input.format === 'wav' || input.format === 'pcm');

    const client = input.signal;
    if (client?.aborted) throw clientGone();
    const slot: Ticket | undefined =
      input.userId && this.limits ? await this.limits.enter('synthesize', input.userId) : undefined;
    let release: () => void;
    try {
      release = direct ? () => {} : this.encoder.reserve(input.format, tempo);
    } catch (err) {
      await slot?.release();
      throw err;
    }
    const controller = new AbortController();
    const timeoutMs = this.settings.timeoutSec * 1000;
    let timedOut = false;
    // Idempotent: frees the encoder and the user's slot, stops the provider.
    const finish = (reason = 'synthesis finished') => {
      clearTimeout(timer);
      client?.removeEventListener('abort', onClientGone);
      release();
      void slot?.release();
      if (!controller.signal.aborted) controller.abort(new Error(reason));
    };
    // Also frees the slots of a stream nobody ever read.
    const onClientGone = () => finish('the client went away');
    const timer = setTimeout(() => {
      timedOut = true;
      finish(`synthesis ran past ${this.settings.timeoutSec} s`);
    }, timeoutMs);
    timer.unref();
    client?.addEventListener('abort', onClientGone, { once: true });
    // Gone while the slot was being taken: the listener came too late for it.
    if (client?.aborted) onClientGone();
    let pcmBytes = 0;
    const provider = this.provider;
    const signal = controller.signal;

    const source: AsyncIterable<Uint8Array> = direct
      ? provider.synthesize({
          ...common,
          text: input.text,
          format: input.format as 'mp3' | 'wav' | 'pcm',
          signal,
        })
      : (async function* () {
          for (const text of segments) {
            signal.throwIfAborted();
            for await (const chunk of provider.synthesize({
              ...common,
              text,
              format: 'pcm',
              signal,
            })) {
              signal.throwIfAborted();
              pcmBytes += chunk.length;
              yield chunk;
            }
          }
        })();

    // The first audio before any header: provider failures become clean answers.
    const it = abortable(source, signal)[Symbol.asyncIterator]();
    let first: IteratorResult<Uint8Array>;
    try {
      first = await it.next();
    } catch (err) {
      finish();
      if (timedOut) throw this.timeoutError();
      if (client?.aborted) throw clientGone();
      throw providerFailure(err);
    }
    if (first.done) {
      finish();
      throw ERRORS.badGateway('The voice provider returned no audio', {
        info: 'the provider answered without any audio; try again later',
      });
    }
    const firstChunk = first.value;
    const primed = (async function* () {
      yield firstChunk;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })();

    const encoded = direct
      ? primed
      : this.encoder.encode(primed, input.format, {
          sampleRate: input.sampleRate,
          tempo,
          signal,
        });
    const log = this.log;
    const voiceId = input.voice.id;
    const count = segments.length;
    const stream = (async function* () {
      try {
        yield* encoded;
      } catch (err) {
        // The status line is gone: the client sees the stream end early.
        log.warn({ err, voice_id: voiceId, timed_out: timedOut }, 'synthesis stream failed');
        throw err;
      } finally {
        finish();
      }
    })();
    return {
      contentType: speechContentType(input.format, input.sampleRate),
      stream,
      segments: count,
      pcmBytes: () => pcmBytes,
    };
  }

  private timeoutError() {
    return ERRORS.unavailable('The synthesis took too long', {
      info: `a synthesis may run at most ${this.settings.timeoutSec} s (SPEECH_TIMEOUT_SEC); send a shorter text`,
      headers: { 'retry-after': '1' },
    });
  }
}

/** What a request whose client left before any audio gets (nobody reads it; the log does). */
function clientGone() {
  return ERRORS.badRequest('The client went away before any audio was sent');
}

/**
 * `source`, but each step also ends when `signal` aborts (a provider that is
 * stuck and ignores the signal cannot hold the request past its time limit).
 */
function abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      const aborted = new Promise<never>((_, reject) => {
        const fail = () =>
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        if (signal.aborted) fail();
        else signal.addEventListener('abort', fail, { once: true });
      });
      // Nobody may be waiting when it aborts.
      aborted.catch(() => {});
      return {
        next: () => Promise.race([it.next(), aborted]),
        return: async (value?: unknown) => {
          void it.return?.(value).catch(() => {});
          return { done: true as const, value: undefined as T };
        },
      };
    },
  };
}
