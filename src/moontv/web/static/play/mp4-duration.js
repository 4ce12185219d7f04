/* The duration of a fragmented MP4 made by mux.js. mux.js writes its init segment before it has seen any
   media, so mvhd, tkhd and mdhd say "unknown" (0xFFFFFFFF). Here the sample durations of every fragment are
   added up per track, and the init segment is rewritten with the real durations and an mvex/mehd box (the
   fragmented file's overall duration), so players and ffprobe know how long the programme is. */

const UNKNOWN = 0xffffffff;
const CONTAINERS = new Set(["moov", "trak", "mdia", "mvex", "moof", "traf"]);

const view = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const typeAt = (bytes, at) => String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);

/** The boxes directly inside bytes[start, end): {type, start, end, body}. */
function children(bytes, start, end) {
  const dv = view(bytes);
  const boxes = [];
  let at = start;
  while (at + 8 <= end) {
    let size = dv.getUint32(at);
    let body = at + 8;
    if (size === 1) {
      size = Number(dv.getBigUint64(at + 8));
      body = at + 16;
    } else if (size === 0) size = end - at;
    if (size < body - at || at + size > end) throw new Error("damaged MP4 box");
    boxes.push({ type: typeAt(bytes, at), start: at, end: at + size, body });
    at += size;
  }
  return boxes;
}

/** Every box under bytes[start, end) whose path of types is `path`, e.g. ["moov", "trak", "tkhd"]. */
function find(bytes, path, start = 0, end = bytes.byteLength) {
  const [first, ...rest] = path;
  const found = [];
  for (const box of children(bytes, start, end)) {
    if (box.type !== first) continue;
    if (!rest.length) found.push(box);
    else if (CONTAINERS.has(box.type)) found.push(...find(bytes, rest, box.body, box.end));
  }
  return found;
}

/** Total sample duration per track id in one or more moof+mdat fragments, added into `totals`. */
export function addFragmentDurations(bytes, totals, trexDefaults = new Map()) {
  const dv = view(bytes);
  for (const traf of find(bytes, ["moof", "traf"])) {
    const [tfhd] = find(bytes, ["tfhd"], traf.body, traf.end);
    if (!tfhd) continue;
    const tfhdFlags = dv.getUint32(tfhd.body) & 0xffffff;
    const track = dv.getUint32(tfhd.body + 4);
    let at = tfhd.body + 8;
    if (tfhdFlags & 0x1) at += 8;
    if (tfhdFlags & 0x2) at += 4;
    const fallback = tfhdFlags & 0x8 ? dv.getUint32(at) : trexDefaults.get(track) || 0;
    let sum = totals.get(track) || 0;
    for (const trun of find(bytes, ["trun"], traf.body, traf.end)) {
      const flags = dv.getUint32(trun.body) & 0xffffff;
      const count = dv.getUint32(trun.body + 4);
      let p = trun.body + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
      const stride = [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length * 4;
      if (p + count * stride > trun.end) throw new Error("damaged MP4 trun");
      for (let i = 0; i < count; i += 1, p += stride) sum += flags & 0x100 ? dv.getUint32(p) : fallback;
    }
    totals.set(track, sum);
  }
  return totals;
}

/** Default sample durations per track from the init segment's mvex/trex boxes. */
export function trexDefaults(init) {
  const dv = view(init);
  const defaults = new Map();
  for (const trex of find(init, ["moov", "mvex", "trex"])) defaults.set(dv.getUint32(trex.body + 4), dv.getUint32(trex.body + 12));
  return defaults;
}

/** Offsets of (timescale, duration) in a version 0/1 mvhd or mdhd, and of duration in a tkhd. */
function headerFields(dv, box) {
  const v1 = dv.getUint8(box.body) === 1;
  if (box.type === "tkhd") return { duration: box.body + (v1 ? 28 : 20), wide: v1 };
  return { timescale: box.body + (v1 ? 20 : 12), duration: box.body + (v1 ? 24 : 16), wide: v1 };
}

function writeDuration(dv, field, value) {
  if (field.wide) dv.setBigUint64(field.duration, BigInt(value));
  else if (value < UNKNOWN) dv.setUint32(field.duration, value);
}

/** A copy of the init segment (ftyp + moov) carrying the durations of `totals` (track id -> media units). */
export function withDurations(init, totals) {
  const bytes = new Uint8Array(init);
  const dv = view(bytes);
  const [mvhd] = find(bytes, ["moov", "mvhd"]);
  if (!mvhd) throw new Error("MP4 without mvhd");
  const movieScale = dv.getUint32(headerFields(dv, mvhd).timescale);
  let movieDuration = 0;
  for (const trak of find(bytes, ["moov", "trak"])) {
    const [tkhd] = find(bytes, ["tkhd"], trak.body, trak.end);
    const [mdhd] = find(bytes, ["mdia", "mdhd"], trak.body, trak.end);
    if (!tkhd || !mdhd) continue;
    const tkhdField = headerFields(dv, tkhd);
    const track = dv.getUint32(tkhdField.duration - 8);
    const media = totals.get(track) || 0;
    const mdhdField = headerFields(dv, mdhd);
    const trackScale = dv.getUint32(mdhdField.timescale);
    const inMovie = Math.round((media * movieScale) / trackScale);
    writeDuration(dv, mdhdField, media);
    writeDuration(dv, tkhdField, inMovie);
    movieDuration = Math.max(movieDuration, inMovie);
  }
  writeDuration(dv, headerFields(dv, mvhd), movieDuration);
  const [moov] = find(bytes, ["moov"]);
  const [mvex] = find(bytes, ["moov", "mvex"]);
  if (!mvex || find(bytes, ["mehd"], mvex.body, mvex.end).length || movieDuration >= UNKNOWN) return bytes;
  // insert mvex/mehd (version 0: a 32-bit fragment duration) and grow moov and mvex by its 16 bytes
  const mehd = new Uint8Array(16);
  const m = view(mehd);
  m.setUint32(0, 16);
  mehd.set([0x6d, 0x65, 0x68, 0x64], 4);
  m.setUint32(12, movieDuration);
  const out = new Uint8Array(bytes.byteLength + 16);
  out.set(bytes.subarray(0, mvex.body));
  out.set(mehd, mvex.body);
  out.set(bytes.subarray(mvex.body), mvex.body + 16);
  const o = view(out);
  for (const box of [moov, mvex]) {
    if (o.getUint32(box.start) === 1) throw new Error("64-bit moov size");
    o.setUint32(box.start, o.getUint32(box.start) + 16);
  }
  return out;
}
