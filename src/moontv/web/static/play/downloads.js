/* Server-side downloads (the 下载 tab): queue the current episode, follow every task over server-sent
   events while the tab is open, save finished files, delete tasks. */
import { S, $, t, el, api, playerToast } from "./state.js";

let events = null;

const mb = (bytes) => `${(bytes / 1048576).toFixed(bytes >= 1048576 * 100 ? 0 : 1)} MB`;

function render(data) {
  const tasks = Array.isArray(data.tasks) ? data.tasks : [];
  $("download-count").textContent = tasks.filter((x) => x.status === "queued" || x.status === "running").length || "";
  if (data.usage) $("download-usage").textContent = t("download_usage", { used: mb(data.usage.bytes), quota: mb(data.usage.quota) });
  const list = $("download-list");
  if (!tasks.length) { list.replaceChildren(el("li", { class: "muted", text: t("download_empty") })); return; }
  list.replaceChildren(...tasks.map((task) => {
    const percent = Math.round((task.progress || 0) * 100);
    const actions = el("span", { class: "download-actions" });
    if (task.status === "done") {
      actions.append(el("a", { class: "btn btn-soft", href: `/api/downloads/${encodeURIComponent(task.id)}/file`, download: task.fileName, text: t("download_file") }));
    }
    actions.append(el("button", {
      type: "button", class: "btn btn-soft", text: t("download_delete"),
      onclick: () => api(`/api/downloads/${encodeURIComponent(task.id)}`, { method: "DELETE" }).then(refresh).catch(() => null),
    }));
    const fill = el("span");
    fill.style.width = `${percent}%`; // CSSOM, allowed by the style-src policy (a style attribute is not)
    const detail = task.status === "failed" ? task.error : task.status === "done" ? mb(task.size) : `${percent}% · ${mb(task.part_bytes)}`;
    return el("li", { class: "download-item", "data-status": task.status, "data-id": task.id },
      el("strong", { text: `${task.title} ${task.episode_title}` }),
      el("span", { class: "muted", text: `${t(`download_status_${task.status}`)} · ${detail}` }),
      el("div", { class: "download-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent) },
        fill),
      actions);
  }));
}

async function refresh() {
  try { render(await api("/api/downloads", { quiet: true })); } catch (e) { /* shown on the next event */ }
}

function follow(on) {
  if (on && !events && window.EventSource) {
    events = new EventSource("/api/downloads/events");
    events.onmessage = (ev) => { try { render(JSON.parse(ev.data)); } catch (e) { /* ignore */ } };
  } else if (!on && events) { events.close(); events = null; }
}

$("download-episode").addEventListener("click", async () => {
  if (!S.current) return;
  const button = $("download-episode");
  button.disabled = true;
  try {
    await api("/api/downloads", { method: "POST", body: { source: S.current.source, id: String(S.current.id), episode: S.episode } });
    playerToast(t("download_queued"));
    refresh();
  } catch (e) { /* the server's message is shown by api() */ }
  finally { button.disabled = false; }
});

document.addEventListener("moontv:side", (ev) => {
  const open = ev.detail.name === "downloads";
  follow(open);
  if (open) refresh();
});
window.addEventListener("pagehide", () => follow(false));
