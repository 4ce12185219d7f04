/* MoonTV web UI: shared helpers (boot data, i18n, API calls, DOM building, cards) and the site chrome
   (user menu, settings, password dialog, service worker). Page scripts use window.MoonTV.
   Upstream strings only ever reach the page through textContent / attributes, never as HTML. */
(() => {
  "use strict";

  const bootNode = document.getElementById("boot");
  const boot = bootNode ? JSON.parse(bootNode.textContent || "{}") : {};
  const I18N = boot.i18n || {};

  function t(key, vars) {
    let text = Object.prototype.hasOwnProperty.call(I18N, key) ? I18N[key] : key;
    if (vars) for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value));
    return text;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function icon(name, cls = "icon") {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", cls);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(SVG, "use");
    use.setAttribute("href", `${boot.icons || "/static/icons.svg"}#i-${name}`);
    svg.append(use);
    return svg;
  }

  // ---- preferences (localStorage keys of the original client) ----
  const PREF_DEFAULTS = {
    defaultAggregateSearch: true,
    defaultStreamSearch: true,
    enableSearchSuggestions: true,
    requestTimeout: null,
    enable_blockad: true,
    enablePreferBestSource: false,
    doubanImageProxyType: null,
    doubanImageProxyUrl: "",
    tvMode: null,
    simpleMode: false,
  };
  function pref(name) {
    let raw = null;
    try { raw = localStorage.getItem(name); } catch (e) { /* storage disabled */ }
    if (raw === null) return Object.prototype.hasOwnProperty.call(PREF_DEFAULTS, name) ? PREF_DEFAULTS[name] : null;
    try { return JSON.parse(raw); } catch (e) { return raw; }
  }
  function setPref(name, value) {
    try {
      if (value === null || value === undefined || value === "") localStorage.removeItem(name);
      else localStorage.setItem(name, typeof value === "string" ? value : JSON.stringify(value));
    } catch (e) { /* storage full or disabled */ }
  }
  function setCookie(name, value) {
    document.cookie = `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=31536000; SameSite=Lax`;
  }

  // ---- toasts and confirmation ----
  /* A short message; with ``action`` ({ label, run }) it carries a button (e.g. undo) and stays longer.
     ``group`` names a kind of message: a new one replaces the older of its group (no stale toasts). */
  function toast(message, kind = "info", ms = 2600, { action = null, group = "" } = {}) {
    const box = document.getElementById("toasts");
    if (!box || !message) return null;
    if (group) clearToasts(group);
    const node = el("div", { class: `toast toast-${kind}`, "data-group": group || null }, el("span", { text: message }));
    if (action) {
      node.append(el("button", { type: "button", class: "toast-action", text: action.label, onclick: () => { node.remove(); action.run(); } }));
      ms = Math.max(ms, 6000);
    }
    box.append(node);
    setTimeout(() => node.remove(), ms);
    return node;
  }
  function clearToasts(group = "") {
    const box = document.getElementById("toasts");
    if (!box) return;
    for (const node of box.querySelectorAll(group ? `.toast[data-group="${CSS.escape(group)}"]` : ".toast")) node.remove();
  }
  function confirmDialog(text) {
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(window.confirm(text));
    dialog.querySelector("#confirm-text").textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  // ---- API ----
  // Reads an NDJSON response body line by line; a broken line is skipped.
  async function readNdjson(response, onMessage) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const emit = (line) => {
      if (!line) return;
      let msg;
      try { msg = JSON.parse(line); } catch (e) { return; }
      try { onMessage(msg); } catch (e) { console.error(e); }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        emit(buffer.slice(0, nl).trim());
        buffer = buffer.slice(nl + 1);
      }
    }
    emit(buffer.trim());
  }

  function goLogin() {
    location.href = "/login?redirect=" + encodeURIComponent(location.pathname + location.search);
  }
  async function api(path, options = {}) {
    const { method = "GET", body, signal, keepalive, quiet } = options;
    const init = { method, credentials: "same-origin", signal, keepalive, headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      if (!quiet) toast(t("network_error"), "error");
      throw err;
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const message = (data && data.error) || `HTTP ${response.status}`;
      if (response.status === 401 && message === "Unauthorized") goLogin();
      else if (!quiet) toast(message, "error");
      const err = new Error(message);
      err.status = response.status;
      throw err;
    }
    return data;
  }

  // ---- images (Douban image URL rewriting, lazy loading, fallbacks) ----
  function imageUrl(url) {
    if (typeof url !== "string" || !/^https?:\/\//i.test(url.trim())) return "";
    url = url.trim();
    if (!url.includes("doubanio.com")) return url;
    const proxy = boot.imageProxy || {};
    const type = pref("doubanImageProxyType") || proxy.type || "server";
    const custom = pref("doubanImageProxyUrl") || proxy.url || "";
    switch (type) {
      case "server": return "/api/image-proxy?url=" + encodeURIComponent(url);
      case "img3": return url.replace(/img\d+\.doubanio\.com/, "img3.doubanio.com");
      case "cmliussss-cdn-tencent": return url.replace(/img\d+\.doubanio\.com/, "img.doubanio.cmliussss.net");
      case "cmliussss-cdn-ali": return url.replace(/img\d+\.doubanio\.com/, "img.doubanio.cmliussss.com");
      case "custom": return custom ? custom + encodeURIComponent(url) : url;
      default: return url;
    }
  }
  function wireImage(img, original) {
    const fail = () => {
      if (original && !img.dataset.retried && img.getAttribute("src") !== original) {
        img.dataset.retried = "1";
        img.src = original;  // proxy missing or failing: the direct URL, without a referrer
      } else {
        img.remove();  // the placeholder stays
      }
    };
    img.addEventListener("load", () => img.classList.add("is-loaded"));
    img.addEventListener("error", fail);
    if (img.complete) {
      if (img.naturalWidth > 0) img.classList.add("is-loaded");
      else if (img.getAttribute("src")) fail();
    }
  }
  function poster(url, title, cls = "poster") {
    const box = el("div", { class: `${cls} hue-${hueOf(title)}` },
      el("span", { class: "poster-initial", "aria-hidden": "true", text: (title || "?").slice(0, 1) }));
    const src = imageUrl(url);
    if (src) {
      const img = el("img", { class: "poster-img", src, alt: "", loading: "lazy", decoding: "async", referrerpolicy: "no-referrer" });
      wireImage(img, src !== url ? url : "");
      box.append(img);
    }
    return box;
  }
  function hueOf(text) {
    let h = 0;
    for (const ch of String(text || "")) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return h % 12;
  }

  // ---- cards ----
  function playHref(p) {
    const params = new URLSearchParams();
    for (const name of ["source", "id", "title", "year", "stitle", "stype", "prefer"]) {
      const value = p[name];
      if (value === undefined || value === null || value === "" || value === "unknown") continue;
      params.set(name, String(value));
    }
    return "/play?" + params.toString();
  }
  /** A poster card; every text goes through textContent. */
  function card(c) {
    const posterBox = poster(c.poster, c.title);
    if (c.topBadge) posterBox.append(el("span", { class: "badge badge-top", text: c.topBadge, title: c.topBadgeTitle || null }));
    if (c.rate) posterBox.append(el("span", { class: "badge badge-rate", text: `★ ${c.rate}` }));
    if (c.epBadge) posterBox.append(el("span", { class: "badge badge-ep", text: c.epBadge }));
    const meta = el("p", { class: "card-meta" });
    for (const part of c.meta || []) if (part) meta.append(el("span", { text: part }));
    const body = el("div", { class: "card-body" }, el("h3", { class: "card-title", text: c.title, title: c.title }), meta);
    if (c.sources && c.sources.length) body.append(el("div", { class: "card-sources" }, c.sources.slice(0, 4).map((s) => el("span", { text: s }))));
    const node = el("article", { class: "card", "data-key": c.key || null, "data-kind": c.kind || null },
      el("a", { class: "card-link", href: c.href }, posterBox, body));
    return node;
  }

  function fmtTime(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) seconds = 0;
    seconds = Math.floor(seconds);
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const mm = String(m).padStart(h ? 2 : 2, "0");
    return (h ? `${h}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
  }

  function initCards(root = document) {
    for (const bar of root.querySelectorAll(".progress > i[data-pct]")) bar.style.width = `${Math.min(100, Number(bar.dataset.pct) || 0)}%`;
    for (const img of root.querySelectorAll("img[data-img]")) {
      img.removeAttribute("data-img");
      wireImage(img, img.dataset.fallback || "");
    }
  }

  // ---- chrome: user menu, dialogs, settings ----
  // ---- 10-foot mode: a big screen without a mouse (a TV browser), or chosen with ?tv=on|off|auto ----
  const TV_QUERY = "(min-width: 1800px) and (hover: none), (min-width: 1800px) and (pointer: coarse)";
  function applyTvMode() {
    const asked = new URLSearchParams(location.search).get("tv");
    if (asked === "on" || asked === "off") setPref("tvMode", asked);
    else if (asked === "auto") setPref("tvMode", null);
    const choice = pref("tvMode");
    const auto = typeof window.matchMedia === "function" && window.matchMedia(TV_QUERY).matches;
    const on = choice === "on" || (choice !== "off" && auto);
    if (on) document.documentElement.dataset.tv = "";
    else delete document.documentElement.dataset.tv;
  }
  applyTvMode();
  document.documentElement.classList.toggle("simple-mode", Boolean(pref("simpleMode")));
  if (typeof window.matchMedia === "function") window.matchMedia(TV_QUERY).addEventListener("change", applyTvMode);

  /* Arrow keys, Home and End move focus among ``items`` (a menu's roving focus). */
  function rovingKeys(container, items) {
    container.addEventListener("keydown", (ev) => {
      const list = items().filter((item) => !item.hidden && !item.disabled);
      const index = list.indexOf(document.activeElement);
      let next = null;
      if (ev.key === "ArrowDown") next = list[(index + 1) % list.length];
      else if (ev.key === "ArrowUp") next = list[(index - 1 + list.length) % list.length];
      else if (ev.key === "Home") next = list[0];
      else if (ev.key === "End") next = list[list.length - 1];
      if (!next) return;
      ev.preventDefault();
      ev.stopPropagation();
      next.focus();
    });
  }

  function initUserMenu() {
    const button = document.getElementById("user-button");
    const menu = document.getElementById("user-menu");
    if (!button || !menu) return;
    const items = () => [...menu.querySelectorAll("[role=menuitem]")];
    for (const item of items()) item.tabIndex = -1;
    rovingKeys(menu, items);
    menu.addEventListener("keydown", (ev) => {
      if (ev.key === "Tab") { menu.hidden = true; button.setAttribute("aria-expanded", "false"); }
    });
    button.addEventListener("keydown", (ev) => {
      if ((ev.key === "ArrowDown" || ev.key === "ArrowUp") && menu.hidden) { ev.preventDefault(); button.click(); }
    });
    const close = () => { menu.hidden = true; button.setAttribute("aria-expanded", "false"); };
    button.addEventListener("click", (ev) => {
      ev.stopPropagation();
      const open = menu.hidden;
      menu.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      if (open) { const first = menu.querySelector("[role=menuitem]"); if (first) first.focus(); }
    });
    document.addEventListener("click", (ev) => { if (!menu.hidden && !menu.contains(ev.target)) close(); });
    document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && !menu.hidden) { close(); button.focus(); } });
    for (const item of menu.querySelectorAll("[data-open]")) {
      item.addEventListener("click", () => {
        close();
        const dialog = document.getElementById(item.dataset.open);
        if (dialog) { dialog.dispatchEvent(new Event("beforeopen")); dialog.showModal(); }
      });
    }
    const logout = document.getElementById("logout-button");
    if (logout) logout.addEventListener("click", async () => {
      try { await api("/api/logout", { method: "POST", quiet: true }); } catch (e) { /* signed out anyway */ }
      location.href = "/login";
    });
  }

  const BOOL_PREFS = ["defaultAggregateSearch", "defaultStreamSearch", "enableSearchSuggestions", "enable_blockad", "enablePreferBestSource", "simpleMode"];
  function initSettings() {
    const dialog = document.getElementById("settings-dialog");
    const form = document.getElementById("settings-form");
    if (!dialog || !form) return;
    const customRow = form.querySelector("[data-show-if]");
    const syncCustom = () => { customRow.hidden = form.doubanImageProxyType.value !== "custom"; };
    const fill = () => {
      form.theme.value = document.documentElement.dataset.theme || "system";
      form.lang.value = boot.lang || "zh-CN";
      for (const name of BOOL_PREFS) form[name].checked = Boolean(pref(name));
      form.requestTimeout.value = pref("requestTimeout") || "";
      form.doubanImageProxyType.value = pref("doubanImageProxyType") || "";
      form.doubanImageProxyUrl.value = pref("doubanImageProxyUrl") || "";
      form.tvMode.value = pref("tvMode") || "";
      syncCustom();
    };
    dialog.addEventListener("beforeopen", fill);
    form.doubanImageProxyType.addEventListener("change", syncCustom);
    form.addEventListener("submit", (ev) => {
      if (ev.submitter && ev.submitter.value !== "save") return;
      const wasSimple = Boolean(pref("simpleMode"));
      for (const name of BOOL_PREFS) setPref(name, form[name].checked);
      const timeout = Number(form.requestTimeout.value);
      setPref("requestTimeout", timeout >= 1 && timeout <= 60 ? Math.round(timeout) : null);
      setPref("doubanImageProxyType", form.doubanImageProxyType.value || null);
      setPref("doubanImageProxyUrl", form.doubanImageProxyUrl.value.trim() || null);
      setPref("tvMode", form.tvMode.value || null);
      applyTvMode();
      setCookie("theme", form.theme.value);
      document.documentElement.dataset.theme = form.theme.value;
      window.dispatchEvent(new CustomEvent("moontv:settings"));
      if (form.lang.value !== boot.lang || form.simpleMode.checked !== wasSimple) {
        setCookie("lang", form.lang.value);
        location.reload();
        return;
      }
      toast(t("settings_saved"));
    });
    document.getElementById("settings-reset").addEventListener("click", () => {
      for (const name of Object.keys(PREF_DEFAULTS)) setPref(name, null);
      fill();
      form.theme.value = "system";
    });
  }

  function initPassword() {
    const form = document.getElementById("password-form");
    if (!form) return;
    const error = form.querySelector(".form-error");
    form.addEventListener("submit", async (ev) => {
      if (ev.submitter && ev.submitter.value !== "save") return;
      ev.preventDefault();
      error.hidden = true;
      if (form.password.value !== form.repeat.value) {
        error.textContent = t("password_mismatch");
        error.hidden = false;
        return;
      }
      try {
        await api("/api/change-password", { method: "POST", body: { newPassword: form.password.value }, quiet: true });
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        return;
      }
      form.closest("dialog").close();
      toast(t("password_done"));
      await api("/api/logout", { method: "POST", quiet: true }).catch(() => null);
      setTimeout(() => { location.href = "/login"; }, 900);
    });
  }

  function initServiceWorker() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
    window.addEventListener("load", () => {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
    });
  }

  function pingOnline() {
    if (!boot.user) return;
    try {
      if (sessionStorage.getItem("moontv_online")) return;
      sessionStorage.setItem("moontv_online", "1");
    } catch (e) { return; }
    api("/api/user/online", { method: "POST", quiet: true }).catch(() => null);
  }

  window.MoonTV = {
    boot, t, el, icon, api, toast, clearToasts, confirm: confirmDialog, pref, setPref, imageUrl, wireImage, poster, card,
    playHref, fmtTime, hueOf, initCards, goLogin, readNdjson, rovingKeys, applyTvMode,
  };

  function initReload() {
    // "try again" of the offline page: the service worker served it in place of the page asked for
    for (const button of document.querySelectorAll("[data-action=reload]")) button.addEventListener("click", () => location.reload());
  }

  function start() {
    initReload();
    initCards();
    initUserMenu();
    initSettings();
    initPassword();
    initServiceWorker();
    pingOnline();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
