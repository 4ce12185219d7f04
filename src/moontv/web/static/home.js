/* Home: tabs, continue-watching / favorites actions, Douban rows (hidden when that API is missing), announcement. */
(() => {
  "use strict";
  const M = window.MoonTV;
  const { t, api } = M;
  const page = M.boot.page || {};
  const favorites = new Set(page.favoriteKeys || []);

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
      try {
        if (on) await api("/api/favorites", { method: "POST", body: { key, favorite: favoritePayload(card) } });
        else await api(`/api/favorites?key=${encodeURIComponent(key)}`, { method: "DELETE" });
      } catch (err) {
        on ? favorites.delete(key) : favorites.add(key);
        syncFavorite(key);
      }
    } else if (action === "remove-record" && card) {
      const key = card.dataset.key;
      try { await api(`/api/playrecords?key=${encodeURIComponent(key)}`, { method: "DELETE" }); } catch (err) { return; }
      for (const c of cardsFor(key)) if (c.dataset.kind === "record") removeCard(c);
    } else if (action === "clear-records" || action === "clear-favorites") {
      const records = action === "clear-records";
      if (!(await M.confirm(t(records ? "clear_confirm_history" : "clear_confirm_favorites")))) return;
      try { await api(records ? "/api/playrecords" : "/api/favorites", { method: "DELETE" }); } catch (err) { return; }
      location.reload();
    }
  });
  for (const key of new Set([...document.querySelectorAll(".card[data-key]")].map((c) => c.dataset.key))) syncFavorite(key);

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
  for (const shelf of document.querySelectorAll(".douban-shelf")) loadShelf(shelf);

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
  if (bangumi) loadBangumi(bangumi);

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
