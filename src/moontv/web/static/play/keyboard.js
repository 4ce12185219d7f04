/* Keyboard shortcuts of the player. */
import { t, video, playerToast } from "./state.js";
import { step } from "./episodes.js";
import { togglePlay, toggleFullscreen, closeMenus, wake } from "./controls.js";

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
