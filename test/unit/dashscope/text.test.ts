import { describe, expect, it } from 'vitest';
import {
  MAX_CHUNK_WEIGHT,
  chunkWeight,
  splitText,
  textWeight,
} from '../../../src/providers/dashscope/index.js';

describe('DashScope text weighting', () => {
  it('counts a CJK ideograph as 2 and anything else as 1', () => {
    expect(textWeight('hello')).toBe(5);
    expect(textWeight('你好')).toBe(4);
    expect(textWeight('你好, world')).toBe(4 + 7);
    // an ideograph outside the BMP is one code point, still 2
    expect(textWeight('𠀀')).toBe(2);
    expect(textWeight('é😀')).toBe(2);
  });

  it('sizes chunks conservatively: kana, hangul and full-width punctuation count 2 too', () => {
    expect(chunkWeight('かな')).toBe(4);
    expect(chunkWeight('한국')).toBe(4);
    expect(chunkWeight('。')).toBe(2);
    expect(textWeight('かな')).toBe(2);
  });
});

describe('splitText', () => {
  it('keeps short text in one piece and drops empty text', () => {
    expect(splitText('Hello there.')).toEqual(['Hello there.']);
    expect(splitText('')).toEqual([]);
  });

  it('cuts between sentences, never above the limit, and loses nothing', () => {
    const sentence = 'The quick brown fox jumps over the lazy dog. ';
    const text = sentence.repeat(1000); // 45,000 chars
    const chunks = splitText(text);
    expect(chunks.length).toBe(3);
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) {
      expect(chunkWeight(c)).toBeLessThanOrEqual(MAX_CHUNK_WEIGHT);
      expect(c.endsWith('. ')).toBe(true);
    }
  });

  it('weights Chinese text double, so 15,000 ideographs need two messages', () => {
    const text = '今天天气很好。'.repeat(2143); // 15,001 ideographs+punct, weight > 20k
    const chunks = splitText(text);
    expect(chunks.length).toBe(2);
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) {
      expect(chunkWeight(c)).toBeLessThanOrEqual(MAX_CHUNK_WEIGHT);
      expect(c.endsWith('。')).toBe(true);
    }
  });

  it('falls back to words, then graphemes, for a sentence over the limit', () => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const chunks = splitText(words, 20);
    expect(chunks.join('')).toBe(words);
    for (const c of chunks) expect(chunkWeight(c)).toBeLessThanOrEqual(20);

    const noSpaces = '字'.repeat(25);
    const cjk = splitText(noSpaces, 10);
    expect(cjk.join('')).toBe(noSpaces);
    for (const c of cjk) expect(chunkWeight(c)).toBeLessThanOrEqual(10);

    const emoji = '👩‍👩‍👧'.repeat(10); // 5 code points per grapheme
    const em = splitText(emoji, 12);
    expect(em.join('')).toBe(emoji);
    for (const c of em) expect(c.length % '👩‍👩‍👧'.length).toBe(0);
  });
});
