/* Live TV page: live sources and their channels (groups, search, favourites), playback through the
   server's live playlist proxy with hls.js tuned for live (low latency, retries, the channel's
   alternative URLs on failure), and the programme guide (now/next with progress, the day's list).
   Upstream strings only reach the page as text. */
const M = window.MoonTV;
const { t, el, api } = M;
const page = M.boot.page || {};
const $ = (id) => document.getElementById(id);
const video = $("live-video");
const LAST = "moontv_live_last";

const S = {
  sources: Array.isArray(page.sources) ? page.sources : [],
  source: "",
  channels: [],
  groups: [],
  group: "",
  query: "",
  favorites: new Map(),  // "source+channelId" -> record
  channel: null,
  urlIndex: 0,
  hls: null,
  networkRetries: 0,
  mediaRecoveries: 0,
  programmes: [],
  day: "",
  guideTimer: 0,
  loadToken: 0,
};

const favKey = (source, channel) => `${source}+${channel.id}`;
const proxied = (url) => `/api/proxy/live?source=${encodeURIComponent(S.source)}&url=${encodeURIComponent(url)}`;
const logoUrl = (url) => (/^https?:\/\//i.test(url || "") ? "/api/image-proxy?url=" + encodeURIComponent(url) : "");
const pad = (n) => String(n).padStart(2, "0");
const clock = (ms) => { const d = new Date(ms); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; };
const dayKey = (ms) => { const d = new Date(ms); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; };

function remember() {
  try {
    localStorage.setItem(LAST, JSON.stringify({ source: S.source, channel: S.channel ? S.channel.id : "" }));
  } catch (e) { /* storage disabled */ }
}
function recalled() {
  try { return JSON.parse(localStorage.getItem(LAST) || "{}") || {}; } catch (e) { return {}; }
}

function setStatus(text, kind = "") {
  const node = $("live-status");
  node.textContent = text;
  node.dataset.kind = kind;
  node.hidden = !text;
}

// ------------------------------------------------------------------------------ sources & channels
function renderSources() {
  const select = $("live-source");
  select.replaceChildren(...S.sources.map((s) => el("option", { value: s.key, text: s.name })));
  select.value = S.source;
  $("live-source-wrap").hidden = S.sources.length < 2;
}

async function loadSource(key, wantChannel) {
  S.source = key;
  renderSources();
  $("live-list").replaceChildren(el("li", { class: "muted live-empty", text: t("loading") }));
  let data;
  try {
    data = await api(`/api/live/channels?source=${encodeURIComponent(key)}`, { quiet: true });
  } catch (err) {
    S.channels = [];
    S.groups = [];
    $("live-list").replaceChildren(el("li", { class: "live-empty", role: "alert", text: `${t("live_source_failed")}: ${err.message}` }));
    renderGroups();
    return;
  }
  S.channels = data.data || [];
  S.groups = data.groups || [];
  if (!S.group || (S.group !== "__fav" && !S.groups.includes(S.group))) S.group = "";
  renderGroups();
  renderChannels();
  const target = S.channels.find((c) => c.id === wantChannel) || S.channels.find((c) => c.webUrls.length);
  if (target) play(target);
}

function renderGroups() {
  const chip = (value, label) => el("button", {
    type: "button", class: "chip", "aria-pressed": String(S.group === value), "data-group": value, text: label,
    onclick: () => { S.group = value; renderGroups(); renderChannels(); },
  });
  $("live-groups").replaceChildren(
    chip("", t("live_all")), chip("__fav", t("live_favorites")), ...S.groups.map((g) => chip(g, g)));
}

function visibleChannels() {
  const q = S.query.trim().toLowerCase();
  return S.channels.filter((c) => {
    if (S.group === "__fav" && !S.favorites.has(favKey(S.source, c))) return false;
    if (S.group && S.group !== "__fav" && c.group !== S.group) return false;
    return !q || c.name.toLowerCase().includes(q) || (c.tvgName || "").toLowerCase().includes(q);
  });
}

function channelLogo(channel, cls) {
  const box = el("span", { class: cls, "aria-hidden": "true" }, el("span", { class: "live-initial", text: channel.name.slice(0, 2) }));
  const src = logoUrl(channel.logo);
  if (src) {
    const img = el("img", { src, alt: "", loading: "lazy", decoding: "async", referrerpolicy: "no-referrer" });
    img.addEventListener("load", () => box.classList.add("has-logo"));
    img.addEventListener("error", () => img.remove());
    box.append(img);
  }
  return box;
}

function renderChannels() {
  const list = $("live-list");
  const items = visibleChannels();
  $("live-count").textContent = String(items.length);
  if (!items.length) {
    list.replaceChildren(el("li", { class: "muted live-empty", text: S.group === "__fav" ? t("live_no_favorites") : t("live_no_channels") }));
    return;
  }
  list.replaceChildren(...items.slice(0, 2000).map((c) => {
    const tvOnly = !c.webUrls.length;
    const fav = S.favorites.has(favKey(S.source, c));
    return el("li", { class: "live-item" },
      el("button", {
        type: "button", class: "live-channel", "data-channel": c.id, "aria-current": S.channel && S.channel.id === c.id ? "true" : null,
        disabled: tvOnly, title: tvOnly ? t("live_tv_only") : c.name, onclick: () => play(c),
      }, channelLogo(c, "live-logo"), el("span", { class: "live-name", text: c.name }),
        tvOnly ? el("span", { class: "live-badge", text: t("live_tv_only_short") }) : null,
        c.webUrls.length > 1 ? el("span", { class: "live-badge", text: `×${c.webUrls.length}` }) : null),
      el("button", {
        type: "button", class: "live-star", "aria-pressed": String(fav), "aria-label": fav ? t("remove_favorite") : t("add_favorite"),
        onclick: () => toggleFavorite(c),
      }, M.icon(fav ? "heart-fill" : "heart")));
  }));
}

// -------------------------------------------------------------------------------------- favourites
async function loadFavorites() {
  try {
    const data = await api("/api/live/favorites", { quiet: true });
    S.favorites = new Map((data.data || []).map((f) => [f.key, f]));
  } catch (e) { S.favorites = new Map(); }
}

async function toggleFavorite(channel) {
  const key = favKey(S.source, channel);
  try {
    if (S.favorites.has(key)) {
      await api(`/api/live/favorites?key=${encodeURIComponent(key)}`, { method: "DELETE" });
      S.favorites.delete(key);
    } else {
      await api("/api/live/favorites", { method: "POST", body: { source: S.source, channelId: channel.id, name: channel.name } });
      S.favorites.set(key, { source: S.source, channelId: channel.id, name: channel.name });
    }
  } catch (e) { return; }
  renderChannels();
  renderHeader();
}

// --------------------------------------------------------------------------------------- playback
function destroyPlayer() {
  if (S.hls) { S.hls.destroy(); S.hls = null; }
  video.removeAttribute("src");
  video.load();
}

function renderHeader() {
  const c = S.channel;
  $("live-title").textContent = c ? c.name : t("live_pick_channel");
  $("live-group").textContent = c ? c.group : "";
  const star = $("live-fav");
  star.hidden = !c;
  if (c) {
    const fav = S.favorites.has(favKey(S.source, c));
    star.setAttribute("aria-pressed", String(fav));
    star.querySelector("span").textContent = fav ? t("remove_favorite") : t("add_favorite");
  }
  const lines = c ? c.webUrls.length : 0;
  $("live-line").textContent = lines > 1 ? t("live_line", { n: S.urlIndex + 1, total: lines }) : "";
}

function play(channel) {
  S.channel = channel;
  S.urlIndex = 0;
  remember();
  renderHeader();
  renderChannels();
  loadGuide();
  startUrl();
}

function startUrl() {
  const c = S.channel;
  const token = ++S.loadToken;
  destroyPlayer();
  S.networkRetries = 0;
  S.mediaRecoveries = 0;
  renderHeader();
  if (!c.webUrls.length) {
    setStatus(t("live_tv_only"), "error");
    return;
  }
  const url = proxied(c.webUrls[S.urlIndex]);
  setStatus(t("live_connecting"), "loading");
  video.dataset.src = c.webUrls[S.urlIndex];
  const Hls = window.Hls;
  if (Hls && Hls.isSupported()) {
    const hls = new Hls({
      lowLatencyMode: true,
      liveSyncDurationCount: 3,
      liveMaxLatencyDurationCount: 8,
      maxBufferLength: 12,
      backBufferLength: 20,
      maxLiveSyncPlaybackRate: 1.2,
      manifestLoadingMaxRetry: 1,
      levelLoadingMaxRetry: 3,
      fragLoadingMaxRetry: 3,
      enableWorker: Boolean(page.hlsWorker),
      workerPath: page.hlsWorker || undefined,
    });
    S.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      if (token !== S.loadToken) return;
      video.play().catch(() => setStatus(t("live_tap_to_play"), "paused"));
    });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (token !== S.loadToken || !data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && S.mediaRecoveries < 2) {
        S.mediaRecoveries += 1;
        hls.recoverMediaError();
        return;
      }
      const started = video.currentTime > 0;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && started && S.networkRetries < 3) {
        S.networkRetries += 1;
        setStatus(t("live_reconnecting"), "loading");
        setTimeout(() => { if (token === S.loadToken) hls.startLoad(); }, 1000 * S.networkRetries);
        return;
      }
      nextUrl(data.details || data.type);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
    video.play().catch(() => setStatus(t("live_tap_to_play"), "paused"));
  } else {
    setStatus(t("live_unsupported"), "error");
  }
}

