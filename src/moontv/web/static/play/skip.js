/* Skip intro / outro: applies the saved skip config during playback and edits it from the settings menu. */
import { S, $, t, api, fmtTime, video, currentKey, episodesOf, playerToast } from "./state.js";
import { saveProgress } from "./core.js";
import { playEpisode } from "./episodes.js";

export function checkSkip() {
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
export function renderSkip() {
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
