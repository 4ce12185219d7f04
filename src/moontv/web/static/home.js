/* Home: tabs, continue-watching / favorites actions, Douban rows (hidden when that API is missing), announcement. */
(() => {
  "use strict";
  const M = window.MoonTV;
  const { t, api } = M;
  const page = M.boot.page || {};
  const favorites = new Set(page.favoriteKeys || []);

  // simple mode: no 首页 tab (so no Douban or Bangumi rows); 历史 is the default
  const simple = Boolean(M.pref("simpleMode"));
  if (simple) document.getElementById("tab-home")?.remove();

  // ---- tabs ----
  const tabs = [...document.querySelectorAll(".tabs [data-tab]")];
  function selectTab(name, push) {
    for (const tab of tabs) {
      const on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(`panel-${tab.dataset.tab}`).hidden = !on;
    }
    if (push) history.replaceState(null, "", name === "home" ? "/" : `/?tab=${name}`);
  }
  for (const link of document.querySelectorAll("[data-tab]")) {
    link.addEventListener("click", (ev) => { ev.preventDefault(); selectTab(link.dataset.tab, true); window.scrollTo({ top: 0 }); });
  }
  document.querySelector(".tabs")?.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
    const index = tabs.findIndex((tab) => tab.getAttribute("aria-selected") === "true");
    const next = tabs[(index + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    selectTab(next.dataset.tab, true);
    next.focus();
  });
  const homePanel = document.getElementById("panel-home");
  if (simple && homePanel && !homePanel.hidden) {
    homePanel.hidden = true;
    selectTab("history", false);
    const main = document.querySelector(".home");
    // the welcome heading is in the hidden panel: the page keeps a (visually hidden) h1
    if (main && !main.querySelector(":scope > h1")) main.prepend(M.el("h1", { class: "sr-only", text: M.boot.siteName || document.title }));
  }

  // ---- card actions ----
  function cardsFor(key) { return [...document.querySelectorAll(`.card[data-key="${CSS.escape(key)}"]`)]; }
  function syncFavorite(key) {
    for (const card of cardsFor(key)) {
      const button = card.querySelector(".fav-btn");
      if (!button) continue;
      const on = favorites.has(key);
      button.setAttribute("aria-pressed", String(on));
      const label = on ? t("remove_favorite") : t("add_favorite");
      button.setAttribute("aria-label", label);
      button.title = label;
    }
  }
  function removeCard(card) {
    card.classList.add("is-removing");
    setTimeout(() => {
      const shelf = card.closest(".shelf, .tab-panel");
      card.remove();
      if (shelf && shelf.classList.contains("shelf") && !shelf.querySelector(".card")) shelf.remove();
    }, 200);
  }
  /* Deleting waits for the undo toast: the cards hide at once, the DELETE is sent when the toast times
     out (or the page is left); "undo" brings the cards back and nothing is deleted. */
  const pendingDeletes = new Map();
  function removeLater(key, cards, url, message) {
    if (pendingDeletes.has(key)) return;
    const next = nextFocus(cards[0]);
    for (const c of cards) c.hidden = true;
    if (next) next.focus();
    let settled = false;
    const commit = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pendingDeletes.delete(key);
      fetch(url, { method: "DELETE", credentials: "same-origin", keepalive: true })
        .then((res) => {
          if (!res.ok) throw new Error(String(res.status));
          for (const c of cards) removeCard(c);
        })
        .catch(() => {
          for (const c of cards) c.hidden = false;
          M.toast(t("network_error"), "error");
        });
    };
    const timer = setTimeout(commit, 6000);
    pendingDeletes.set(key, commit);
    M.toast(message, "info", 6000, { group: "undo", action: { label: t("undo"), run: () => {
      settled = true;
      clearTimeout(timer);
      pendingDeletes.delete(key);
      for (const c of cards) c.hidden = false;
      const link = cards[0] && cards[0].querySelector(".card-link");
      if (link) link.focus();
    } } });
  }
  function nextFocus(card) {
    if (!card) return null;
    const sibling = card.nextElementSibling || card.previousElementSibling;
    return sibling ? sibling.querySelector(".card-link") : null;
  }
  window.addEventListener("pagehide", () => { for (const commit of [...pendingDeletes.values()]) commit(); });

  function favoritePayload(card) {
    const d = card.dataset;
    return {
      title: d.title,
      source_name: d.sourceName || d.key.split("+")[0],
      year: d.year || "",
      cover: d.cover || "",
      total_episodes: Number(d.total || 0) || 0,
      save_time: Date.now(),
      search_title: d.searchTitle || "",
    };
  }

  document.addEventListener("click", async (ev) => {
    const button = ev.target.closest("[data-action]");
    if (!button) return;
    const card = button.closest(".card");
    const action = button.dataset.action;
    if (action === "toggle-favorite" && card) {
      const key = card.dataset.key;
      const on = !favorites.has(key);
      on ? favorites.add(key) : favorites.delete(key);
      syncFavorite(key);
      const payload = favoritePayload(card);
      try {
        if (on) await api("/api/favorites", { method: "POST", body: { key, favorite: payload } });
        else await api(`/api/favorites?key=${encodeURIComponent(key)}`, { method: "DELETE" });
      } catch (err) {
        on ? favorites.delete(key) : favorites.add(key);
        syncFavorite(key);
        return;
      }
      if (!on) {
        M.toast(t("favorite_removed"), "info", 6000, { group: "undo", action: { label: t("undo"), run: async () => {
          await api("/api/favorites", { method: "POST", body: { key, favorite: payload } }).catch(() => null);
          favorites.add(key);
          syncFavorite(key);
        } } });
      }
    } else if (action === "remove-record" && card) {
      const key = card.dataset.key;
      const cards = cardsFor(key).filter((c) => c.dataset.kind === "record");
      removeLater(key, cards, `/api/playrecords?key=${encodeURIComponent(key)}`, t("record_removed"));
    } else if (action === "clear-records" || action === "clear-favorites") {
      const records = action === "clear-records";
      if (!(await M.confirm(t(records ? "clear_confirm_history" : "clear_confirm_favorites")))) return;
      try { await api(records ? "/api/playrecords" : "/api/favorites", { method: "DELETE" }); } catch (err) { return; }
      location.reload();
    }
  });
  for (const key of new Set([...document.querySelectorAll(".card[data-key]")].map((c) => c.dataset.key))) syncFavorite(key);
  /* One Tab stop per card (its link); the card's buttons are reached by pointer or spatial navigation, and
     Delete on a focused card removes it from history (or from favorites), with the same undo. */
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Delete" || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const link = ev.target.closest && ev.target.closest(".card[data-kind] .card-link");
    if (!link) return;
    const card = link.closest(".card");
    const button = card.querySelector(card.dataset.kind === "record" ? "[data-action=remove-record]" : ".fav-btn[aria-pressed=true]");
    if (!button) return;
    ev.preventDefault();
    button.click();
  });

  // ---- Douban rows: shown only when /api/douban/* answers ----
  function doubanHref(item, stype) {
    const params = new URLSearchParams({ title: item.title });
    if (item.year) params.set("year", item.year);
    if (stype === "movie") params.set("stype", "movie");
    return `/play?${params}`;
  }
  async function loadShelf(shelf) {
    const { kind, category, type } = shelf.dataset;
    const query = new URLSearchParams({ kind, category, type, limit: "20", start: "0" });
    let data;
    try {
      const res = await fetch(`/api/douban/categories?${query}`, { credentials: "same-origin" });
      if (!res.ok) return;
      data = await res.json();
    } catch (e) {
      return;
    }
    const list = Array.isArray(data && data.list) ? data.list : [];
    const items = list.filter((item) => item && typeof item.title === "string" && item.title);
    if (!items.length) return;
    const scroller = shelf.querySelector(".scroller");
    scroller.replaceChildren(...items.map((item) => M.card({
      href: doubanHref(item, kind === "movie" ? "movie" : ""),
      title: item.title,
      poster: item.poster,
      rate: item.rate && item.rate !== "0" ? String(item.rate) : "",
      meta: [item.year ? String(item.year) : ""],
    })));
    shelf.hidden = false;
  }
  if (!simple) for (const shelf of document.querySelectorAll(".douban-shelf")) loadShelf(shelf);

  // Bangumi: today's new anime episodes (Bangumi numbers the weekdays 1 = Monday ... 7 = Sunday)
  async function loadBangumi(shelf) {
    let days;
    try {
      const res = await fetch("/api/bangumi/calendar", { credentials: "same-origin" });
      if (!res.ok) return;
      days = await res.json();
    } catch (e) {
      return;
    }
    if (!Array.isArray(days)) return;
    const today = new Date().getDay() || 7;
    const day = days.find((d) => d && d.weekday && Number(d.weekday.id) === today);
    const items = (day && Array.isArray(day.items) ? day.items : []).filter((i) => i && typeof i.title === "string" && i.title);
    if (!items.length) return;
    shelf.querySelector(".scroller").replaceChildren(...items.slice(0, 24).map((item) => M.card({
      href: doubanHref(item, ""), title: item.title, poster: item.poster,
      rate: item.rate ? String(item.rate) : "", meta: [item.year ? String(item.year) : ""],
    })));
    shelf.hidden = false;
  }
  const bangumi = document.querySelector(".bangumi-shelf");
  if (bangumi && !simple) loadBangumi(bangumi);

  // ---- announcement ----
  const text = page.announcement || "";
  const dialog = document.getElementById("announcement-dialog");
  let seen = null;
  try { seen = localStorage.getItem("hasSeenAnnouncement"); } catch (e) { seen = text; }
  if (text && seen !== text && dialog && typeof dialog.showModal === "function") {
    document.getElementById("announcement-text").textContent = text;
    dialog.addEventListener("close", () => { try { localStorage.setItem("hasSeenAnnouncement", text); } catch (e) { /* ignore */ } });
    dialog.showModal();
  }
})();
