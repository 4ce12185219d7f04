/* Play page: finds the sources that carry the title (streaming search), plays HLS with hls.js, saves progress,
   resumes, skips intro/outro, switches episodes and sources, ranks sources with the server's speed test. */
(() => {
  "use strict";
  const M = window.MoonTV;
  const { t, el, api, pref, fmtTime } = M;
  const page = M.boot.page || {};
  const P = page.params || {};
  const $ = (id) => document.getElementById(id);
  const video = $("player");
  const box = $("player-box");

  const PROXY_MISSING = "moontv_proxy_missing";
  const EPISODES_PER_PAGE = 50;
  const S = {
    title: P.title || P.stitle || "",
    year: P.year || "",
    stitle: P.stitle || "",
    stype: P.stype || "",
    wanted: P.source && P.id ? `${P.source}+${P.id}` : "",
    current: null,
    candidates: [],
    episode: 0,
    resumeAt: 0,
    record: page.record || null,
    skip: page.skip || null,
    favorite: Boolean(page.favorite),
    hls: null,
    usingProxy: false,
    directUrl: "",
    proxyMissing: false,
    retries: 0,
    mediaRecoveries: 0,
    lastSave: 0,
    lastSkipCheck: 0,
    introChecked: false,
    outroDone: false,
    searchDone: false,
    reversed: false,
    episodePage: 0,
    probes: new Map(),
    probeAvailable: null,
    wakeLock: null,
    rate: 1,
    advanceTimer: 0,
  };
  try { S.proxyMissing = sessionStorage.getItem(PROXY_MISSING) === "1"; } catch (e) { /* ignore */ }

  const keyOf = (item) => `${item.source}+${item.id}`;
  const currentKey = () => (S.current ? keyOf(S.current) : "");
  const norm = (text) => String(text || "").replace(/\s+/g, "").toLowerCase();
  const safeUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url.trim()) ? url.trim() : "");
  const episodesOf = (item) => (Array.isArray(item && item.episodes) ? item.episodes : []);

  // ---------------------------------------------------------------- messages
  let toastTimer = 0;
  function playerToast(text) {
    const node = $("player-toast");
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { node.hidden = true; }, 2200);
  }
  function showError(title, text, { canSwitch = true, canRetry = true } = {}) {
    box.classList.remove("is-loading");
    $("player-error-title").textContent = title;
    $("player-error-text").textContent = text || "";
    $("error-switch").hidden = !canSwitch;
    $("error-retry").hidden = !canRetry;
    $("player-error").hidden = false;
  }
  function hideError() { $("player-error").hidden = true; }

  // ---------------------------------------------------------------- resolving the title's sources
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

  async function resolve() {
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

  // ---------------------------------------------------------------- playback
  function destroyHls() {
    if (S.hls) { S.hls.destroy(); S.hls = null; }
  }

  function playEpisode(index, resumeAt = 0) {
    const episodes = episodesOf(S.current);
    if (!episodes.length) return;
    index = Math.max(0, Math.min(episodes.length - 1, index));
    clearTimeout(S.advanceTimer);
    S.episode = index;
    S.resumeAt = resumeAt > 0 ? resumeAt : 0;
    S.retries = 0;
    S.mediaRecoveries = 0;
    S.introChecked = false;
    S.outroDone = false;
    S.episodePage = Math.floor(index / EPISODES_PER_PAGE);
    renderEpisodes();
    renderInfo();
    loadUrl(episodes[index], false);
  }

  function loadUrl(url, forceDirect) {
    hideError();
    box.classList.add("is-loading");
    destroyHls();
    const proxied = !forceDirect && Boolean(pref("enable_blockad")) && !S.proxyMissing;
    S.usingProxy = proxied;
    S.directUrl = url;
    const src = proxied
      ? `/api/proxy/m3u8?url=${encodeURIComponent(url)}&source=${encodeURIComponent(S.current.source)}`
      : url;
    const Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      const hls = new Hls({
        enableWorker: true,
        workerPath: page.hlsWorker || undefined,
        maxBufferLength: 30,
        backBufferLength: 30,
        maxBufferSize: 60 * 1000 * 1000,
      });
      S.hls = hls;
      hls.on(Hls.Events.ERROR, onHlsError);
      hls.on(Hls.Events.MANIFEST_PARSED, () => tryPlay());
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
      video.addEventListener("loadedmetadata", tryPlay, { once: true });
    } else {
      showError(t("play_error"), "HLS", { canSwitch: S.candidates.length > 1 });
    }
  }

  function onHlsError(_event, data) {
    if (!data || !data.fatal) return;
    const Hls = window.Hls;
    const hls = S.hls;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      const code = data.response && data.response.code;
      const playlist = /manifest|level/i.test(String(data.details || ""));
      if (S.usingProxy && playlist) {
        // The ad-filtering proxy is missing (404) or cannot serve this stream: play the direct URL.
        if (code === 404) {
          S.proxyMissing = true;
          try { sessionStorage.setItem(PROXY_MISSING, "1"); } catch (e) { /* ignore */ }
        }
        if (video.currentTime > 1) S.resumeAt = video.currentTime;
        loadUrl(S.directUrl, true);
        return;
      }
      if (S.retries < 2 && hls) {
        S.retries += 1;
        playerToast(t("network_retry"));
        const retry = () => {
          if (S.hls !== hls) return;
          if (playlist) {
            // No playlist yet: startLoad() has nothing to resume, so load the stream again.
            if (video.currentTime > 1) S.resumeAt = video.currentTime;
            loadUrl(S.directUrl, !S.usingProxy);
          } else {
            hls.startLoad();
          }
        };
        setTimeout(retry, 700 * S.retries);
        return;
      }
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && hls) {
      if (S.mediaRecoveries === 0) {
        S.mediaRecoveries = 1;
        playerToast(t("media_recover"));
        hls.recoverMediaError();
        return;
      }
      if (S.mediaRecoveries === 1) {
        S.mediaRecoveries = 2;
        hls.swapAudioCodec();
        hls.recoverMediaError();
        return;
      }
    }
    destroyHls();
    showError(t("play_error"), `${t("play_error_hint")} (${data.details || data.type})`, { canSwitch: S.candidates.length > 1 || !S.searchDone });
  }

  function tryPlay() {
    video.defaultPlaybackRate = S.rate;
    video.playbackRate = S.rate;
    const attempt = video.play();
    if (attempt && attempt.catch) attempt.catch(() => { $("big-play").hidden = false; box.classList.remove("is-loading"); });
  }

  function applyResume() {
    if (!(S.resumeAt > 0)) return;
    const d = video.duration;
    let target = S.resumeAt;
    if (Number.isFinite(d) && d > 0 && target > d - 2) target = Math.max(0, d - 5);
    S.resumeAt = 0;
    if (target > 1) {
      video.currentTime = target;
      playerToast(t("resumed_at", { t: fmtTime(target) }));
    }
  }

  // ---------------------------------------------------------------- progress
  function recordPayload() {
    const item = S.current;
    return {
      title: S.title || item.title,
      source_name: item.source_name || item.source,
      year: item.year && item.year !== "unknown" ? String(item.year) : "",
      cover: safeUrl(item.poster),
      index: S.episode + 1,
      total_episodes: episodesOf(item).length,
      play_time: Math.floor(video.currentTime),
      total_time: Math.floor(video.duration),
      save_time: Date.now(),
      search_title: S.stitle || "",
    };
  }
  function saveProgress(keepalive = false) {
    if (!S.current) return;
    const d = video.duration;
    if (!Number.isFinite(d) || d <= 0 || video.currentTime < 1) return;
    const record = recordPayload();
    S.lastSave = Date.now();
    S.record = record;
    api("/api/playrecords", { method: "POST", body: { key: currentKey(), record }, keepalive, quiet: true }).catch(() => null);
  }

  // ---------------------------------------------------------------- skip intro / outro
  function checkSkip() {
    const cfg = S.skip;
    if (!cfg || !cfg.enable) return;
    const ct = video.currentTime;
    const d = video.duration;
    if (!S.introChecked) {
      S.introChecked = true;
      const intro = Number(cfg.intro_time) || 0;
      if (intro > 0 && ct < intro) {
        video.currentTime = intro;
        playerToast(t("skipped_intro"));
        return;
      }
    }
    const outro = Number(cfg.outro_time) || 0;
    if (!S.outroDone && outro < 0 && Number.isFinite(d) && d > 0 && ct > d + outro) {
      S.outroDone = true;
      playerToast(t("skipped_outro"));
      if (S.episode < episodesOf(S.current).length - 1) { saveProgress(); playEpisode(S.episode + 1); }
      else video.pause();
    }
  }
  function renderSkip() {
    const cfg = S.skip || { enable: false, intro_time: 0, outro_time: 0 };
    $("skip-enable").checked = Boolean(cfg.enable);
    const parts = [];
    if (Number(cfg.intro_time) > 0) parts.push(t("intro_at", { t: fmtTime(Number(cfg.intro_time)) }));
    if (Number(cfg.outro_time) < 0) parts.push(t("outro_at", { t: fmtTime(-Number(cfg.outro_time)) }));
    $("skip-info").textContent = parts.join(" · ");
  }
  async function saveSkip(config) {
    if (!S.current) return;
    const key = currentKey();
    const empty = !config.enable && !config.intro_time && !config.outro_time;
    S.skip = empty ? null : config;
    renderSkip();
    try {
      if (empty) await api(`/api/skipconfigs?key=${encodeURIComponent(key)}`, { method: "DELETE" });
      else await api("/api/skipconfigs", { method: "POST", body: { key, config } });
      playerToast(t(empty ? "skip_cleared" : "skip_saved"));
    } catch (e) { /* toast shown by api() */ }
  }
  $("skip-enable").addEventListener("change", () => {
    const cfg = { ...(S.skip || { intro_time: 0, outro_time: 0 }), enable: $("skip-enable").checked };
    saveSkip(cfg);
  });
  $("set-intro").addEventListener("click", () => {
    const cfg = { ...(S.skip || { outro_time: 0 }), enable: true, intro_time: Math.floor(video.currentTime) };
    S.introChecked = true;
    saveSkip(cfg);
  });
  $("set-outro").addEventListener("click", () => {
    const d = video.duration;
    if (!Number.isFinite(d) || d <= 0) return;
    const cfg = { ...(S.skip || { intro_time: 0 }), enable: true, outro_time: -Math.floor(d - video.currentTime) };
    S.outroDone = true;
    saveSkip(cfg);
  });
  $("clear-skip").addEventListener("click", () => saveSkip({ enable: false, intro_time: 0, outro_time: 0 }));

  // ---------------------------------------------------------------- favorites
  function renderFavorite() {
    const button = $("fav-button");
    button.hidden = !S.current;
    button.setAttribute("aria-pressed", String(S.favorite));
    const label = S.favorite ? t("favorited") : t("add_favorite");
    $("fav-label").textContent = label;
    button.setAttribute("aria-label", S.favorite ? t("remove_favorite") : t("add_favorite"));
  }
  $("fav-button").addEventListener("click", async () => {
    if (!S.current) return;
    const key = currentKey();
    const on = !S.favorite;
    S.favorite = on;
    renderFavorite();
    const item = S.current;
    try {
      if (on) {
        await api("/api/favorites", {
          method: "POST",
          body: {
            key,
            favorite: {
              title: S.title || item.title, source_name: item.source_name || item.source,
              year: item.year && item.year !== "unknown" ? String(item.year) : "", cover: safeUrl(item.poster),
              total_episodes: episodesOf(item).length, save_time: Date.now(), search_title: S.stitle || "",
            },
          },
        });
      } else {
        await api(`/api/favorites?key=${encodeURIComponent(key)}`, { method: "DELETE" });
      }
    } catch (e) {
      S.favorite = !on;
      renderFavorite();
    }
  });

  // ---------------------------------------------------------------- info, episodes
  function episodeLabel(title, index) {
    const match = /第\s*(\d+)\s*[集话話期]/.exec(title || "") || /^\s*(?:ep|e)?\s*(\d+)\s*$/i.exec(title || "");
    if (match) return String(Number(match[1]));
    return title ? String(title) : String(index + 1);
  }
  function renderInfo() {
    const item = S.current;
    if (!item) return;
    const title = S.title || item.title;
    $("play-title").textContent = title;
    const count = episodesOf(item).length;
    const meta = $("play-meta");
    meta.replaceChildren();
    const add = (text, cls) => { if (text) meta.append(el("span", { class: cls || null, text: String(text) })); };
    add(item.source_name, "meta-accent");
    if (item.year && item.year !== "unknown") add(item.year);
    add(item.type_name);
    add(item.class);
    if (count > 1) add(t("episode_n", { i: S.episode + 1 }) + ` / ${count}`);
    $("play-desc").textContent = item.desc || "";
    const suffix = count > 1 ? ` · ${t("episode_n", { i: S.episode + 1 })}` : "";
    document.title = `${title}${suffix} · ${M.boot.siteName || ""}`;
    video.setAttribute("aria-label", `${title}${suffix}`);
    $("btn-prev").disabled = S.episode <= 0;
    $("btn-next").disabled = S.episode >= count - 1;
    $("episode-count").textContent = count ? String(count) : "";
  }
  function renderEpisodes() {
    const item = S.current;
    const episodes = episodesOf(item);
    const titles = Array.isArray(item.episodes_titles) ? item.episodes_titles : [];
    const pages = Math.ceil(episodes.length / EPISODES_PER_PAGE);
    const pageTabs = $("episode-pages");
    pageTabs.replaceChildren();
    if (pages > 1) {
      for (let p = 0; p < pages; p += 1) {
        const a = p * EPISODES_PER_PAGE + 1;
        const b = Math.min(episodes.length, (p + 1) * EPISODES_PER_PAGE);
        pageTabs.append(el("button", {
          type: "button", "aria-pressed": String(p === S.episodePage), text: t("page_of", { a, b }),
          onclick: () => { S.episodePage = p; renderEpisodes(); },
        }));
      }
    }
    $("episode-reverse").hidden = episodes.length < 2;
    $("episode-reverse").setAttribute("aria-pressed", String(S.reversed));
    const start = S.episodePage * EPISODES_PER_PAGE;
    let indexes = [];
    for (let i = start; i < Math.min(episodes.length, start + EPISODES_PER_PAGE); i += 1) indexes.push(i);
    if (S.reversed) indexes = indexes.reverse();
    const labels = indexes.map((i) => episodeLabel(titles[i], i));
    const grid = $("episode-grid");
    grid.classList.toggle("is-wide", labels.some((l) => l.length > 4));
    grid.replaceChildren(...indexes.map((i, n) => el("button", {
      type: "button",
      "data-index": String(i),
      "aria-current": i === S.episode ? "true" : "false",
      "aria-label": `${t("episode_n", { i: i + 1 })}${titles[i] ? ` ${titles[i]}` : ""}`,
      title: titles[i] || null,
      text: labels[n],
    })));
  }
  $("episode-grid").addEventListener("click", (ev) => {
    const button = ev.target.closest("button[data-index]");
    if (!button) return;
    const index = Number(button.dataset.index);
    if (index === S.episode) return;
    saveProgress();
    const resume = S.record && Number(S.record.index) - 1 === index ? Number(S.record.play_time) || 0 : 0;
    playEpisode(index, resume);
  });
  $("episode-reverse").addEventListener("click", () => { S.reversed = !S.reversed; renderEpisodes(); });
  function step(delta) {
    if (!S.current) return;
    const next = S.episode + delta;
    if (next < 0) return;
    if (next >= episodesOf(S.current).length) { playerToast(t("last_episode")); return; }
    if (!video.paused) saveProgress();
    playEpisode(next);
  }
  $("btn-prev").addEventListener("click", () => step(-1));
  $("btn-next").addEventListener("click", () => step(1));

  // ---------------------------------------------------------------- sources (换源) and speed test
  function renderSources() {
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

  async function switchSource(item) {
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
    const favorite = await api(`/api/favorites?key=${encodeURIComponent(newKey)}`, { quiet: true }).catch(() => null);
    S.favorite = Boolean(favorite);
    S.record = null;
    const sameEpisode = S.episode < episodesOf(item).length;
    const index = sameEpisode ? S.episode : 0;
    normalizeUrl();
    renderFavorite();
    renderSkip();
    renderSources();
    playEpisode(index, sameEpisode && time > 1 ? time : 0);
    M.toast(t("switched_source", { name: item.source_name || item.source }));
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
  async function probe(item) {
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
  async function rankSources() {
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
  function selectSide(name) {
    for (const side of ["episodes", "sources"]) {
      $(`tab-${side}`).setAttribute("aria-selected", String(side === name));
      $(`panel-${side}`).hidden = side !== name;
    }
    if (name === "sources" && S.probeAvailable !== false) probeAll();
  }
  $("tab-episodes").addEventListener("click", () => selectSide("episodes"));
  $("tab-sources").addEventListener("click", () => selectSide("sources"));
  $("error-switch").addEventListener("click", () => { selectSide("sources"); $("panel-sources").scrollIntoView({ behavior: "smooth", block: "nearest" }); });
  $("error-retry").addEventListener("click", () => {
    if (S.current) loadUrl(episodesOf(S.current)[S.episode], false);
    else location.reload();
  });

  // ---------------------------------------------------------------- controls
  const seek = $("seek");
  function updateTime() {
    const d = video.duration;
    const ct = video.currentTime;
    const ratio = Number.isFinite(d) && d > 0 ? ct / d : 0;
    $("seek-fill").style.width = `${ratio * 100}%`;
    if (document.activeElement !== seek) seek.value = String(Math.round(ratio * 1000));
    seek.setAttribute("aria-valuetext", `${fmtTime(ct)} / ${fmtTime(d)}`);
    $("time").textContent = `${fmtTime(ct)} / ${fmtTime(Number.isFinite(d) ? d : 0)}`;
  }
  function updateBuffer() {
    const d = video.duration;
    if (!Number.isFinite(d) || d <= 0 || !video.buffered.length) return;
    let end = 0;
    for (let i = 0; i < video.buffered.length; i += 1) {
      if (video.buffered.start(i) <= video.currentTime + 0.5) end = Math.max(end, video.buffered.end(i));
    }
    $("seek-buffer").style.width = `${Math.min(100, (end / d) * 100)}%`;
  }
  seek.addEventListener("input", () => {
    const d = video.duration;
    if (Number.isFinite(d) && d > 0) video.currentTime = (Number(seek.value) / 1000) * d;
    updateTime();
  });

  function togglePlay() {
    if (video.paused || video.ended) tryPlay();
    else video.pause();
  }
  $("btn-play").addEventListener("click", togglePlay);
  $("big-play").addEventListener("click", togglePlay);
  video.addEventListener("click", togglePlay);
  video.addEventListener("dblclick", () => toggleFullscreen());

  function syncPlayState() {
    const playing = !video.paused && !video.ended;
    box.classList.toggle("is-playing", playing);
    $("btn-play").setAttribute("aria-label", playing ? t("pause") : t("play"));
    if (playing) $("big-play").hidden = true;
  }

  // volume (remembered across pages)
  const volume = $("volume");
  function loadVolume() {
    try {
      const v = Number(localStorage.getItem("moontv_volume"));
      if (localStorage.getItem("moontv_volume") !== null && v >= 0 && v <= 1) video.volume = v;
      video.muted = localStorage.getItem("moontv_muted") === "true";
    } catch (e) { /* ignore */ }
    syncVolume();
  }
  function syncVolume() {
    volume.value = String(video.muted ? 0 : video.volume);
    box.classList.toggle("is-muted", video.muted || video.volume === 0);
    $("btn-mute").setAttribute("aria-label", video.muted ? t("unmute") : t("mute"));
    try {
      localStorage.setItem("moontv_volume", String(video.volume));
      localStorage.setItem("moontv_muted", String(video.muted));
    } catch (e) { /* ignore */ }
  }
  volume.addEventListener("input", () => { video.volume = Number(volume.value); video.muted = video.volume === 0; });
  $("btn-mute").addEventListener("click", () => { video.muted = !video.muted; if (!video.muted && video.volume === 0) video.volume = 0.5; });
  video.addEventListener("volumechange", syncVolume);

  // playback rate
  const rateButton = $("btn-rate");
  const rateMenu = $("rate-menu");
  const settingsButton = $("btn-settings");
  const settingsMenu = $("settings-menu");
  function showRate(rate) {
    rateButton.textContent = `${rate}×`;
    for (const b of rateMenu.querySelectorAll("[data-rate]")) b.setAttribute("aria-checked", String(Number(b.dataset.rate) === rate));
  }
  function setRate(rate) {
    S.rate = rate;
    video.defaultPlaybackRate = rate;
    video.playbackRate = rate;
    showRate(rate);
  }
  video.addEventListener("ratechange", () => showRate(video.playbackRate));
  rateMenu.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-rate]");
    if (!b) return;
    setRate(Number(b.dataset.rate));
    playerToast(t("rate_set", { r: b.dataset.rate }));
    closeMenus();
  });
  function openMenu(button, menu) {
    const open = menu.hidden;
    closeMenus();
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    box.classList.remove("is-idle");
  }
  function closeMenus() {
    for (const [b, m] of [[rateButton, rateMenu], [settingsButton, settingsMenu]]) { m.hidden = true; b.setAttribute("aria-expanded", "false"); }
  }
  rateButton.addEventListener("click", (ev) => { ev.stopPropagation(); openMenu(rateButton, rateMenu); });
  settingsButton.addEventListener("click", (ev) => { ev.stopPropagation(); openMenu(settingsButton, settingsMenu); });
  document.addEventListener("click", (ev) => { if (!ev.target.closest(".player-menu")) closeMenus(); });

  // ad filter switch (the same localStorage key as the settings dialog)
  const blockad = $("blockad-toggle");
  blockad.checked = Boolean(pref("enable_blockad"));
  blockad.addEventListener("change", () => {
    M.setPref("enable_blockad", blockad.checked);
    if (!S.current) return;
    const time = video.currentTime;
    S.resumeAt = 0;
    loadUrl(episodesOf(S.current)[S.episode], false);
    if (time > 1) S.resumeAt = time;
  });

  // picture in picture
  const pipButton = $("btn-pip");
  if (!document.pictureInPictureEnabled || video.disablePictureInPicture) pipButton.hidden = true;
  pipButton.addEventListener("click", async () => {
    try {
      if (document.pictureInPictureElement) await document.exitPictureInPicture();
      else await video.requestPictureInPicture();
    } catch (e) { /* not allowed right now */ }
  });

  // full screen
  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => null);
    else if (box.requestFullscreen) box.requestFullscreen().catch(() => null);
    else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen();
  }
  $("btn-fullscreen").addEventListener("click", toggleFullscreen);
  document.addEventListener("fullscreenchange", () => {
    const on = document.fullscreenElement === box;
    box.classList.toggle("is-fullscreen", on);
    $("btn-fullscreen").setAttribute("aria-label", on ? t("exit_fullscreen") : t("fullscreen"));
  });

  // controls hide while playing and the pointer rests
  let idleTimer = 0;
  function wake() {
    box.classList.remove("is-idle");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (!video.paused && rateMenu.hidden && settingsMenu.hidden && !box.contains(document.activeElement)) box.classList.add("is-idle");
    }, 2800);
  }
  box.addEventListener("pointermove", wake);
  box.addEventListener("pointerdown", wake);

  // screen wake lock while playing
  async function lockScreen() {
    if (!("wakeLock" in navigator) || S.wakeLock || document.visibilityState !== "visible") return;
    try {
      S.wakeLock = await navigator.wakeLock.request("screen");
      S.wakeLock.addEventListener("release", () => { S.wakeLock = null; });
    } catch (e) { S.wakeLock = null; }
  }
  function unlockScreen() {
    if (S.wakeLock) { S.wakeLock.release().catch(() => null); S.wakeLock = null; }
  }

  // ---------------------------------------------------------------- video events
  video.addEventListener("loadedmetadata", () => { applyResume(); updateTime(); });
  video.addEventListener("canplay", () => { box.classList.remove("is-loading"); applyResume(); });
  video.addEventListener("waiting", () => box.classList.add("is-loading"));
  video.addEventListener("playing", () => { box.classList.remove("is-loading"); hideError(); syncPlayState(); lockScreen(); wake(); checkSkip(); });
  video.addEventListener("play", syncPlayState);
  video.addEventListener("pause", () => { syncPlayState(); unlockScreen(); saveProgress(); box.classList.remove("is-idle"); });
  video.addEventListener("ended", () => {
    syncPlayState();
    unlockScreen();
    saveProgress();
    if (S.current && S.episode < episodesOf(S.current).length - 1) S.advanceTimer = setTimeout(() => playEpisode(S.episode + 1), 1000);
  });
  video.addEventListener("timeupdate", () => {
    updateTime();
    const now = Date.now();
    if (!S.introChecked || now - S.lastSkipCheck > 1500) { S.lastSkipCheck = now; checkSkip(); }
    if (!video.paused && now - S.lastSave > 5000) saveProgress();
  });
  video.addEventListener("progress", updateBuffer);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") saveProgress(true);
    else if (!video.paused) lockScreen();
  });
  window.addEventListener("pagehide", () => saveProgress(true));

  // ---------------------------------------------------------------- keyboard
  document.addEventListener("keydown", (ev) => {
    const target = ev.target;
    if (target && target.closest && target.closest("textarea, select, [contenteditable=true], dialog[open]")) return;
    if (target && target.tagName === "INPUT" && !["range", "checkbox"].includes(target.type)) return;
    if (ev.ctrlKey || ev.metaKey) return;
    const d = video.duration;
    switch (ev.key) {
      case " ":
      case "k":
        if (target && target.tagName === "BUTTON") return;
        ev.preventDefault();
        togglePlay();
        break;
      case "ArrowLeft":
        ev.preventDefault();
        if (ev.altKey) step(-1);
        else if (video.currentTime > 5) video.currentTime -= 10;
        else video.currentTime = 0;
        break;
      case "ArrowRight":
        ev.preventDefault();
        if (ev.altKey) step(1);
        else if (Number.isFinite(d) && d - video.currentTime > 5) video.currentTime += 10;
        break;
      case "ArrowUp":
      case "ArrowDown": {
        ev.preventDefault();
        const v = Math.max(0, Math.min(1, Math.round((video.volume + (ev.key === "ArrowUp" ? 0.1 : -0.1)) * 10) / 10));
        video.volume = v;
        video.muted = v === 0;
        playerToast(t("volume_level", { v: Math.round(v * 100) }));
        break;
      }
      case "f":
      case "F":
        ev.preventDefault();
        toggleFullscreen();
        break;
      case "m":
      case "M":
        video.muted = !video.muted;
        break;
      case "Escape":
        closeMenus();
        break;
      default:
        return;
    }
    wake();
  });

  // ---------------------------------------------------------------- go
  $("play-desc").addEventListener("click", () => $("play-desc").classList.toggle("is-open"));
  loadVolume();
  renderSkip();
  renderFavorite();
  resolve();
})();
