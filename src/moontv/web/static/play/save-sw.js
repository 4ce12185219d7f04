/* MoonTV save worker, scope /download-stream/: turns a stream of bytes posted by the play page into a file
   download, so a big browser download is written out chunk by chunk instead of held in one Blob.
   It serves only what a page of this site registered: an unguessable id (128 random bits), used once,
   forgotten after a minute when unused. Every other request in its scope is a 404. */
"use strict";
const PREFIX = "/download-stream/";
const ID = /^[A-Za-z0-9_-]{22}$/;
const TTL_MS = 60_000;
const MAX_PENDING = 8;
const pending = new Map();

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function forgetExpired() {
  const now = Date.now();
  for (const [id, entry] of pending) {
    if (entry.expires < now) {
      pending.delete(id);
      entry.port.close();
    }
  }
}

function contentDisposition(name) {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** A stream fed over the page's MessagePort, one chunk per pull: the page never runs ahead of the disk. */
function portStream(port, onEnd) {
  let waiting = null;
  return new ReadableStream({
    start(controller) {
      port.onmessage = ({ data }) => {
        if (data && data.chunk instanceof ArrayBuffer) controller.enqueue(new Uint8Array(data.chunk));
        else if (data && data.done) { controller.close(); onEnd(); }
        else { controller.error(new Error("download aborted")); onEnd(); }
        if (waiting) { waiting(); waiting = null; }
      };
    },
    pull() {
      return new Promise((resolve) => {
        waiting = resolve;
        port.postMessage({ pull: true });
      });
    },
    cancel() {
      port.postMessage({ cancel: true });
      port.close();
      onEnd();
    },
  }, { highWaterMark: 1 });
}

self.addEventListener("message", (event) => {
  const data = event.data;
  const port = event.ports && event.ports[0];
  const fromPage = event.source && event.source.type === "window" && new URL(event.source.url).origin === self.location.origin;
  if (!fromPage || !data || typeof data !== "object") return;
  if (data.type === "ping") return; // keeps the worker alive while a download runs
  if (data.type !== "register" || !port) return;
  forgetExpired();
  const name = String(data.name || "download").slice(0, 200);
  const type = /^[a-z]+\/[a-z0-9.+-]+$/.test(String(data.mime)) ? data.mime : "application/octet-stream";
  if (!ID.test(String(data.id)) || pending.has(data.id) || pending.size >= MAX_PENDING) {
    port.postMessage({ refused: true });
    return;
  }
  pending.set(data.id, { port, name, type, expires: Date.now() + TTL_MS });
  port.postMessage({ registered: true });
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(PREFIX)) return;
  forgetExpired();
  const id = url.pathname.slice(PREFIX.length).split("/")[0];
  const entry = event.request.method === "GET" && ID.test(id) ? pending.get(id) : undefined;
  if (!entry) {
    event.respondWith(new Response("Not found", { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } }));
    return;
  }
  pending.delete(id); // one use
  let ended = null;
  const stream = portStream(entry.port, () => ended && ended());
  event.waitUntil(new Promise((resolve) => { ended = resolve; }));
  entry.port.postMessage({ started: true });
  event.respondWith(new Response(stream, {
    headers: {
      "Content-Type": entry.type,
      "Content-Disposition": contentDisposition(entry.name),
      "Content-Security-Policy": "default-src 'none'; sandbox",
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "no-store",
    },
  }));
});
