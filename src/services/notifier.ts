import type { Logger } from 'pino';

/**
 * Delivers verification codes (SMS or e-mail gateway). Implementations must
 * not log the code itself in production.
 */
export interface CaptchaNotifier {
  send(to: { identifier: string; type: 'phone' | 'email' }, code: string): Promise<void>;
}

/** Development notifier: writes the code to the log so a self-hoster can read it. */
export class LogNotifier implements CaptchaNotifier {
  constructor(
    private readonly log: Logger,
    private readonly revealCode: boolean,
  ) {}

  async send(to: { identifier: string; type: 'phone' | 'email' }, code: string): Promise<void> {
    this.log.info(
      {
        captcha_to: maskIdentifier(to.identifier),
        ...(this.revealCode ? { captcha_code: code } : {}),
      },
      'verification code issued',
    );
  }
}

/** Posts `{identifier, type, code}` as JSON to a gateway of the operator's choosing. */
export class WebhookNotifier implements CaptchaNotifier {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 5000,
  ) {}

  async send(to: { identifier: string; type: 'phone' | 'email' }, code: string): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: to.identifier, type: to.type, code }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`captcha webhook answered ${res.status}`);
  }
}

export function maskIdentifier(id: string): string {
  const at = id.indexOf('@');
  if (at > 0) return `${id[0]}***${id.slice(at)}`;
  return id.length > 4 ? `${id.slice(0, 3)}****${id.slice(-2)}` : '****';
}
