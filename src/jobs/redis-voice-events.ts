import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LocalVoiceEvents, type VoiceEvents } from './voice-events.js';

/**
 * Voice events across processes: a finish is published on one Redis channel
 * (`<REDIS_PREFIX>:voice-finished`, the message is `<sender> <voice id>`) and
 * every process that has someone waiting subscribes to it, on one subscriber
 * connection per process, made on the first wait. Waiters in the sending
 * process are woken directly. A message lost while Redis is away is covered
 * by the waiter's own re-read of the row.
 */
export class RedisVoiceEvents implements VoiceEvents {
  private readonly local = new LocalVoiceEvents();
  private readonly sender = randomUUID();
  private subscriber: Redis | undefined;
  private subscribed: Promise<void> | undefined;
  private closed = false;

  /**
   * @param publisher a connection for PUBLISH (commands must not queue for
   *   long while Redis is away: the job carries on either way)
   * @param makeSubscriber opens the connection this instance subscribes on
   *   (it owns and closes it)
   */
  constructor(
    private readonly publisher: Redis,
    private readonly makeSubscriber: () => Redis,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  finished(voiceId: string): void {
    this.local.finished(voiceId);
    if (this.closed) return;
    this.publisher
      .publish(this.channel, `${this.sender} ${voiceId}`)
      .catch((err: unknown) =>
        this.log.warn({ err, voice_id: voiceId }, 'voice event not published'),
      );
  }

  waitFor(voiceId: string, ms: number, signal?: AbortSignal): Promise<void> {
    // Not awaited: until the subscription stands, the waiter's timeout covers it.
    void this.ready().catch(() => undefined);
    return this.local.waitFor(voiceId, ms, signal);
  }

  /** Resolves once this process is subscribed (the first wait starts it). */
  ready(): Promise<void> {
    this.subscribed ??= this.subscribe();
    return this.subscribed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.local.close();
    this.subscriber?.disconnect();
  }

  private async subscribe(): Promise<void> {
    if (this.closed) return;
    const sub = this.makeSubscriber();
    this.subscriber = sub;
    let lastLogged = 0;
    sub.on('error', (err: Error) => {
      // ioredis reports every failed reconnect; once per 10 s is enough.
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      this.log.warn({ err }, 'voice event subscriber connection error');
    });
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const space = message.indexOf(' ');
      if (space < 0 || message.slice(0, space) === this.sender) return;
      this.local.finished(message.slice(space + 1));
    });
    try {
      // ioredis subscribes again by itself after a reconnect.
      await sub.subscribe(this.channel);
    } catch (err) {
      // Let a later wait try again.
      this.subscribed = undefined;
      this.subscriber = undefined;
      sub.disconnect();
      throw err;
    }
  }
}
