/** Text accounting and sentence splitting for the synthesis side. */

const IDEOGRAPH = /\p{Unified_Ideograph}/u;

/** DashScope counting: a CJK ideograph counts 2, any other character (code point) 1. */
export function countChars(text: string): number {
  let n = 0;
  for (const ch of text) n += IDEOGRAPH.test(ch) ? 2 : 1;
  return n;
}

/** SSML tags are not counted (nor spoken). */
export function stripSsml(text: string): string {
  return text.replace(/<[^>]*>/g, '');
}

/** Sentence ends that need nothing after them (CJK full-width punctuation, newline). */
const IMMEDIATE = new Set(['。', '！', '？', '；', '…', '\n']);
/** ASCII sentence ends: only a boundary when followed by white space (so "3.14" stays whole). */
const ASCII_END = new Set(['.', '!', '?', ';']);
/** Closing quotes/brackets that stay with the sentence they close. */
const CLOSERS = new Set(['"', "'", ')', ']', '”', '’', '」', '』', '）', '】', '》']);

/**
 * Splits streamed text into sentences. An incomplete sentence is held until more text arrives
 * or `flush()` is called (finish-task, or a continue-task with `flush: true`).
 */
export class SentenceSplitter {
  private buf = '';

  get pending(): string {
    return this.buf;
  }

  push(text: string): string[] {
    this.buf += text;
    return this.scan(false);
  }

  flush(): string[] {
    return this.scan(true);
  }

  clear(): void {
    this.buf = '';
  }

  private scan(final: boolean): string[] {
    const out: string[] = [];
    const b = this.buf;
    let start = 0;
    let i = 0;
    while (i < b.length) {
      const c = b[i]!;
      let end = -1;
      if (IMMEDIATE.has(c)) {
        end = i + 1;
        while (
          end < b.length &&
          (IMMEDIATE.has(b[end]!) || CLOSERS.has(b[end]!)) &&
          b[end] !== '\n'
        )
          end++;
      } else if (ASCII_END.has(c)) {
        let j = i + 1;
        while (j < b.length && (ASCII_END.has(b[j]!) || CLOSERS.has(b[j]!))) j++;
        if (j < b.length ? /\s/.test(b[j]!) : final) end = j;
        else if (j >= b.length) break; // might be "3." of "3.14": wait for more text
        i = j - 1;
      }
      if (end > 0) {
        const s = b.slice(start, end).trim();
        if (s) out.push(s);
        start = end;
        i = end;
        continue;
      }
      i++;
    }
    this.buf = b.slice(start);
    if (final) {
      const rest = this.buf.trim();
      if (rest) out.push(rest);
      this.buf = '';
    }
    return out;
  }
}
