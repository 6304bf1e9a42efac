import { describe, expect, it } from 'vitest';
import { charCount, speechSegments, splitSentences } from '../../../src/services/speech-text.js';

describe('splitSentences', () => {
  it.each([
    ['Hello there. How are you?', ['Hello there.', 'How are you?']],
    ['你好。今天天气怎么样？很好！', ['你好。', '今天天气怎么样？', '很好！']],
    ['Wait... what?! Yes.', ['Wait...', 'what?!', 'Yes.']],
    ['Pi is 3.14 exactly. Done', ['Pi is 3.14 exactly.', 'Done']],
    ['He said "stop." Then left.', ['He said "stop."', 'Then left.']],
    ['她说：“走吧。”然后走了。', ['她说：“走吧。”', '然后走了。']],
    ['line one\nline two', ['line one', 'line two']],
    ['English; 中文；mixed.', ['English;', '中文；', 'mixed.']],
    ['... !!! 。。。', []],
    ['no punctuation at all', ['no punctuation at all']],
  ])('%j', (text, expected) => {
    expect(splitSentences(text)).toEqual(expected);
  });
});

describe('speechSegments', () => {
  it('keeps the first sentence alone, then groups sentences up to the group size', () => {
    const text = 'First. ' + 'Short one. '.repeat(40);
    const segs = speechSegments(text, { maxChars: 300, groupChars: 60 });
    expect(segs[0]).toBe('First.');
    for (const s of segs.slice(1)) expect(charCount(s)).toBeLessThanOrEqual(60);
    expect(segs.join(' ').replace(/\s+/g, ' ')).toBe(text.trim());
  });

  it('cuts an over-long sentence at commas or spaces, and hard-cuts where there are none', () => {
    const long = 'word, '.repeat(100) + 'end.';
    for (const s of speechSegments(long, { maxChars: 50, groupChars: 40 }))
      expect(charCount(s)).toBeLessThanOrEqual(50);
    const solid = '字'.repeat(130);
    const pieces = speechSegments(solid, { maxChars: 50, groupChars: 10 });
    expect(pieces.map(charCount)).toEqual([50, 50, 30]);
  });

  it('loses no text of a 20,000-character mixed input', () => {
    const unit = 'The quick brown fox jumps. 敏捷的棕色狐狸跳过了懒狗。 ';
    const text = unit.repeat(Math.ceil(20_000 / unit.length)).slice(0, 20_000);
    const segs = speechSegments(text);
    const squash = (s: string) => s.replace(/\s+/g, '');
    expect(squash(segs.join(''))).toBe(squash(text));
    for (const s of segs) expect(charCount(s)).toBeLessThanOrEqual(300);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(charCount('😀😀')).toBe(2);
    expect('😀😀'.length).toBe(4);
  });
});
