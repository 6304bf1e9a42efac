/**
 * Splitting text for sentence-by-sentence synthesis. Pure functions: no I/O.
 */

/** Marks that end a sentence wherever they stand (Chinese, Japanese and English). */
const ENDS = new Set(['。', '！', '？', '!', '?', '；', ';', '…', '\n', '．']);
/** Closing quotes and brackets that belong to the sentence before them. */
const CLOSERS = new Set(['"', "'", '”', '’', '」', '』', '）', ')', '】', '》', ']']);
/** Where an over-long sentence may be cut, best first. */
const SOFT_BREAKS = /[，,、：:—–]|\s/u;
/** A piece with nothing to pronounce (only punctuation, symbols and space). */
const NOTHING_TO_SAY = /^[\p{P}\p{S}\p{Z}\s]*$/u;

/** Number of characters as people count them (Unicode code points, not UTF-16 units). */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * The sentences of `text`, in order, each with its closing punctuation. A `.`
 * ends a sentence only before white space or the end (so `3.14` and `e.g.x`
 * stay whole). Pieces with nothing to pronounce are dropped.
 */
export function splitSentences(text: string): string[] {
  const chars = [...text];
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    cur += ch;
    const next = chars[i + 1];
    const after = chars[i + 2];
    const spaceOrEnd = (c: string | undefined) => c === undefined || /\s/.test(c);
    const ends =
      ENDS.has(ch) ||
      (ch === '.' && (spaceOrEnd(next) || (CLOSERS.has(next!) && spaceOrEnd(after))));
    if (!ends) continue;
    // Keep runs like "?!", "……" and closing quotes with this sentence.
    while (i + 1 < chars.length && (ENDS.has(chars[i + 1]!) || CLOSERS.has(chars[i + 1]!))) {
      if (chars[i + 1] === '\n' && ch !== '\n') break;
      cur += chars[++i];
    }
    out.push(cur);
    cur = '';
  }
  if (cur) out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s && !NOTHING_TO_SAY.test(s));
}

/** Cuts one over-long sentence at commas or spaces (a hard cut where there are none). */
function cutLong(sentence: string, maxChars: number): string[] {
  const pieces: string[] = [];
  let rest = [...sentence];
  while (rest.length > maxChars) {
    let cut = -1;
    for (let i = maxChars - 1; i >= Math.floor(maxChars / 2); i--) {
      if (SOFT_BREAKS.test(rest[i]!)) {
        cut = i + 1;
        break;
      }
    }
    if (cut < 0) cut = maxChars;
    pieces.push(rest.slice(0, cut).join('').trim());
    rest = rest.slice(cut);
  }
  pieces.push(rest.join('').trim());
  return pieces.filter((p) => p && !NOTHING_TO_SAY.test(p));
}

export interface SegmentOptions {
  /** Longest piece sent to the provider in one call (characters). */
  maxChars: number;
  /** Later sentences are joined up to this size, to save provider calls. */
  groupChars: number;
}

/**
 * The pieces to synthesize, in order: the first sentence alone (so the first
 * audio comes quickly), then sentences grouped up to `groupChars`, none
 * longer than `maxChars`.
 */
export function speechSegments(
  text: string,
  opts: SegmentOptions = { maxChars: 300, groupChars: 200 },
): string[] {
  const sentences = splitSentences(text).flatMap((s) => cutLong(s, opts.maxChars));
  const out: string[] = [];
  let group = '';
  for (const [i, s] of sentences.entries()) {
    if (i === 0) {
      out.push(s);
      continue;
    }
    const joined = group ? `${group} ${s}` : s;
    if (group && charCount(joined) > opts.groupChars) {
      out.push(group);
      group = s;
    } else {
      group = joined;
    }
  }
  if (group) out.push(group);
  return out;
}