function nextUrl(reason) {
  const c = S.channel;
  if (S.urlIndex + 1 < c.webUrls.length) {
    S.urlIndex += 1;
    M.toast(t("live_switching_line", { n: S.urlIndex + 1 }));
    startUrl();
    return;
  }
  destroyPlayer();
  setStatus(`${t("live_failed")} (${reason})`, "error");
  $("live-retry").hidden = false;
}

video.addEventListener("playing", () => { setStatus(""); $("live-retry").hidden = true; });
video.addEventListener("waiting", () => setStatus(t("live_buffering"), "loading"));
$("live-retry").addEventListener("click", () => { $("live-retry").hidden = true; S.urlIndex = 0; startUrl(); });
$("live-status").addEventListener("click", () => { if (video.paused && S.hls) video.play().catch(() => {}); });

// ------------------------------------------------------------------------------------------ guide
async function loadGuide() {
  const c = S.channel;
  S.programmes = [];
  renderGuide();
  const params = new URLSearchParams({ source: S.source, channel: c.id });
  if (c.tvgId) params.set("tvgId", c.tvgId);
  try {
    const data = await api(`/api/live/epg?${params}`, { quiet: true });
    if (S.channel !== c) return;
    S.programmes = (data.data.programs || []).filter((p) => p.endTs > p.startTs);
  } catch (e) { S.programmes = []; }
  S.day = dayKey(Date.now());
  renderGuide();
}

