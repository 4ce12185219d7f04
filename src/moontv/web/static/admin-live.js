/* Admin panel, live sources: add/edit/enable/disable/delete/sort, refresh (reload + channel count +
   health check), per-channel health, and the web live switch. Writes carry the config version. */
(() => {
  "use strict";
  const M = window.MoonTV;
  const section = document.getElementById("section-live");
  if (!M || !section) return;
  const { el, toast } = M;
  const $ = (sel) => section.querySelector(sel);
  let lives = [];
  let version = null;
  let orderDirty = false;

  async function call(path, body, method = "POST") {
    const payload = body === undefined ? undefined : { ...body, version };
    const res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: payload ? { "Content-Type": "application/json" } : {},
      body: payload ? JSON.stringify(payload) : undefined,
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      toast(data.error || `HTTP ${res.status}`, "error", 4000);
      if (res.status === 409) await load();
      throw new Error(data.error || String(res.status));
    }
    if (typeof data.version === "number") version = data.version;
    return data;
  }

  async function load() {
    const [live, config] = await Promise.all([
      fetch("/api/admin/live", { credentials: "same-origin", cache: "no-store" }).then((r) => r.json()),
      fetch("/api/admin/config", { credentials: "same-origin", cache: "no-store" }).then((r) => r.json()),
    ]);
    lives = live.lives || [];
    version = live.version;
    $("#live-web-enabled").checked = config.Config && config.Config.SiteConfig.WebLiveEnabled !== false;
    render();
  }

  function render() {
    const body = $("#live-table tbody");
    body.replaceChildren(...lives.map((s) => {
      const h = s.health || {};
      return el("tr", { "data-key": s.key, class: s.disabled ? "is-disabled" : null },
        el("td", { text: s.name }),
        el("td", {}, el("code", { text: s.key })),
        el("td", { class: "url", text: s.url, title: s.url }),
        el("td", { text: String(s.channelNumber || 0) }),
        el("td", {}, h.checked ? [el("span", { class: "pill pill-ok", text: String(h.alive) }), " / ",
          el("span", { class: h.dead ? "pill pill-failed" : "pill", text: String(h.dead) })] : el("span", { class: "muted", text: "未检测" })),
        el("td", {}, el("span", { class: s.disabled ? "pill pill-off" : "pill pill-on", text: s.disabled ? "已禁用" : "启用中" })),
        el("td", { class: "row-actions" },
          el("button", { type: "button", class: "btn btn-sm", "data-act": "up", "aria-label": "上移", text: "↑" }),
          el("button", { type: "button", class: "btn btn-sm", "data-act": "down", "aria-label": "下移", text: "↓" }),
          el("button", { type: "button", class: "btn btn-sm", "data-act": "refresh", text: "刷新" }),
          el("button", { type: "button", class: "btn btn-sm", "data-act": "health", text: "检测频道" }),
          el("button", { type: "button", class: "btn btn-sm", "data-act": s.disabled ? "enable" : "disable", text: s.disabled ? "启用" : "禁用" }),
          s.from === "config" ? el("span", { class: "muted", text: "配置文件" })
            : el("button", { type: "button", class: "btn btn-sm btn-danger", "data-act": "delete", text: "删除" })));
    }));
    orderDirty = false;
    $("#live-save-order").hidden = true;
  }

  async function showHealth(key) {
    const data = await fetch(`/api/admin/live/health?source=${encodeURIComponent(key)}`, { credentials: "same-origin" }).then((r) => r.json());
    const panel = $("#live-health");
    const sum = data.summary || {};
    $("#live-health-title").textContent = `${key}：可用 ${sum.alive || 0}，失效 ${sum.dead || 0}，已检测 ${sum.checked || 0}`;
    $("#live-health-table tbody").replaceChildren(...(data.channels || []).slice(0, 1000).map((c) => el("tr", {},
      el("td", { text: c.name }), el("td", { text: c.group }),
      el("td", {}, c.urls.map((u) => el("div", { class: "url", title: u.url },
        el("span", { class: u.ok === true ? "pill pill-ok" : u.ok === false ? "pill pill-failed" : "pill",
          text: u.ok === true ? `${u.latencyMs} ms` : u.ok === false ? (u.error || "失效") : "未检测" }), " ", u.url))))));
    panel.hidden = false;
  }

  $("#live-table tbody").addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-act]");
    if (!button) return;
    const row = button.closest("tr");
    const key = row.dataset.key;
    const act = button.dataset.act;
    if (act === "up" || act === "down") {
      const sibling = act === "up" ? row.previousElementSibling : row.nextElementSibling;
      if (sibling) act === "up" ? sibling.before(row) : sibling.after(row);
      orderDirty = true;
      $("#live-save-order").hidden = false;
      return;
    }
    button.disabled = true;
    try {
      if (act === "refresh") {
        const data = await call("/api/admin/live/refresh", { key });
        const r = data.results[key] || {};
        toast(r.error ? `${key}: ${r.error}` : `${key}: ${r.channels} 个频道，可用 ${r.alive}，失效 ${r.dead}`, r.error ? "error" : "success");
      } else if (act === "health") {
        await call("/api/admin/live/health", { key });
        await showHealth(key);
      } else {
        if (act === "delete" && !(await M.confirm(`确定删除直播源 ${key} 吗？`))) return;
        await call("/api/admin/live", { action: act, key });
      }
      await load();
    } catch (e) { /* reported */ } finally { button.disabled = false; }
  });

  $("#live-save-order").addEventListener("click", async () => {
    if (!orderDirty) return;
    const order = Array.from(section.querySelectorAll("#live-table tbody tr")).map((r) => r.dataset.key);
    try { await call("/api/admin/live", { action: "sort", order }); toast("排序已保存", "success"); await load(); } catch (e) { /* reported */ }
  });

  $("#live-refresh-all").addEventListener("click", async (ev) => {
    ev.target.disabled = true;
    try {
      const data = await call("/api/admin/live/refresh", {});
      const failed = Object.entries(data.results).filter(([, r]) => r.error);
      toast(failed.length ? `刷新完成，${failed.length} 个直播源失败` : "刷新完成", failed.length ? "error" : "success");
      await load();
    } catch (e) { /* reported */ } finally { ev.target.disabled = false; }
  });

  $("#live-web-enabled").addEventListener("change", async (ev) => {
    try { await call("/api/admin/site", { WebLiveEnabled: ev.target.checked }); toast("已保存", "success"); } catch (e) { ev.target.checked = !ev.target.checked; }
  });

  $("#live-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const body = Object.fromEntries(new FormData(form).entries());
    if (!body.name || !body.key || !body.url) { toast("请填写名称、Key 和地址", "error"); return; }
    try { await call("/api/admin/live", { action: "add", ...body }); form.reset(); toast("已添加", "success"); await load(); } catch (e) { /* reported */ }
  });

  $("#live-access-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(ev.target).entries());
    const keys = String(data.keys || "").split(/[,，\s]+/).filter(Boolean);
    if (!data.target) { toast("请填写用户名或组名", "error"); return; }
    try {
      await call("/api/admin/live/access", { [data.kind === "group" ? "group" : "username"]: data.target, keys });
      toast(keys.length ? "已限制可用直播源" : "已取消限制", "success");
    } catch (e) { /* reported */ }
  });

  load().catch(() => {});
})();
