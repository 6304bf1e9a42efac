/**
 * The pieces of a voice name that the keyword index holds: every distinct
 * 2- and 3-character substring of the lower-cased name (characters are code
 * points, so a Chinese name of two characters is one 2-gram). A keyword of
 * two characters or more is found through them; one character is too little
 * to narrow anything and is matched by scanning in listing order.
 */
export function nameGrams(name: string): string[] {
  const chars = Array.from(name.toLowerCase());
  const grams = new Set<string>();
  for (let i = 0; i < chars.length; i++) {
    if (i + 2 <= chars.length) grams.add(chars.slice(i, i + 2).join(''));
    if (i + 3 <= chars.length) grams.add(chars.slice(i, i + 3).join(''));
  }
  return [...grams];
}

/**
 * The grams a keyword's matches must all contain: its 3-grams when it has
 * three characters or more, else its one 2-gram; none for one character.
 */
export function keywordGrams(keyword: string): string[] {
  const chars = Array.from(keyword.toLowerCase());
  if (chars.length < 2) return [];
  if (chars.length === 2) return [chars.join('')];
  const grams = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) grams.add(chars.slice(i, i + 3).join(''));
  return [...grams];
}

/** Whether `name` contains `keyword`, without regard to letter case (the index's own rule). */
export function nameMatches(name: string, keyword: string): boolean {
  return name.toLowerCase().includes(keyword.toLowerCase());
}
