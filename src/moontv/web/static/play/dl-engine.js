/* In-browser download engine: reads an HLS media playlist (through our ad-removing proxy), fetches the chosen
   segments with bounded concurrency and per-segment retries, decrypts AES-128 with WebCrypto, keeps every
   segment in IndexedDB (so pause, resume and a reload lose nothing). dl-output.js builds the file. */

const DB_NAME = "moontv-downloads";
const RETRIES = 3;
const MAX_SEGMENTS = 20000;
let dbPromise = null;

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore("tasks", { keyPath: "id" });
        req.result.createObjectStore("segments");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function run(store, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = work(tx.objectStore(store));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const taskStore = {
  all: () => run("tasks", "readonly", (s) => s.getAll()),
  put: (task) => run("tasks", "readwrite", (s) => s.put(task)),
  remove: async (task) => {
    await run("segments", "readwrite", (s) => s.delete(IDBKeyRange.bound(`${task.id}:`, `${task.id}:\uffff`)));
    await run("tasks", "readwrite", (s) => s.delete(task.id));
  },
};
const segKey = (task, index) => `${task.id}:${String(index).padStart(6, "0")}`;
const putSegment = (task, index, bytes) => run("segments", "readwrite", (s) => s.put(bytes, segKey(task, index)));
export const readSegment = (task, index) => run("segments", "readonly", (s) => s.get(segKey(task, index)));

function attributes(text) {
  const out = {};
  for (const m of text.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[m[1]] = m[2].replace(/^"|"$/g, "");
  return out;
}

/** Segments of a media playlist: {uri, duration, start, seq, key: {uri, iv} | null}. */
export function parseMedia(text, base) {
  if (!text.startsWith("#EXTM3U")) throw new Error("not an m3u8 playlist");
  const segments = [];
  let sequence = 0, key = null, duration = 0, start = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) sequence = parseInt(line.slice(22), 10) || 0;
    else if (line.startsWith("#EXT-X-KEY:")) {
      const a = attributes(line.slice(11));
      if (a.METHOD === "NONE") key = null;
      else if (a.METHOD === "AES-128" && a.URI) key = { uri: new URL(a.URI, base).href, iv: a.IV || "" };
      else throw new Error(`unsupported encryption ${a.METHOD}`);
    } else if (line.startsWith("#EXT-X-MAP")) throw new Error("fMP4 streams are not supported");
    else if (line.startsWith("#EXTINF:")) duration = parseFloat(line.slice(8)) || 0;
    else if (line && !line.startsWith("#")) {
      segments.push({ uri: new URL(line, base).href, duration, start, seq: sequence + segments.length, key });
      start += duration;
      duration = 0;
      if (segments.length > MAX_SEGMENTS) throw new Error("playlist too long");
    }
  }
  if (!segments.length) throw new Error("no segments");
  return segments;
}

async function fetchOk(url, signal, as = "text") {
  const res = await fetch(url, { credentials: "same-origin", signal });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return { url: res.url || url, body: as === "text" ? await res.text() : await res.arrayBuffer() };
}

/** The media playlist's segments; a master playlist resolves to its highest-bandwidth variant. */
export async function loadPlaylist(url, signal) {
  let { url: final, body } = await fetchOk(url, signal);
  if (body.includes("#EXT-X-STREAM-INF")) {
    let best = null, bandwidth = -1;
    const lines = body.split(/\r?\n/);
    lines.forEach((line, i) => {
      if (!line.startsWith("#EXT-X-STREAM-INF:")) return;
      const bw = parseInt(attributes(line.slice(18)).BANDWIDTH, 10) || 0;
      const next = (lines.slice(i + 1).find((l) => l.trim() && !l.startsWith("#")) || "").trim();
      if (next && bw > bandwidth) { best = next; bandwidth = bw; }
    });
    if (!best) throw new Error("empty master playlist");
    ({ url: final, body } = await fetchOk(new URL(best, final).href, signal));
  }
  return parseMedia(body, final);
}