function currentProgramme(now) {
  return S.programmes.find((p) => p.startTs <= now && now < p.endTs) || null;
}

function renderNowNext() {
  const now = Date.now();
  const current = currentProgramme(now);
  const upcoming = S.programmes.find((p) => p.startTs >= now) || null;
  $("live-now").textContent = current ? `${clock(current.startTs)} ${current.title}` : t("live_no_guide");
  $("live-next").textContent = upcoming ? `${clock(upcoming.startTs)} ${upcoming.title}` : "";
  $("live-next-row").hidden = !upcoming;
  const bar = $("live-progress");
  const share = current ? Math.min(1, (now - current.startTs) / (current.endTs - current.startTs)) : 0;
  bar.style.setProperty("--progress", `${(share * 100).toFixed(1)}%`);
  bar.setAttribute("aria-valuenow", String(Math.round(share * 100)));
  bar.hidden = !current;
}

function renderGuide() {
  renderNowNext();
  const days = [...new Set(S.programmes.map((p) => dayKey(p.startTs)))].sort();
  const today = dayKey(Date.now());
  if (!days.includes(S.day)) S.day = days.includes(today) ? today : days[0] || today;
  $("live-days").replaceChildren(...days.map((d) => el("button", {
    type: "button", class: "chip", "aria-pressed": String(d === S.day), "data-day": d,
    text: d === today ? t("live_today") : d.slice(5), onclick: () => { S.day = d; renderGuide(); },
  })));
  const now = Date.now();
  const items = S.programmes.filter((p) => dayKey(p.startTs) === S.day);
  $("live-guide").replaceChildren(...(items.length ? items.map((p) => el("li", {
    class: "live-prog" + (p.startTs <= now && now < p.endTs ? " is-now" : p.endTs <= now ? " is-past" : ""),
    "aria-current": p.startTs <= now && now < p.endTs ? "true" : null,
  }, el("time", { datetime: new Date(p.startTs).toISOString(), text: clock(p.startTs) }), el("span", { text: p.title })))
    : [el("li", { class: "muted live-empty", text: t("live_no_guide") })]));
  const list = $("live-guide");
  const current = list.querySelector(".is-now");
  if (current) list.scrollTop = Math.max(0, current.offsetTop - list.offsetTop - list.clientHeight / 3);
}

// ------------------------------------------------------------------------------------------- boot
$("live-source").addEventListener("change", (e) => loadSource(e.target.value, ""));
$("live-search").addEventListener("input", (e) => { S.query = e.target.value; renderChannels(); });
$("live-fav").addEventListener("click", () => { if (S.channel) toggleFavorite(S.channel); });
S.guideTimer = setInterval(renderNowNext, 15000);

async function boot() {
  if (!S.sources.length) {
    $("live-list").replaceChildren(el("li", { class: "muted live-empty", text: t("live_no_sources") }));
    setStatus(t("live_no_sources"), "error");
    return;
  }
  await loadFavorites();
  const last = recalled();
  const wanted = S.sources.find((s) => s.key === (page.source || last.source)) || S.sources[0];
  await loadSource(wanted.key, page.channel || (wanted.key === last.source ? last.channel : ""));
}
boot();
