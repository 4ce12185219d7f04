/* Search page: history chips, suggestions, streaming results (NDJSON), aggregation, filters, sorting. */
(() => {
  "use strict";
  const M = window.MoonTV;
  const { t, el, api, pref } = M;
  const page = M.boot.page || {};
  const q = (page.q || "").trim();
  const params = page.params || {};

  const form = document.getElementById("search-form");
  const input = document.getElementById("search-input");
  const clearButton = document.getElementById("search-clear");

  // ---- input, clear button, suggestions ----
  const suggestList = document.getElementById("suggest-list");
  let suggestTimer = 0;
  let suggestAbort = null;
  let suggestions = [];
  let activeSuggestion = -1;

  function hideSuggestions() {
    suggestList.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    activeSuggestion = -1;
  }
  function renderSuggestions() {
    if (!suggestions.length || document.activeElement !== input) { hideSuggestions(); return; }
    suggestList.replaceChildren(...suggestions.map((text, i) => {
      const item = el("li", { id: `suggest-${i}`, role: "option", "aria-selected": String(i === activeSuggestion) }, M.icon("search"), el("span", { text }));
      item.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(text); });
      return item;
    }));
    suggestList.hidden = false;
    input.setAttribute("aria-expanded", "true");
    if (activeSuggestion >= 0) input.setAttribute("aria-activedescendant", `suggest-${activeSuggestion}`);
  }
  function choose(text) {
    input.value = text;
    hideSuggestions();
    form.requestSubmit();
  }
  async function fetchSuggestions(value) {
    if (suggestAbort) suggestAbort.abort();
    suggestAbort = new AbortController();
    try {
      const res = await fetch(`/api/search/suggestions?q=${encodeURIComponent(value)}`, { credentials: "same-origin", signal: suggestAbort.signal });
      if (!res.ok) return;
      const data = await res.json();
      const seen = new Set();
      const found = [];
      for (const s of (data && Array.isArray(data.suggestions)) ? data.suggestions : []) {
        const text = s && typeof s.text === "string" ? s.text : "";
        if (text && !seen.has(text.toLowerCase())) { seen.add(text.toLowerCase()); found.push(text); }
      }
      if (input.value.trim() !== value) return;
      suggestions = found.slice(0, 8);
      activeSuggestion = -1;
      renderSuggestions();
    } catch (e) { /* aborted or offline: no suggestions */ }
  }
  input.addEventListener("input", () => {
    clearButton.hidden = !input.value;
    clearTimeout(suggestTimer);
    const value = input.value.trim();
    if (!value || !pref("enableSearchSuggestions")) { suggestions = []; hideSuggestions(); return; }
    suggestTimer = setTimeout(() => fetchSuggestions(value), 300);
  });
  input.addEventListener("keydown", (ev) => {
    if (suggestList.hidden) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const n = suggestions.length;
      activeSuggestion = ev.key === "ArrowDown" ? (activeSuggestion + 1) % n : (activeSuggestion - 1 + n) % n;
      renderSuggestions();
    } else if (ev.key === "Enter" && activeSuggestion >= 0) {
      ev.preventDefault();
      choose(suggestions[activeSuggestion]);
    } else if (ev.key === "Escape") {
      hideSuggestions();
    }
  });
  input.addEventListener("blur", () => setTimeout(hideSuggestions, 100));
  clearButton.addEventListener("click", () => { input.value = ""; clearButton.hidden = true; hideSuggestions(); input.focus(); });
  form.addEventListener("submit", (ev) => { if (!input.value.trim()) { ev.preventDefault(); input.focus(); } });

  // ---- search history chips (page without a query) ----
  const historyBox = document.getElementById("search-history");
  if (historyBox) {
    historyBox.addEventListener("click", async (ev) => {
      const x = ev.target.closest(".chip-x");
      if (!x) return;
      try { await api(`/api/searchhistory?keyword=${encodeURIComponent(x.dataset.keyword)}`, { method: "DELETE" }); } catch (e) { return; }
      x.closest(".chip").remove();
      if (!historyBox.querySelector(".chip")) historyBox.hidden = true;
    });
    document.getElementById("history-clear").addEventListener("click", async () => {
      if (!(await M.confirm(t("clear_confirm_search")))) return;
      try { await api("/api/searchhistory", { method: "DELETE" }); } catch (e) { return; }
      historyBox.hidden = true;
      document.getElementById("history-chips").replaceChildren();
    });
  }
  if (!q) return;

  // ---- results ----
  const PAGE = 20;
  const state = {
    results: [],
    failed: [],
    answered: new Set(),
    done: false,
    error: "",
    aggregate: Boolean(pref("defaultAggregateSearch")),
    sort: ["sources", "year", "episodes"].includes(params.sort) ? params.sort : "sources",
    order: params.order === "asc" ? "asc" : "desc",
    filters: { source: params.filter_sources || "", title: params.titles || "", year: params.years || "" },
    shown: PAGE,
  };
  const known = new Set((page.sources || []).map((s) => s.key));
  const savedSources = Array.isArray(pref("savedSources")) ? pref("savedSources").filter((key) => known.has(key)) : [];
  const asked = (params.sources || "").split(",").filter(Boolean);
  const selected = asked.length ? asked : savedSources;
  const totalSources = selected.length ? selected.length : (page.sources || []).length;

  const $ = (id) => document.getElementById(id);
  const exactGrid = $("results-exact");
  const othersGrid = $("results-others");
  const othersHeading = $("others-heading");
  const skeleton = $("results-skeleton");
  const emptyBox = $("results-empty");
  const statusText = $("search-status-text");
  const spinner = $("search-spinner");
  const failedWrap = $("failed-wrap");
  const failedButton = $("failed-button");
  const failedList = $("failed-list");
  const aggregateToggle = $("aggregate-toggle");
  const sortSelect = $("sort-select");
  const orderButton = $("order-button");
  const filterSelects = { source: $("filter-source"), title: $("filter-title"), year: $("filter-year") };

  aggregateToggle.checked = state.aggregate;
  sortSelect.value = state.sort;

  const norm = (title) => String(title || "").replace(/\s+/g, "");
  const kindOf = (item) => ((item.episodes || []).length === 1 ? "movie" : "tv");
  const yearNum = (y) => (/^\d{4}$/.test(String(y || "")) ? Number(y) : null);

  function groupsOf(results) {
    if (!state.aggregate) return results.map((item) => ({ key: `${item.source}+${item.id}`, items: [item] }));
    const map = new Map();
    for (const item of results) {
      const key = `${norm(item.title)}-${item.year || "unknown"}-${kindOf(item)}`;
      if (!map.has(key)) map.set(key, { key, items: [] });
      const group = map.get(key);
      if (!group.items.some((x) => x.source === item.source && x.id === item.id)) group.items.push(item);
    }
    return [...map.values()];
  }
  function mostFrequent(values) {
    const counts = new Map();
    let best = values[0];
    let bestCount = 0;
    for (const v of values) {
      const c = (counts.get(v) || 0) + 1;
      counts.set(v, c);
      if (c > bestCount) { best = v; bestCount = c; }
    }
    return best;
  }
  function compare(a, b) {
    let d = 0;
    if (state.sort === "year") {
      const ya = yearNum(a.items[0].year);
      const yb = yearNum(b.items[0].year);
      if (ya === null && yb === null) d = 0;
      else if (ya === null) return 1;  // unknown years always last
      else if (yb === null) return -1;
      else d = ya - yb;
    } else if (state.sort === "episodes") {
      d = Math.max(...a.items.map((x) => (x.episodes || []).length)) - Math.max(...b.items.map((x) => (x.episodes || []).length));
    } else {
      d = a.items.length - b.items.length;
    }
    if (state.order === "desc") d = -d;
    return d || String(a.items[0].title).localeCompare(String(b.items[0].title));
  }
  function applyFilters(groups) {
    const { source, title, year } = state.filters;
    const out = [];
    for (const group of groups) {
      if (source && !group.items.some((x) => x.source_name === source)) continue;
      const items = group.items.filter((x) => (!title || x.title === title) && (!year || String(x.year || "unknown") === year));
      if (items.length) out.push({ key: group.key, items });
    }
    return out;
  }

  const cardCache = new Map();
  function cardFor(group) {
    const items = group.items;
    const first = items[0];
    const signature = items.map((x) => `${x.source}+${x.id}`).join(",");
    const cacheKey = `${state.aggregate ? "a" : "s"}|${group.key}`;
    const cached = cardCache.get(cacheKey);
    if (cached && cached.signature === signature) return cached.node;
    const episodes = mostFrequent(items.map((x) => (x.episodes || []).length));
    const posterItem = items.find((x) => x.poster) || first;
    const aggregated = state.aggregate && items.length > 1;
    const names = [...new Set(items.map((x) => x.source_name))];
    const node = M.card({
      key: `${first.source}+${first.id}`,
      href: M.playHref({
        source: first.source, id: first.id, title: first.title, year: first.year,
        stitle: q !== first.title ? q : "", stype: episodes === 1 ? "movie" : "tv", prefer: aggregated ? "true" : "",
      }),
      title: first.title,
      poster: posterItem.poster,
      topBadge: aggregated ? t("n_sources", { n: names.length }) : first.source_name,
      topBadgeTitle: names.join(" / "),
      epBadge: episodes > 1 ? t("episodes_count", { n: episodes }) : "",
      meta: [first.year && first.year !== "unknown" ? first.year : "", aggregated ? first.type_name : first.source_name],
      sources: aggregated ? names : [],
    });
    cardCache.set(cacheKey, { signature, node });
    return node;
  }

  function fillSelect(select, values, current, label) {
    const wanted = ["", ...values];
    const have = [...select.options].map((o) => o.value);
    if (wanted.length === have.length && wanted.every((v, i) => v === have[i])) return;
    select.replaceChildren(el("option", { value: "", text: t("filter_all") }),
      ...values.map((v) => el("option", { value: v, text: label ? label(v) : v })));
    select.value = values.includes(current) ? current : "";
  }

  function reasonClass(reason) {
    if (reason === "结果被过滤" || reason === "无搜索结果") return "reason reason-muted";
    if (reason === "请求超时") return "reason reason-warn";
    return "reason";
  }

  function syncUrl() {
    const url = new URL(location.href);
    const set = (name, value, fallback) => { if (value && value !== fallback) url.searchParams.set(name, value); else url.searchParams.delete(name); };
    set("filter_sources", state.filters.source);
    set("titles", state.filters.title);
    set("years", state.filters.year);
    set("sort", state.sort, "sources");
    set("order", state.order, "desc");
    history.replaceState(null, "", url);
  }

  let frame = 0;
  function schedule() { if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); }); }

  function render() {
    const results = state.results;
    fillSelect(filterSelects.source, [...new Set(results.map((x) => x.source_name))].sort(), state.filters.source);
    fillSelect(filterSelects.title, [...new Set(results.map((x) => x.title))].sort((a, b) => a.localeCompare(b)), state.filters.title);
    const years = [...new Set(results.map((x) => String(x.year || "unknown")))].sort((a, b) => (b === "unknown" ? -1 : a === "unknown" ? 1 : b.localeCompare(a)));
    fillSelect(filterSelects.year, years, state.filters.year, (y) => (y === "unknown" ? t("unknown_year") : y));

    const groups = applyFilters(groupsOf(results));
    const needle = q.toLowerCase();
    const exact = [];
    const others = [];
    for (const g of groups) (String(g.items[0].title).toLowerCase().includes(needle) ? exact : others).push(g);
    exact.sort(compare);
    others.sort(compare);
    const visibleExact = exact.slice(0, state.shown);
    const visibleOthers = others.slice(0, Math.max(0, state.shown - exact.length));
    exactGrid.replaceChildren(...visibleExact.map(cardFor));
    othersGrid.replaceChildren(...visibleOthers.map(cardFor));
    othersHeading.hidden = visibleOthers.length === 0 || visibleExact.length === 0;
    const hasMore = visibleExact.length + visibleOthers.length < groups.length;
    if (hasMore && $("scroll-sentinel").getBoundingClientRect().top < window.innerHeight + 800) {
      state.shown += PAGE;  // the sentinel is still in view: keep filling the screen
      schedule();
    }

    const count = groups.length;
    skeleton.hidden = results.length > 0 || state.done;
    spinner.hidden = state.done;
    const done = Math.min(state.answered.size, totalSources);
    statusText.replaceChildren();
    if (state.error) statusText.append(state.error);
    else if (!state.done) {
      statusText.append(t("search_searching"), " ", el("strong", { text: t("search_sources_done", { done, total: totalSources }) }));
      if (count) statusText.append(" · ", t("search_results_count", { n: count }));
    } else {
      statusText.append(el("strong", { text: t("search_results_count", { n: count }) }));
    }
    emptyBox.hidden = !(state.done && count === 0);
    if (!emptyBox.hidden) $("results-empty-text").textContent = state.error || t("search_no_results", { q });

    failedWrap.hidden = state.failed.length === 0;
    if (state.failed.length) {
      $("failed-label").textContent = t("failed_sources", { n: state.failed.length });
      $("failed-items").replaceChildren(...state.failed.map((f) =>
        el("li", { "data-source": f.key }, el("span", { text: f.name || f.key }), el("span", { class: reasonClass(f.error), text: f.error }))));
    }
  }

  function handleLine(message) {
    if (!message || typeof message !== "object") return;
    if (Array.isArray(message.pageResults)) {
      if (message.site) state.answered.add(message.site);
      state.results.push(...message.pageResults.filter((x) => x && typeof x === "object" && x.title));
    } else if (Array.isArray(message.failedSources)) {
      state.failed = message.failedSources;
      for (const f of state.failed) state.answered.add(f.key);
    }
    schedule();
  }

  async function runSearch() {
    const query = new URLSearchParams({ q });
    const timeout = Number(pref("requestTimeout"));
    if (timeout >= 1 && timeout <= 60) query.set("timeout", String(timeout));
    if (selected.length) query.set("sources", selected.join(","));
    const stream = Boolean(pref("defaultStreamSearch"));
    if (stream) query.set("stream", "1");
    try {
      const res = await fetch(`/api/search?${query}`, { credentials: "same-origin" });
      if (res.status === 401) { M.goLogin(); return; }
      if (!res.ok) {
        const data = await res.json().catch(() => ({}));
        state.error = data.error || `HTTP ${res.status}`;
      } else if (!stream || !res.body) {
        const data = await res.json();
        handleLine({ pageResults: data.results || [] });
        handleLine({ failedSources: data.failedSources || [] });
      } else {
        await M.readNdjson(res, handleLine);
      }
    } catch (e) {
      state.error = t("network_error");
    }
    state.done = true;
    render();
  }

  // ---- controls ----
  aggregateToggle.addEventListener("change", () => { state.aggregate = aggregateToggle.checked; state.shown = PAGE; render(); });
  sortSelect.addEventListener("change", () => { state.sort = sortSelect.value; syncUrl(); render(); });
  function syncOrder() {
    orderButton.dataset.order = state.order;
    orderButton.textContent = t(state.order === "desc" ? "order_desc" : "order_asc");
  }
  orderButton.addEventListener("click", () => { state.order = state.order === "desc" ? "asc" : "desc"; syncOrder(); syncUrl(); render(); });
  syncOrder();
  for (const [name, select] of Object.entries(filterSelects)) {
    select.addEventListener("change", () => { state.filters[name] = select.value; state.shown = PAGE; syncUrl(); render(); });
  }
  failedButton.addEventListener("click", (ev) => {
    ev.stopPropagation();
    failedList.hidden = !failedList.hidden;
    failedButton.setAttribute("aria-expanded", String(!failedList.hidden));
  });
  const closeFailed = () => { failedList.hidden = true; failedButton.setAttribute("aria-expanded", "false"); };
  document.addEventListener("click", (ev) => { if (!failedList.hidden && !failedList.contains(ev.target)) closeFailed(); });
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && !failedList.hidden) { closeFailed(); failedButton.focus(); } });
  if ("IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && state.results.length) { state.shown += PAGE; schedule(); }
    }, { rootMargin: "800px 0px" }).observe($("scroll-sentinel"));
  } else {
    state.shown = 10000;
  }

  api("/api/searchhistory", { method: "POST", body: { keyword: q }, quiet: true }).catch(() => null);
  render();
  runSearch();
})();
