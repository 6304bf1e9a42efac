/**
 * What an MP4/M4A file's sample tables make a decoder produce, read without
 * decoding. The movie and media headers (`mvhd`, `mdhd` durations) are only
 * claims; a decoder decodes every sample listed in `stsz`, and an MP4 whose
 * `moov` sits after its `mdat` is decoded in one go once `moov` arrives, so
 * the length has to be judged from the tables before decoding starts.
 */

/** Samples a decoder outputs per AAC frame (the common case; HE-AAC doubles it). */
const AAC_FRAME = 1024;

/**
 * Seconds of audio the longest sound track's sample tables describe: the larger
 * of Σ stts (count × delta) / timescale and stsz count × 1024 / timescale.
 * Undefined when the file has no readable `moov` (the decoder then fails anyway).
 */
export function mp4TableSeconds(bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const moov = findBox(bytes, view, 0, bytes.length, 'moov');
  if (!moov) return undefined;
  let longest: number | undefined;
  for (const trak of boxes(bytes, view, moov.start, moov.end)) {
    if (trak.type !== 'trak') continue;
    const mdia = findBox(bytes, view, trak.start, trak.end, 'mdia');
    if (!mdia) continue;
    const mdhd = findBox(bytes, view, mdia.start, mdia.end, 'mdhd');
    const minf = findBox(bytes, view, mdia.start, mdia.end, 'minf');
    const stbl = minf && findBox(bytes, view, minf.start, minf.end, 'stbl');
    if (!mdhd || !stbl || mdhd.end - mdhd.start < 24) continue;
    const version = bytes[mdhd.start]!;
    const timescale = view.getUint32(mdhd.start + (version === 1 ? 20 : 12));
    if (!(timescale > 0)) continue;
    let ticks = 0;
    const stts = findBox(bytes, view, stbl.start, stbl.end, 'stts');
    if (stts && stts.end - stts.start >= 8) {
      const entries = view.getUint32(stts.start + 4);
      for (let i = 0; i < entries; i++) {
        const at = stts.start + 8 + i * 8;
        if (at + 8 > stts.end) break;
        ticks += view.getUint32(at) * view.getUint32(at + 4);
      }
    }
    let frames = 0;
    const stsz = findBox(bytes, view, stbl.start, stbl.end, 'stsz');
    if (stsz && stsz.end - stsz.start >= 12) frames = view.getUint32(stsz.start + 8);
    const seconds = Math.max(ticks, frames * AAC_FRAME) / timescale;
    longest = Math.max(longest ?? 0, seconds);
  }
  return longest;
}

interface Box {
  type: string;
  /** Offset of the body (after the header). */
  start: number;
  end: number;
}

function* boxes(bytes: Uint8Array, view: DataView, from: number, to: number): Generator<Box> {
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) return;
      size = view.getUint32(at + 8) * 2 ** 32 + view.getUint32(at + 12);
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header) return;
    const type = String.fromCharCode(
      bytes[at + 4]!,
      bytes[at + 5]!,
      bytes[at + 6]!,
      bytes[at + 7]!,
    );
    yield { type, start: at + header, end: Math.min(to, at + size) };
    at += size;
  }
}

function findBox(
  bytes: Uint8Array,
  view: DataView,
  from: number,
  to: number,
  type: string,
): Box | undefined {
  for (const box of boxes(bytes, view, from, to)) if (box.type === type) return box;
  return undefined;
}
