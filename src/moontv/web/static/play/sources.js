/* Sources (换源): finds the sources that carry the title (streaming search), starts the first or the wanted
   one, switches between them and ranks them with the server's speed test. */
import { S, $, M, t, el, api, pref, params as P, video, keyOf, currentKey, norm, episodesOf, showError } from "./state.js";
import { loadUrl } from "./core.js";
import { playEpisode, renderInfo } from "./episodes.js";
import { renderSkip } from "./skip.js";
import { renderFavorite, favoritePayload } from "./favorite.js";

function matches(item) {
  if (!item || typeof item !== "object" || !item.source || !item.id) return false;
  if (norm(item.title) !== norm(S.title)) return false;
  if (S.year && String(item.year || "").toLowerCase() !== S.year.toLowerCase()) return false;
  const n = episodesOf(item).length;
  if (!n) return false;
  if (S.stype === "tv" && n <= 1) return false;
  if (S.stype === "movie" && n !== 1) return false;
  return true;
}
function addCandidate(item, first = false) {
  if (S.candidates.some((c) => keyOf(c) === keyOf(item))) return false;
  if (first) S.candidates.unshift(item);
  else S.candidates.push(item);
  return true;
}

async function loadDetail() {
  try {
    const detail = await api(`/api/detail?source=${encodeURIComponent(P.source)}&id=${encodeURIComponent(P.id)}`, { quiet: true });
    if (detail && episodesOf(detail).length) {
      addCandidate(detail, true);
      renderSources();
      if (!S.current) start(detail);
    }
  } catch (e) { /* the search below still finds it */ }
}

async function streamCandidates() {
  const query = new URLSearchParams({ q: S.title, stream: "1" });
  const timeout = Number(pref("requestTimeout"));
  if (timeout >= 1 && timeout <= 60) query.set("timeout", String(timeout));
  const preferBest = Boolean(pref("enablePreferBestSource"));
  const onItems = (items) => {
    let added = false;
    for (const item of items) if (matches(item) && addCandidate(item)) added = true;
    if (!added) return;
    renderSources();
    if (S.current) return;
    const wanted = S.wanted && S.candidates.find((c) => keyOf(c) === S.wanted);
    if (wanted) start(wanted);
    else if (!S.wanted && !preferBest) start(S.candidates[0]);
  };
  try {
    const res = await fetch(`/api/search?${query}`, { credentials: "same-origin" });
    if (res.status === 401) { M.goLogin(); return; }
    if (res.ok && res.body) {
      await M.readNdjson(res, (msg) => {
        if (msg && Array.isArray(msg.pageResults)) onItems(msg.pageResults);
      });
    }
  } catch (e) { /* network: whatever was found is used */ }
  S.searchDone = true;
}

export async function resolve() {
  if (!P.source && !P.id && !P.title && !P.stitle) {
    showError(t("play_missing_params"), "", { canSwitch: false, canRetry: false });
    return;
  }
  $("search-link").href = `/search?q=${encodeURIComponent(S.stitle || S.title)}`;
  const detail = S.wanted ? loadDetail() : Promise.resolve();
  await streamCandidates();
  await detail;
  renderSources();
  if (!S.current) {
    if (!S.candidates.length) {
      showError(t("play_not_found"), t("play_search_link"), { canSwitch: false, canRetry: true });
      $("sources-status").textContent = t("no_other_sources");
      return;
    }
    if (pref("enablePreferBestSource") && S.candidates.length > 1 && (await rankSources())) start(S.candidates[0]);
    else start(S.candidates[0]);
  }
}

// ---------------------------------------------------------------- starting a title
async function start(item) {
  if (S.current) return;
  S.current = item;
  normalizeUrl();
  const key = keyOf(item);
  if (key !== S.wanted) {
    // The page was opened for another (or no) source: fetch this one's saved state.
    S.record = null;
    S.skip = null;
    S.favorite = false;
    const [records, skip, favorite] = await Promise.all([
      api("/api/playrecords", { quiet: true }).catch(() => null),
      api(`/api/skipconfigs?source=${encodeURIComponent(item.source)}&id=${encodeURIComponent(item.id)}`, { quiet: true }).catch(() => null),
      api(`/api/favorites?key=${encodeURIComponent(key)}`, { quiet: true }).catch(() => null),
    ]);
    S.record = records && records[key] ? records[key] : null;
    S.skip = skip && typeof skip === "object" && "enable" in skip ? skip : null;
    S.favorite = Boolean(favorite);
  }
  const count = episodesOf(item).length;
  let index = 0;
  let resume = 0;
  if (S.record && Number(S.record.index) >= 1) {
    index = Math.min(count - 1, Number(S.record.index) - 1);
    resume = Number(S.record.play_time) || 0;
  }
  renderInfo();
  renderSkip();
  renderFavorite();
  renderSources();
  playEpisode(index, resume);
}

