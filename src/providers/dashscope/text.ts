/**
 * DashScope's text limits for one synthesis task: at most 20,000 characters
 * per continue-task and 200,000 per task, where a CJK ideograph counts 2 and
 * anything else 1.
 */

/** Per continue-task message. */
export const MAX_CHUNK_WEIGHT = 20_000;
/** Per task (all continue-tasks together). */
export const MAX_TASK_WEIGHT = 200_000;

const IDEOGRAPH = /\p{Unified_Ideograph}/u;
/**
 * Other East-Asian wide characters (kana, hangul, full-width forms and CJK
 * punctuation). The spec only says "CJK ideograph counts 2"; for chunking we
 * also count these as 2 so a chunk stays under the limit whichever reading the
 * provider uses (unverified). The task total uses the documented rule.
 */
const WIDE =
  /[\p{Ideographic}\p{Unified_Ideograph}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;

/** The documented weight: ideographs count 2, every other code point 1. */
export function textWeight(text: string): number {
  let weight = 0;
  for (const ch of text) weight += IDEOGRAPH.test(ch) ? 2 : 1;
  return weight;
}

/** The conservative weight used to size chunks (see {@link WIDE}). */
export function chunkWeight(text: string): number {
  let weight = 0;
  for (const ch of text) weight += WIDE.test(ch) ? 2 : 1;
  return weight;
}

function segments(text: string, granularity: 'sentence' | 'word' | 'grapheme'): string[] {
  const segmenter = new Intl.Segmenter(undefined, { granularity });
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/**
 * Splits `text` into pieces of at most `maxWeight` (conservative weight), in
 * order, so that joining them gives back `text` exactly. Cuts between
 * sentences when it can, else between words, else between graphemes.
 */
export function splitText(text: string, maxWeight = MAX_CHUNK_WEIGHT): string[] {
  if (maxWeight < 2) throw new RangeError('maxWeight must be at least 2');
  if (chunkWeight(text) <= maxWeight) return text === '' ? [] : [text];

  const chunks: string[] = [];
  let current = '';
  let currentWeight = 0;
  const push = (piece: string, weight: number): void => {
    if (currentWeight + weight > maxWeight && current !== '') {
      chunks.push(current);
      current = '';
      currentWeight = 0;
    }
    current += piece;
    currentWeight += weight;
  };
  const add = (piece: string, level: 'sentence' | 'word' | 'grapheme'): void => {
    const weight = chunkWeight(piece);
    if (weight <= maxWeight || level === 'grapheme') {
      push(piece, weight);
      return;
    }
    const finer = level === 'sentence' ? 'word' : 'grapheme';
    for (const part of segments(piece, finer)) add(part, finer);
  };
  for (const sentence of segments(text, 'sentence')) add(sentence, 'sentence');
  if (current !== '') chunks.push(current);
  return chunks;
}
