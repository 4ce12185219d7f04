/* The 下载 tab's "download in this browser" choice: a queue of tasks (one runs at a time) kept in
   IndexedDB, with pause/resume, retry of failed segments, and saving through the File System Access API,
   the save worker's stream (big files without a file picker) or a Blob; the row says which. The fetching
   itself is dl-engine.js, the file dl-output.js. */
import { S, $, t, el, playerToast, episodesOf, safeUrl } from "./state.js";
import { TaskRunner, taskStore } from "./dl-engine.js";
import { outputBlob, outputChunks, mimeType } from "./dl-output.js";
import { streamSupported, streamToDownload } from "./save-stream.js";

const form = $("browser-download-form");
const list = $("browser-download-list");
const tasks = new Map();
let runner = null;

const supported = () => Boolean(window.indexedDB && window.crypto && crypto.subtle);
const mb = (bytes) => `${((bytes || 0) / 1048576).toFixed(1)} MB`;
const fileName = (task) => `${task.title} ${task.episodeTitle}.${task.format}`.replace(/[\\/:*?"<>|]+/g, "_").trim();
const sorted = () => [...tasks.values()].sort((a, b) => a.createdAt - b.createdAt);

function persist(task) { return taskStore.put({ ...task }).catch(() => null); }

function pump() {
  if (runner) return;
  const next = sorted().find((task) => task.status === "queued");
  if (!next) return;
  runner = new TaskRunner(next, (task) => { persist(task); render(); });
  runner.start().finally(() => { runner = null; render(); pump(); });
}

function setStatus(task, status) {
  task.status = status;
  persist(task);
  render();
  pump();
}

function pause(task) {
  if (runner && runner.task === task) runner.pause();
  else setStatus(task, "paused");
}

async function remove(task) {
  if (runner && runner.task === task) runner.pause();
  tasks.delete(task.id);
  render();
  await taskStore.remove(task).catch(() => null);
}

const SAVE_PREF = "moontv_bdl_save";
const STREAM_MIN_BYTES = 256 * 1048576; // below this a Blob is simplest; above it memory stays bounded
const saveChoice = $("bdl-save");

/** How a finished task is saved: the user's choice, else the file picker, else a stream for big files. */
function saveMethod(task) {
  const wanted = saveChoice.value;
  if (wanted === "blob") return "blob";
  if (wanted === "stream") return streamSupported() ? "stream" : "blob";
  if (window.showSaveFilePicker) return "picker";
  return streamSupported() && (task.bytes || 0) >= STREAM_MIN_BYTES ? "stream" : "blob";
}

async function saveToPicker(handle, task) {
  const writable = await handle.createWritable();
  let written = 0;
  try {
    for await (const chunk of outputChunks(task, form.dataset.muxSrc)) {
      await writable.write(chunk);
      written += chunk.byteLength;
    }
    await writable.close();
  } catch (e) {
    await writable.abort().catch(() => null);
    throw e;
  }
  return written;
}

async function saveBlob(task) {
  const blob = await outputBlob(task, form.dataset.muxSrc);
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: fileName(task), hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

/** Saves through `method`, falling back to a Blob when the picker or the worker cannot be used; returns
    [method used, bytes] or null when the user cancelled the picker. */
async function saveVia(method, task) {
  if (method === "picker") {
    let handle = null;
    try {
      handle = await window.showSaveFilePicker({ suggestedName: fileName(task) });
    } catch (e) {
      if (e && e.name === "AbortError") return null;
      /* not allowed here (e.g. no user activation left): a Blob instead */
    }
    if (handle) return ["picker", await saveToPicker(handle, task)];
  } else if (method === "stream") {
    try {
      return ["stream", await streamToDownload(outputChunks(task, form.dataset.muxSrc), fileName(task), mimeType(task))];
    } catch (e) {
      if (!e || e.name !== "SaveWorkerUnavailable") throw e;
    }
  }
  return ["blob", await saveBlob(task)];
}

async function save(task, item) {
  playerToast(t("bdl_saving"));
  try {
    const saved = await saveVia(saveMethod(task), task);
    if (!saved) return;
    const [method, bytes] = saved;
    item.dataset.bytes = String(bytes); // what was handed to the browser, and how, for anyone checking
    item.dataset.saved = method;
    task.savedVia = method;
    persist(task);
    render();
    playerToast(t("bdl_saved"));
  } catch (e) {
    playerToast(String(e && e.message ? e.message : e));
  }
}

function button(label, onclick, extra = {}) {
  return el("button", { type: "button", class: "btn btn-soft", text: label, onclick, ...extra });
}

function detail(task) {
  const total = task.indexes ? task.indexes.length : 0;
  const parts = [t(`bdl_status_${task.status}`)];
  if (total) parts.push(t("bdl_segments", { done: task.done.length, total }));
  parts.push(mb(task.bytes));
  if (task.status === "done") parts.push(t(task.savedVia ? "bdl_saved_via" : "bdl_save_via", { method: t(`bdl_method_${task.savedVia || saveMethod(task)}`) }));
  if (task.status === "failed") parts.push(/^\d+$/.test(task.error) ? t("bdl_failed_segments", { n: task.error }) : task.error);
  return parts.join(" · ");
}

function renderTask(task) {
  const total = task.indexes ? task.indexes.length : 0;
  const percent = total ? Math.round((task.done.length / total) * 100) : 0;
  const item = el("li", { class: "download-item", "data-status": task.status, "data-id": task.id });
  if (task.status === "done") item.dataset.save = task.savedVia || saveMethod(task);
  const actions = el("span", { class: "download-actions" });
  if (task.status === "running" || task.status === "queued") actions.append(button(t("bdl_pause"), () => pause(task), { "data-act": "pause" }));
  if (task.status === "paused") actions.append(button(t("bdl_resume"), () => setStatus(task, "queued"), { "data-act": "resume" }));
  if (task.status === "failed") actions.append(button(t("bdl_retry"), () => setStatus(task, "queued"), { "data-act": "retry" }));
  if (task.status === "done") actions.append(button(t("bdl_save"), () => save(task, item), { "data-act": "save", class: "btn btn-primary" }));
  actions.append(button(t("bdl_delete"), () => remove(task), { "data-act": "delete" }));
  const fill = el("span");
  fill.style.width = `${percent}%`;
  item.append(
    el("strong", { text: `${task.title} ${task.episodeTitle} · ${task.format.toUpperCase()}` }),
    el("span", { class: "muted", text: detail(task) }),
    el("div", { class: "download-bar", role: "progressbar", "aria-label": task.title, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent) }, fill),
    actions);
  return item;
}

/** Updates a task's row in place while its status is unchanged (its buttons stay put and keep focus). */
function patch(item, task) {
  const total = task.indexes ? task.indexes.length : 0;
  const percent = total ? Math.round((task.done.length / total) * 100) : 0;
  item.querySelector(".muted").textContent = detail(task);
  if (task.status === "done") item.dataset.save = task.savedVia || saveMethod(task);
  const bar = item.querySelector('[role="progressbar"]');
  bar.setAttribute("aria-valuenow", String(percent));
  bar.firstChild.style.width = `${percent}%`;
  return item;
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const all = sorted();
    if (!all.length) { list.replaceChildren(el("li", { class: "muted", text: t(supported() ? "bdl_empty" : "bdl_unsupported") })); return; }
    const rows = new Map([...list.querySelectorAll("li[data-id]")].map((li) => [li.dataset.id, li]));
    const items = all.map((task) => {
      const row = rows.get(task.id);
      return row && row.dataset.status === task.status ? patch(row, task) : renderTask(task);
    });
    if (items.length !== list.children.length || items.some((item, i) => list.children[i] !== item)) list.replaceChildren(...items);
  });
}