function normalizeUrl() {
  const item = S.current;
  const href = M.playHref({
    source: item.source, id: item.id, title: S.title || item.title, year: item.year || S.year,
    stitle: S.stitle, stype: S.stype,
  });
  history.replaceState(null, "", href);
}

// ---------------------------------------------------------------- sources (换源) and speed test
export function renderSources() {
  const list = $("source-list");
  const key = currentKey();
  $("source-count").textContent = S.candidates.length ? String(S.candidates.length) : "";
  const status = $("sources-status");
  if (!S.candidates.length) status.textContent = S.searchDone ? t("no_other_sources") : t("sources_searching");
  else status.textContent = S.searchDone ? "" : t("sources_searching");
  status.hidden = !status.textContent;
  $("best-source").hidden = S.probeAvailable === false || S.candidates.length < 2;
  const ordered = [...S.candidates].sort((a, b) => (keyOf(b) === key) - (keyOf(a) === key));
  list.replaceChildren(...ordered.map((item) => {
    const probe = S.probes.get(keyOf(item));
    const tags = el("span", { class: "source-tags" });
    const count = episodesOf(item).length;
    if (keyOf(item) === key) tags.append(el("em", { class: "tag-accent", text: t("current_source") }));
    if (count) tags.append(el("em", { text: t("episodes_count", { n: count }) }));
    if (probe === "pending") tags.append(el("em", { text: t("probing") }));
    else if (probe && probe.ok) {
      if (probe.quality && probe.quality !== "未知") tags.append(el("em", { text: probe.quality }));
      if (probe.loadSpeed && probe.loadSpeed !== "未知") tags.append(el("em", { text: probe.loadSpeed }));
      if (Number.isFinite(probe.pingTime)) tags.append(el("em", { text: `${probe.pingTime} ms` }));
    } else if (probe) tags.append(el("em", { class: "tag-bad", text: t("probe_failed"), title: probe.error || null }));
    return el("li", {},
      el("button", { type: "button", class: "source-item", "data-key": keyOf(item), "aria-current": keyOf(item) === key ? "true" : "false" },
        M.poster(item.poster, item.title, "source-thumb"),
        el("span", { class: "source-text" },
          el("strong", { text: item.source_name || item.source }),
          el("span", { text: item.title }),
          tags)));
  }));
}
$("source-list").addEventListener("click", (ev) => {
  const button = ev.target.closest(".source-item");
  if (!button) return;
  const item = S.candidates.find((c) => keyOf(c) === button.dataset.key);
  if (item) switchSource(item);
});

export async function switchSource(item, { quiet = false } = {}) {
  if (!S.current) { start(item); return; }
  const oldKey = currentKey();
  if (keyOf(item) === oldKey) return;
  const time = video.currentTime;
  const oldSkip = S.skip;
  api(`/api/playrecords?key=${encodeURIComponent(oldKey)}`, { method: "DELETE", quiet: true }).catch(() => null);
  S.current = item;
  const newKey = keyOf(item);
  if (oldSkip) {
    api(`/api/skipconfigs?key=${encodeURIComponent(oldKey)}`, { method: "DELETE", quiet: true }).catch(() => null);
    api("/api/skipconfigs", { method: "POST", body: { key: newKey, config: oldSkip }, quiet: true }).catch(() => null);
  }
  const wasFavorite = S.favorite;
  const favorite = await api(`/api/favorites?key=${encodeURIComponent(newKey)}`, { quiet: true }).catch(() => null);
  S.favorite = Boolean(favorite);
  if (wasFavorite && !S.favorite) {
    // one favorite per title: it moves with the title (the server drops the old source's entry)
    S.favorite = true;
    api("/api/favorites", { method: "POST", body: { key: newKey, favorite: favoritePayload(item) }, quiet: true })
      .catch(() => { S.favorite = false; renderFavorite(); });
  }
  S.record = null;
  const sameEpisode = S.episode < episodesOf(item).length;
  const index = sameEpisode ? S.episode : 0;
  normalizeUrl();
  renderFavorite();
  renderSkip();
  renderSources();
  playEpisode(index, sameEpisode && time > 1 ? time : 0);
  if (!quiet) M.toast(t("switched_source", { name: item.source_name || item.source }), "info", 2600, { group: "player" });
}

