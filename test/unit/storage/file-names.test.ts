import { describe, expect, it } from 'vitest';
import {
  ALLOWED_NAME_EXTS,
  extensionOf,
  sanitizeFileName,
  typeByName,
  typeBySniffedExt,
} from '../../../src/services/file-types.js';

describe('sanitizeFileName', () => {
  it.each([
    ['voice.mp3', 'voice.mp3'],
    ['../../x.mp3', 'x.mp3'],
    ['..\\..\\x.mp3', 'x.mp3'],
    ['/etc/passwd', 'passwd'],
    ['C:\\Users\\me\\rec.wav', 'rec.wav'],
    ['a/b\\c/d.ogg', 'd.ogg'],
    ['..', 'file'],
    ['...', 'file'],
    ['.hidden.wav', 'hidden.wav'],
    ['', 'file'],
    [undefined, 'file'],
    ['   ', 'file'],
    ['dir/', 'file'],
    ['a\u0000b\u001fc\u007f.wav', 'abc.wav'],
    ['"quoted" <x> |y| :z* ?.wav', 'quoted x y z .wav'],
    ['line\r\nbreak.wav', 'linebreak.wav'],
    ['我的声音.wav', '我的声音.wav'],
    ['cafe\u0301.wav', 'café.wav'], // NFC
  ])('%j → %j', (raw, expected) => {
    expect(sanitizeFileName(raw)).toBe(expected);
  });

  it('keeps at most 255 bytes and keeps the extension', () => {
    const long = sanitizeFileName(`${'a'.repeat(400)}.mp3`);
    expect(Buffer.byteLength(long)).toBe(255);
    expect(long.endsWith('.mp3')).toBe(true);
    const cjk = sanitizeFileName(`${'声'.repeat(200)}.wav`);
    expect(Buffer.byteLength(cjk)).toBeLessThanOrEqual(255);
    expect(cjk.endsWith('.wav')).toBe(true);
    expect(cjk).not.toContain('\uFFFD');
    const noExt = sanitizeFileName('b'.repeat(300));
    expect(noExt).toBe('b'.repeat(255));
  });

  it('shortens a huge name quickly (no quadratic loop)', () => {
    const started = performance.now();
    const out = sanitizeFileName(`${'x'.repeat(100_000)}.flac`);
    expect(performance.now() - started).toBeLessThan(500);
    expect(out.endsWith('.flac')).toBe(true);
  });
});

describe('extensionOf', () => {
  it.each([
    ['a.mp3', 'mp3'],
    ['A.MP3', 'mp3'],
    ['x.tar.gz', 'gz'],
    ['noext', ''],
    ['trailing.', ''],
    ['.wav', 'wav'],
    ['weird.ext-with-dash', ''],
    ['long.abcdefghijk', ''],
    ['声音.Wav', 'wav'],
  ])('%j → %j', (name, ext) => {
    expect(extensionOf(name)).toBe(ext);
  });
});

describe('allowed types', () => {
  it('allows exactly the contract list', () => {
    expect([...ALLOWED_NAME_EXTS].sort()).toEqual(
      ['mp3', 'wav', 'ogg', 'aac', 'm4a', 'flac', 'png', 'jpg', 'jpeg', 'gif', 'webp'].sort(),
    );
  });

  it('maps names and sniffed types to the served MIME type', () => {
    expect(typeByName('jpeg')?.mime).toBe('image/jpeg');
    expect(typeByName('exe')).toBeUndefined();
    expect(typeBySniffedExt('mp4')?.ext).toBe('m4a');
    expect(typeBySniffedExt('opus')?.ext).toBe('ogg');
    expect(typeBySniffedExt('pdf')).toBeUndefined();
  });
});
