/* Player core: loads a stream into the <video> with hls.js (through the ad-filtering proxy when enabled),
   recovers from network and media errors, resumes, saves progress and holds the screen awake. */
import { S, $, t, api, fmtTime, page, pref, video, box, PROXY_MISSING, currentKey, episodesOf, safeUrl, playerToast, showError, hideError } from "./state.js";

export function destroyHls() {
  if (S.hls) { S.hls.destroy(); S.hls = null; }
}

export function loadUrl(url, forceDirect) {
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

export function tryPlay() {
  video.defaultPlaybackRate = S.rate;
  video.playbackRate = S.rate;
  const attempt = video.play();
  if (attempt && attempt.catch) attempt.catch(() => { $("big-play").hidden = false; box.classList.remove("is-loading"); });
}

export function applyResume() {
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
export function saveProgress(keepalive = false) {
  if (!S.current) return;
  const d = video.duration;
  if (!Number.isFinite(d) || d <= 0 || video.currentTime < 1) return;
  const record = recordPayload();
  S.lastSave = Date.now();
  S.record = record;
  api("/api/playrecords", { method: "POST", body: { key: currentKey(), record }, keepalive, quiet: true }).catch(() => null);
}

// screen wake lock while playing
export async function lockScreen() {
  if (!("wakeLock" in navigator) || S.wakeLock || document.visibilityState !== "visible") return;
  try {
    S.wakeLock = await navigator.wakeLock.request("screen");
    S.wakeLock.addEventListener("release", () => { S.wakeLock = null; });
  } catch (e) { S.wakeLock = null; }
}
export function unlockScreen() {
  if (S.wakeLock) { S.wakeLock.release().catch(() => null); S.wakeLock = null; }
}

