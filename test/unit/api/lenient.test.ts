import { describe, expect, it } from 'vitest';
import { MAX_PAGE, pageOf, parseBool, positiveInt } from '../../../src/api/schemas/lenient.js';
import { AppError } from '../../../src/errors.js';

describe('parseBool reads the booleans the original clients send', () => {
  it.each([
    [true, true],
    ['true', true],
    [1, true],
    ['1', true],
    [false, false],
    ['false', false],
    [0, false],
    ['0', false],
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
  ])('%j → %j', (input, want) => {
    expect(parseBool(input, 'is_public')).toBe(want);
  });

  it.each(['yes', 'maybe', 'TRUE ', 2, {}, []])('%j → 400 naming the field', (input) => {
    try {
      parseBool(input, 'only_mine');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).status).toBe(400);
      expect((err as AppError).message).toBe('Invalid field: only_mine');
    }
  });
});

describe('positiveInt', () => {
  it.each([
    [5, 5],
    ['5', 5],
    [' 7 ', 7],
    [0, 1],
    [-3, 1],
    [1.5, 1],
    ['x', 1],
    ['', 1],
    [null, 1],
    [{}, 1],
    [true, 1],
    [1e21, 1],
    ['99999999999999999999999', 1],
    [Number.MAX_SAFE_INTEGER + 2, 1],
    [Infinity, 1],
    [NaN, 1],
  ])('%j → %j (default 1)', (input, want) => {
    expect(positiveInt(input, 1)).toBe(want);
  });

  it('falls back past the given maximum', () => {
    expect(positiveInt(11, 3, 10)).toBe(3);
    expect(positiveInt(10, 3, 10)).toBe(10);
  });
});

describe('pageOf', () => {
  it.each([
    [{}, 1, 10],
    [{ page: 2, page_size: 4 }, 2, 4],
    [{ page: '3', page_size: '25' }, 3, 25],
    [{ page_size: 1000 }, 1, 100],
    [{ page_size: '1000' }, 1, 100],
    [{ page: 1e21, page_size: 1e21 }, 1, 10],
    [{ page: '99999999999999999999999' }, 1, 10],
    [{ page: MAX_PAGE }, MAX_PAGE, 10],
    [{ page: MAX_PAGE + 1 }, 1, 10],
    [{ page: 0, page_size: 0 }, 1, 10],
  ])('%j → page %i, size %i', (input, page, pageSize) => {
    expect(pageOf(input)).toEqual({ page, pageSize });
  });
});