/** 0-based indexes to fetch: the 1-based inclusive range, minus intro/outro seconds per the skip config. */
export function selectSegments(segments, { from = 1, to = 0, intro = 0, outro = 0 } = {}) {
  const total = segments.reduce((sum, s) => sum + s.duration, 0);
  const first = Math.max(1, from | 0) - 1;
  const last = to > 0 ? Math.min(segments.length, to | 0) : segments.length;
  const picked = [];
  for (let i = first; i < last; i++) {
    const s = segments[i];
    if (intro > 0 && s.start + s.duration <= intro + 0.01) continue;
    if (outro > 0 && s.start >= total - outro - 0.01) continue;
    picked.push(i);
  }
  return picked;
}

function ivFor(segment) {
  const iv = new Uint8Array(16);
  const hex = segment.key.iv.replace(/^0x/i, "");
  if (hex) {
    const padded = hex.padStart(32, "0").slice(-32);
    for (let i = 0; i < 16; i++) iv[i] = parseInt(padded.slice(i * 2, i * 2 + 2), 16);
  } else {
    let n = segment.seq;
    for (let i = 15; i >= 0 && n > 0; i--) { iv[i] = n % 256; n = Math.floor(n / 256); }
  }
  return iv;
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
});

/** Runs one task until it is done, paused (abort) or a segment fails after its retries. */
export class TaskRunner {
  constructor(task, onChange) {
    this.task = task;
    this.onChange = onChange;
    this.controller = new AbortController();
    this.keys = new Map();
  }

  pause() { this.controller.abort(new DOMException("paused", "AbortError")); }

  async key(segment, signal) {
    if (!this.keys.has(segment.key.uri)) {
      this.keys.set(segment.key.uri, fetchOk(segment.key.uri, signal, "bytes").then(({ body }) => {
        if (body.byteLength !== 16) throw new Error("bad AES-128 key");
        return crypto.subtle.importKey("raw", body, "AES-CBC", false, ["decrypt"]);
      }));
    }
    return this.keys.get(segment.key.uri);
  }

  async fetchSegment(segment, signal) {
    let lastError = null;
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      try {
        if (attempt) await sleep(400 * attempt, signal);
        let { body } = await fetchOk(segment.uri, signal, "bytes");
        if (segment.key) {
          body = await crypto.subtle.decrypt({ name: "AES-CBC", iv: ivFor(segment) }, await this.key(segment, signal), body);
        }
        return body;
      } catch (e) {
        if (signal.aborted) throw e;
        lastError = e;
        if (segment.key) this.keys.delete(segment.key.uri);
      }
    }
    throw lastError;
  }

  async start() {
    const { task } = this;
    const signal = this.controller.signal;
    task.status = "running";
    task.error = "";
    this.onChange(task);
    try {
      const segments = await loadPlaylist(task.url, signal);
      if (!task.indexes) {
        task.indexes = selectSegments(segments, task.options);
        task.done = [];
        if (!task.indexes.length) throw new Error("no segments in the chosen range");
      }
      if (task.indexes.some((i) => i >= segments.length)) throw new Error("the playlist changed");
      const done = new Set(task.done);
      const pending = task.indexes.filter((i) => !done.has(i));
      const failed = [];
      const worker = async () => {
        while (pending.length && !signal.aborted) {
          const index = pending.shift();
          try {
            const bytes = await this.fetchSegment(segments[index], signal);
            await putSegment(task, index, bytes);
            task.done.push(index);
            task.bytes = (task.bytes || 0) + bytes.byteLength;
            this.onChange(task);
          } catch (e) {
            if (signal.aborted) return;
            failed.push(index);
          }
        }
      };
      const lanes = Math.max(1, Math.min(16, task.options.concurrency | 0 || 4));
      await Promise.all(Array.from({ length: lanes }, worker));
      if (signal.aborted) task.status = "paused";
      else if (failed.length) { task.status = "failed"; task.error = `${failed.length}`; }
      else task.status = "done";
    } catch (e) {
      task.status = signal.aborted ? "paused" : "failed";
      task.error = signal.aborted ? "" : String(e && e.message ? e.message : e);
    }
    this.onChange(task);
  }
}
