/* The finished file of a browser download: the task's segments in order, as MPEG-TS or transmuxed to a
   fragmented MP4 by mux.js (one fragment per HLS segment) whose header carries the real duration. Either all
   at once in a Blob, or chunk by chunk holding one segment at a time (for the streaming save paths). */
import { readSegment } from "./dl-engine.js";
import { addFragmentDurations, trexDefaults, withDurations } from "./mp4-duration.js";

let muxLoading = null;
function loadMux(src) {
  if (window.muxjs) return Promise.resolve(window.muxjs);
  if (!muxLoading) {
    muxLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => (window.muxjs ? resolve(window.muxjs) : reject(new Error("mux.js missing")));
      script.onerror = () => { muxLoading = null; reject(new Error("mux.js failed to load")); };
      document.head.append(script);
    });
  }
  return muxLoading;
}

async function* segments(task) {
  for (const index of task.indexes) {
    const part = await readSegment(task, index);
    if (!part) throw new Error(`segment ${index + 1} is missing`);
    yield new Uint8Array(part);
  }
}

/** mux.js output segments ({initSegment, data}), one flush per HLS segment; timestamps start at 0. */
async function* fragments(task, muxjs) {
  const transmuxer = new muxjs.mp4.Transmuxer({ remux: true, keepOriginalTimestamps: false });
  let ready = [];
  transmuxer.on("data", (segment) => ready.push(segment));
  for await (const part of segments(task)) {
    transmuxer.push(part);
    transmuxer.flush();
    const out = ready;
    ready = [];
    yield* out;
  }
}

function countDurations(segment, totals, state) {
  if (!state.defaults) state.defaults = trexDefaults(segment.initSegment);
  addFragmentDurations(segment.data, totals, state.defaults);
}

/** The file chunk by chunk. MP4 is transmuxed twice: its header, written first, needs the total duration. */
export async function* outputChunks(task, muxSrc) {
  if (task.format !== "mp4") {
    yield* segments(task);
    return;
  }
  const muxjs = await loadMux(muxSrc);
  const totals = new Map();
  const state = {};
  for await (const segment of fragments(task, muxjs)) countDurations(segment, totals, state);
  let first = true;
  for await (const segment of fragments(task, muxjs)) {
    if (first) yield withDurations(segment.initSegment, totals);
    first = false;
    yield segment.data;
  }
  if (first) throw new Error("nothing to transmux");
}

/** The whole file as one Blob (one transmux pass); the same bytes as outputChunks. */
export async function outputBlob(task, muxSrc) {
  if (task.format !== "mp4") {
    const parts = [];
    for await (const part of segments(task)) parts.push(part);
    return new Blob(parts, { type: "video/mp2t" });
  }
  const muxjs = await loadMux(muxSrc);
  const totals = new Map();
  const state = {};
  let init = null;
  const parts = [];
  for await (const segment of fragments(task, muxjs)) {
    if (!init) init = segment.initSegment;
    countDurations(segment, totals, state);
    parts.push(segment.data);
  }
  if (!init) throw new Error("nothing to transmux");
  return new Blob([withDurations(init, totals), ...parts], { type: "video/mp4" });
}

export const mimeType = (task) => (task.format === "mp4" ? "video/mp4" : "video/mp2t");
