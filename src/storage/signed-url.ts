import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived links that let a voice provider (which has no JWT) fetch one
 * file: HMAC-SHA256 over scope, file id and expiry, compared in constant time.
 */
export class UrlSigner {
  constructor(
    private readonly secret: string,
    private readonly baseUrl: string,
    private readonly ttlSec: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private mac(fileId: string, exp: number): string {
    return createHmac('sha256', this.secret)
      .update(`provider-download\n${fileId}\n${exp}`)
      .digest('base64url');
  }

  /** `<base>/api/temfile/download/<id>?exp=<unix>&sig=<mac>` (the seed's path spelling). */
  sign(fileId: string, ttlSec = this.ttlSec): { url: string; expiresAt: Date } {
    const exp = Math.floor(this.now().getTime() / 1000) + ttlSec;
    const url = `${this.baseUrl}/api/temfile/download/${encodeURIComponent(fileId)}?exp=${exp}&sig=${this.mac(fileId, exp)}`;
    return { url, expiresAt: new Date(exp * 1000) };
  }

  /** Whether `sig` is valid for `fileId` and `exp` has not passed. */
  verify(
    fileId: string,
    exp: string | undefined,
    sig: string | undefined,
  ): 'ok' | 'missing' | 'invalid' | 'expired' {
    if (!exp || !sig) return 'missing';
    if (!/^\d{1,12}$/.test(exp)) return 'invalid';
    const expected = Buffer.from(this.mac(fileId, Number(exp)));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
    if (Number(exp) * 1000 < this.now().getTime()) return 'expired';
    return 'ok';
  }
}
