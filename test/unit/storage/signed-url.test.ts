import { describe, expect, it } from 'vitest';
import { UrlSigner } from '../../../src/storage/signed-url.js';

const SECRET = 'unit-secret-unit-secret-unit-secret-0001';
const BASE = 'https://timbre.example.com';
const ID = '018f0000-0000-7000-8000-000000000001';
const OTHER = '018f0000-0000-7000-8000-000000000002';
const T0 = new Date('2030-01-01T00:00:00Z');

function parts(url: string) {
  const u = new URL(url);
  return { path: u.pathname, exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')! };
}

describe('UrlSigner', () => {
  let now = T0;
  const signer = new UrlSigner(SECRET, BASE, 600, () => now);

  it('signs a link on the seed path from the base URL with exp = now + ttl', () => {
    now = T0;
    const { url, expiresAt } = signer.sign(ID);
    const p = parts(url);
    expect(url.startsWith(`${BASE}/api/temfile/download/${ID}?`)).toBe(true);
    expect(Number(p.exp)).toBe(T0.getTime() / 1000 + 600);
    expect(expiresAt).toEqual(new Date(T0.getTime() + 600_000));
    expect(p.sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signer.sign(ID, 5).expiresAt).toEqual(new Date(T0.getTime() + 5000));
  });

  it('accepts its own signature until the expiry, inclusive', () => {
    now = T0;
    const p = parts(signer.sign(ID).url);
    expect(signer.verify(ID, p.exp, p.sig)).toBe('ok');
    now = new Date(T0.getTime() + 600_000);
    expect(signer.verify(ID, p.exp, p.sig)).toBe('ok');
    now = new Date(T0.getTime() + 601_000);
    expect(signer.verify(ID, p.exp, p.sig)).toBe('expired');
    now = T0;
  });

  it('rejects a tampered signature, a moved expiry and another file id', () => {
    const p = parts(signer.sign(ID).url);
    const flipped = (p.sig[0] === 'A' ? 'B' : 'A') + p.sig.slice(1);
    expect(signer.verify(ID, p.exp, flipped)).toBe('invalid');
    expect(signer.verify(ID, String(Number(p.exp) + 1), p.sig)).toBe('invalid');
    expect(signer.verify(OTHER, p.exp, p.sig)).toBe('invalid');
    expect(signer.verify(ID, p.exp, p.sig.slice(0, 20))).toBe('invalid');
    expect(signer.verify(ID, p.exp, `${p.sig}=`)).toBe('invalid');
  });

  it('rejects a signature made with another secret', () => {
    const other = new UrlSigner('another-secret-another-secret-0000000', BASE, 600, () => T0);
    const p = parts(other.sign(ID).url);
    expect(signer.verify(ID, p.exp, p.sig)).toBe('invalid');
  });

  it('reports missing parts and malformed expiries', () => {
    const p = parts(signer.sign(ID).url);
    expect(signer.verify(ID, undefined, p.sig)).toBe('missing');
    expect(signer.verify(ID, p.exp, undefined)).toBe('missing');
    expect(signer.verify(ID, '', '')).toBe('missing');
    expect(signer.verify(ID, '-1', p.sig)).toBe('invalid');
    expect(signer.verify(ID, '1e9', p.sig)).toBe('invalid');
    expect(signer.verify(ID, '9'.repeat(13), p.sig)).toBe('invalid');
  });

  it('checks the signature before the expiry (an expired forgery is invalid, not expired)', () => {
    now = new Date(T0.getTime() + 10_000_000);
    expect(signer.verify(ID, String(T0.getTime() / 1000), 'x'.repeat(43))).toBe('invalid');
    now = T0;
  });
});
