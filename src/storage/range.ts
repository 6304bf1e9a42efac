/**
 * Parses an HTTP `Range` header against a blob of `size` bytes (RFC 9110 §14).
 * Returns:
 * - `undefined` when there is no usable range header (serve the whole body:
 *   syntactically invalid ranges are ignored, as the RFC allows);
 * - `{start, end}` inclusive for one satisfiable range;
 * - `'unsatisfiable'` when the range lies wholly outside the blob (416).
 * Multiple ranges are served as the whole body (we do not do multipart/byteranges).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  // The range unit is case-insensitive (RFC 9110 §14.1).
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    // Suffix range: the last N bytes.
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    if (size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (!Number.isSafeInteger(start)) return undefined;
  if (start >= size) return 'unsatisfiable';
  let end = b === '' ? size - 1 : Number(b);
  if (!Number.isSafeInteger(end)) return undefined;
  if (end < start) return undefined;
  end = Math.min(end, size - 1);
  return { start, end };
}

/**
 * All of a blob of `size` bytes as a range (undefined when it is empty). A
 * whole read given as this range lets the disk store size its read buffer to
 * the blob: without an end, Node's file stream reads a small file into a
 * 1 MiB buffer, copies it to one of the right size, then reads once more to
 * find the end, for every download of a sample.
 */
export function wholeRange(size: number): { start: number; end: number } | undefined {
  return size > 0 ? { start: 0, end: size - 1 } : undefined;
}
