import { describe, expect, it } from 'vitest';
import { parseRange, wholeRange } from '../../../src/storage/range.js';

const SIZE = 1000;

describe('parseRange', () => {
  it.each<[string | undefined, number, ReturnType<typeof parseRange>]>([
    // no or unusable header → whole body
    [undefined, SIZE, undefined],
    ['', SIZE, undefined],
    ['bytes=', SIZE, undefined],
    ['bytes=-', SIZE, undefined],
    ['bytes=abc', SIZE, undefined],
    ['bytes=1-a', SIZE, undefined],
    ['items=0-9', SIZE, undefined],
    ['bytes 0-9', SIZE, undefined],
    ['bytes=0-9,20-29', SIZE, undefined],
    ['bytes=5-2', SIZE, undefined],
    ['bytes=99999999999999999999-', SIZE, undefined],
    // one satisfiable range
    ['bytes=0-99', SIZE, { start: 0, end: 99 }],
    ['bytes=0-0', SIZE, { start: 0, end: 0 }],
    ['bytes=999-999', SIZE, { start: 999, end: 999 }],
    ['bytes=100-', SIZE, { start: 100, end: 999 }],
    ['bytes=0-', SIZE, { start: 0, end: 999 }],
    ['bytes=500-5000', SIZE, { start: 500, end: 999 }],
    ['bytes=-100', SIZE, { start: 900, end: 999 }],
    ['bytes=-1', SIZE, { start: 999, end: 999 }],
    ['bytes=-5000', SIZE, { start: 0, end: 999 }],
    ['  bytes=0-9  ', SIZE, { start: 0, end: 9 }],
    ['Bytes=0-9', SIZE, { start: 0, end: 9 }],
    // wholly outside → 416
    ['bytes=1000-', SIZE, 'unsatisfiable'],
    ['bytes=1000-2000', SIZE, 'unsatisfiable'],
    ['bytes=-0', SIZE, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=-10', 0, 'unsatisfiable'],
  ])('%j against %i bytes → %j', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('wholeRange', () => {
  it('covers every byte of a blob, inclusive', () => {
    expect(wholeRange(352_044)).toEqual({ start: 0, end: 352_043 });
    expect(wholeRange(1)).toEqual({ start: 0, end: 0 });
  });

  it('is no range for an empty blob (a read of nothing)', () => {
    expect(wholeRange(0)).toBeUndefined();
  });
});