const QUALITY = { "4K": 100, "2K": 85, "1080p": 75, "720p": 60, "480p": 40, SD: 20 };
function scores(items) {
  const results = items.map((item) => S.probes.get(keyOf(item)));
  const speeds = results.filter((r) => r && r.ok && Number(r.speedKBps) > 0).map((r) => Number(r.speedKBps));
  const pings = results.filter((r) => r && r.ok && Number(r.pingTime) > 0).map((r) => Number(r.pingTime));
  const maxSpeed = speeds.length ? Math.max(...speeds) : 1024;
  const minPing = pings.length ? Math.min(...pings) : 50;
  const maxPing = pings.length ? Math.max(...pings) : 1000;
  return results.map((r) => {
    if (!r || r === "pending" || !r.ok) return -1;
    const q = QUALITY[r.quality] || 0;
    const s = Number(r.speedKBps) > 0 ? Math.min(100, (Number(r.speedKBps) / maxSpeed) * 100) : 30;
    const ping = Number(r.pingTime);
    let p = 0;
    if (ping > 0) p = maxPing === minPing ? 100 : Math.max(0, Math.min(100, ((maxPing - ping) / (maxPing - minPing)) * 100));
    return Math.round((0.4 * q + 0.4 * s + 0.2 * p) * 100) / 100;
  });
}
export async function probe(item) {
  const key = keyOf(item);
  if (S.probes.has(key) && S.probes.get(key) !== "pending") return;
  S.probes.set(key, "pending");
  renderSources();
  try {
    const res = await fetch(`/api/sources/probe?source=${encodeURIComponent(item.source)}&id=${encodeURIComponent(item.id)}`, { credentials: "same-origin" });
    const data = await res.json().catch(() => null);
    if (res.status === 404 && (!data || data.error === "Not Found")) {
      // The speed-test route is not deployed: hide the feature.
      S.probeAvailable = false;
      S.probes.clear();
      renderSources();
      return;
    }
    S.probeAvailable = true;
    S.probes.set(key, data && typeof data === "object" ? data : { ok: false });
  } catch (e) {
    S.probes.set(key, { ok: false });
  }
  renderSources();
}
async function probeAll() {
  const pending = S.candidates.filter((c) => !S.probes.has(keyOf(c)));
  const half = Math.ceil(pending.length / 2);
  for (const batch of [pending.slice(0, half), pending.slice(half)]) {
    if (S.probeAvailable === false) return;
    await Promise.all(batch.map(probe));
  }
}
/** Ranks the candidates by the speed test; true when the order was changed by real measurements. */
export async function rankSources() {
  await probeAll();
  if (S.probeAvailable === false) return false;
  const score = scores(S.candidates);
  if (score.every((s) => s < 0)) return false;
  const order = S.candidates.map((item, i) => ({ item, s: score[i], i }));
  order.sort((a, b) => b.s - a.s || a.i - b.i);
  S.candidates = order.map((o) => o.item);
  renderSources();
  return true;
}
$("best-source").addEventListener("click", async () => {
  const button = $("best-source");
  button.disabled = true;
  try {
    if (await rankSources()) {
      const best = S.candidates[0];
      if (best && keyOf(best) !== currentKey()) switchSource(best);
    }
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------- side tabs
export function selectSide(name) {
  for (const side of ["episodes", "sources", "downloads"]) {
    $(`tab-${side}`).setAttribute("aria-selected", String(side === name));
    $(`panel-${side}`).hidden = side !== name;
  }
  if (name === "sources" && S.probeAvailable !== false) probeAll();
  document.dispatchEvent(new CustomEvent("moontv:side", { detail: { name } }));
}
$("tab-episodes").addEventListener("click", () => selectSide("episodes"));
$("tab-sources").addEventListener("click", () => selectSide("sources"));
$("tab-downloads").addEventListener("click", () => selectSide("downloads"));
$("error-switch").addEventListener("click", () => { selectSide("sources"); $("panel-sources").scrollIntoView({ behavior: "smooth", block: "nearest" }); });
$("error-retry").addEventListener("click", () => {
  if (S.current) loadUrl(episodesOf(S.current)[S.episode], false);
  else location.reload();
});
