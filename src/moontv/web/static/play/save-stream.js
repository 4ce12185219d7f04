/* Saving a browser download through the save worker (/download-stream/sw.js): the page registers a one-use
   random id with the worker, opens /download-stream/<id>/<name> in a hidden frame, and feeds the worker's
   ReadableStream one chunk per pull, so only a chunk or two is ever in memory. */
const SCRIPT = "/download-stream/sw.js";
const SCOPE = "/download-stream/";
const STEP_TIMEOUT_MS = 15_000;
let workerPromise = null;

export const streamSupported = () =>
  Boolean(window.isSecureContext && "serviceWorker" in navigator && window.ReadableStream && window.MessageChannel);

function withTimeout(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out`)), STEP_TIMEOUT_MS); });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function activeWorker() {
  const registration = await navigator.serviceWorker.register(SCRIPT, { scope: SCOPE });
  const worker = registration.active || registration.waiting || registration.installing;
  if (!worker) throw new Error("no save worker");
  if (worker.state !== "activated") {
    await new Promise((resolve, reject) => {
      worker.addEventListener("statechange", () => {
        if (worker.state === "activated") resolve();
        else if (worker.state === "redundant") reject(new Error("save worker failed"));
      });
    });
  }
  return worker;
}

function worker() {
  if (!workerPromise) workerPromise = withTimeout(activeWorker(), "save worker").catch((e) => { workerPromise = null; throw e; });
  return workerPromise;
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A failure before any byte went out: nothing was written, a Blob can still be saved instead. */
function unavailable(error) {
  const e = new Error(String(error && error.message ? error.message : error));
  e.name = "SaveWorkerUnavailable";
  throw e;
}

/** Waits for the first message on `port` that has `key`; rejects on "refused". */
function reply(port, key) {
  return new Promise((resolve, reject) => {
    const listener = ({ data }) => {
      if (data && data.refused) reject(new Error("save worker refused the download"));
      else if (data && data[key]) { port.removeEventListener("message", listener); resolve(); }
    };
    port.addEventListener("message", listener);
    port.start();
  });
}

/** Streams `chunks` (an async iterator of Uint8Array) to a download named `name`; resolves with the byte
    count once the last chunk is handed over. Throws a SaveWorkerUnavailable error when the worker cannot be
    used; nothing was written then and the caller falls back to a Blob. */
export async function streamToDownload(chunks, name, mime) {
  const sw = await worker().catch(unavailable);
  const id = randomId();
  const channel = new MessageChannel();
  const port = channel.port1;
  const registered = reply(port, "registered");
  sw.postMessage({ type: "register", id, name, mime }, [channel.port2]);
  await withTimeout(registered, "save worker").catch(unavailable);
  const started = reply(port, "started");
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.src = `${SCOPE}${id}/${encodeURIComponent(name)}`;
  document.body.append(frame);
  const ping = setInterval(() => sw.postMessage({ type: "ping" }), 10_000);
  const pumped = pump(port, chunks);
  try {
    await withTimeout(started, "save worker").catch(unavailable);
    return await pumped;
  } finally {
    clearInterval(ping);
    setTimeout(() => frame.remove(), 1_000);
  }
}

function pump(port, chunks) {
  let written = 0;
  return new Promise((resolve, reject) => {
    port.addEventListener("message", async ({ data }) => {
      if (data && data.cancel) { reject(new DOMException("cancelled", "AbortError")); return; }
      if (!data || !data.pull) return;
      try {
        const { value, done } = await chunks.next();
        if (done) {
          port.postMessage({ done: true });
          resolve(written);
          return;
        }
        const buffer = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value.buffer : value.slice().buffer;
        written += buffer.byteLength;
        port.postMessage({ chunk: buffer }, [buffer]);
      } catch (e) {
        port.postMessage({ abort: true });
        reject(e);
      }
    });
  });
}
