/* Player controls: seek bar, play/pause, volume, rate and settings menus, ad-filter switch, picture in
   picture, full screen, idle hiding, and the <video> events that drive them. */
import { S, $, M, t, pref, fmtTime, video, box, episodesOf, hideError, playerToast } from "./state.js";
import { loadUrl, tryPlay, applyResume, saveProgress, lockScreen, unlockScreen } from "./core.js";
import { playEpisode } from "./episodes.js";
import { checkSkip } from "./skip.js";

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

export function togglePlay() {
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
export function loadVolume() {
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
export function closeMenus() {
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
export function toggleFullscreen() {
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
export function wake() {
  box.classList.remove("is-idle");
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (!video.paused && rateMenu.hidden && settingsMenu.hidden && !box.contains(document.activeElement)) box.classList.add("is-idle");
  }, 2800);
}
box.addEventListener("pointermove", wake);
box.addEventListener("pointerdown", wake);

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