const number = (id, lo, hi, fallback) => {
  const value = parseInt($(id).value, 10);
  return Number.isFinite(value) ? Math.min(hi, Math.max(lo, value)) : fallback;
};

function newTask() {
  const episode = episodesOf(S.current)[S.episode];
  const direct = safeUrl(episode);
  if (!direct) return null;
  const titles = Array.isArray(S.current.episodes_titles) ? S.current.episodes_titles : [];
  const skip = $("bdl-skip").checked && S.skip && S.skip.enable ? S.skip : null;
  return {
    id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    createdAt: Date.now(),
    title: S.current.title || S.title,
    episodeTitle: titles[S.episode] || `${S.episode + 1}`,
    // always through our proxy: it removes the ads and signs segment/key URLs for CDNs without CORS
    url: `/api/proxy/m3u8?url=${encodeURIComponent(direct)}&source=${encodeURIComponent(S.current.source)}`,
    format: $("bdl-format").value === "mp4" ? "mp4" : "ts",
    options: {
      concurrency: number("bdl-concurrency", 1, 16, 6),
      from: number("bdl-from", 1, 1e6, 1),
      to: number("bdl-to", 0, 1e6, 0),
      intro: skip ? Math.max(0, Number(skip.intro_time) || 0) : 0,
      outro: skip ? Math.max(0, -(Number(skip.outro_time) || 0)) : 0,
    },
    status: "queued",
    indexes: null,
    done: [],
    bytes: 0,
    error: "",
  };
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (!supported() || !S.current) return;
  const task = newTask();
  if (!task) return;
  tasks.set(task.id, task);
  persist(task);
  render();
  pump();
});

async function restore() {
  if (!supported()) { $("browser-download-start").disabled = true; render(); return; }
  try {
    for (const task of await taskStore.all()) {
      // a task that was running when the page went away resumes only when asked to
      if (task.status === "running" || task.status === "queued") task.status = "paused";
      tasks.set(task.id, task);
    }
  } catch (e) { /* private mode without IndexedDB: the list stays empty */ }
  render();
}

try { saveChoice.value = localStorage.getItem(SAVE_PREF) || "auto"; } catch (e) { /* private mode */ }
if (!saveChoice.value) saveChoice.value = "auto";
saveChoice.addEventListener("change", () => {
  try { localStorage.setItem(SAVE_PREF, saveChoice.value); } catch (e) { /* private mode */ }
  for (const task of tasks.values()) delete task.savedVia; // the row shows the new choice
  render();
});

document.addEventListener("moontv:side", (ev) => { if (ev.detail.name === "downloads") render(); });
restore();
