/** What may be uploaded: the original's list, keyed by our canonical extension. */
export interface AllowedType {
  ext: string;
  kind: 'audio' | 'image';
  /** The Content-Type we serve it with. */
  mime: string;
  /** File-name extensions that may carry it. */
  names: string[];
  /** file-type's `ext` values that mean this type. */
  sniffed: string[];
}

export const ALLOWED_TYPES: AllowedType[] = [
  { ext: 'mp3', kind: 'audio', mime: 'audio/mpeg', names: ['mp3'], sniffed: ['mp3'] },
  { ext: 'wav', kind: 'audio', mime: 'audio/wav', names: ['wav'], sniffed: ['wav'] },
  { ext: 'ogg', kind: 'audio', mime: 'audio/ogg', names: ['ogg'], sniffed: ['ogg', 'oga', 'opus'] },
  { ext: 'aac', kind: 'audio', mime: 'audio/aac', names: ['aac'], sniffed: ['aac'] },
  { ext: 'm4a', kind: 'audio', mime: 'audio/mp4', names: ['m4a'], sniffed: ['m4a', 'mp4'] },
  { ext: 'flac', kind: 'audio', mime: 'audio/flac', names: ['flac'], sniffed: ['flac'] },
  { ext: 'png', kind: 'image', mime: 'image/png', names: ['png'], sniffed: ['png'] },
  { ext: 'jpg', kind: 'image', mime: 'image/jpeg', names: ['jpg', 'jpeg'], sniffed: ['jpg'] },
  { ext: 'gif', kind: 'image', mime: 'image/gif', names: ['gif'], sniffed: ['gif'] },
  { ext: 'webp', kind: 'image', mime: 'image/webp', names: ['webp'], sniffed: ['webp'] },
];

export const ALLOWED_NAME_EXTS = ALLOWED_TYPES.flatMap((t) => t.names);

export function typeBySniffedExt(ext: string): AllowedType | undefined {
  return ALLOWED_TYPES.find((t) => t.sniffed.includes(ext));
}

export function typeByName(nameExt: string): AllowedType | undefined {
  return ALLOWED_TYPES.find((t) => t.names.includes(nameExt));
}

/** The lower-case extension of a file name, or '' when it has none. */
export function extensionOf(name: string): string {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(name);
  return m?.[1] ? m[1].toLowerCase() : '';
}

/**
 * A display name safe to store and echo: no directories, no control
 * characters, at most 255 bytes. It is never used as a path.
 */
export function sanitizeFileName(raw: string | undefined): string {
  let name = (raw ?? '').normalize('NFC');
  name = name.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  name = name.replace(/[\u0000-\u001f\u007f"<>|:*?]/g, '').trim();
  name = name.replace(/^\.+/, '').trim();
  if (Buffer.byteLength(name) > 255) {
    // Shorten the stem, not the extension, one code point at a time from a
    // single array (re-spreading the string per step was quadratic).
    const ext = extensionOf(name);
    const suffix = ext ? `.${ext}` : '';
    const stem = [...name.slice(0, name.length - suffix.length)];
    let bytes = Buffer.byteLength(stem.join(''));
    while (stem.length && bytes + suffix.length > 255) bytes -= Buffer.byteLength(stem.pop()!);
    name = (stem.join('').trim() || 'file') + suffix;
  }
  return name || 'file';
}
