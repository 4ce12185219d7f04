/* Keyboard (and TV remote) control of the player. Arrow keys belong to focus movement (spatial navigation,
   the episode grid, menus) everywhere except on the picture itself: with the <video> focused, ←/→ seek
   10 s (never past the last seconds) and ↑/↓ change the volume (outside the 10-foot mode, where ↑/↓ leave
   the picture). Escape closes a menu and gives focus back to the button that opened it. */
import { S, t, video, box, playerToast } from "./state.js";
import { step } from "./episodes.js";
import { togglePlay, toggleFullscreen, closeMenus, openMenuButton, wake } from "./controls.js";

const SEEK_STEP = 10;
const END_MARGIN = 3;  // a seek stops this far before the end: no jump into the next episode

export function seekBy(seconds) {
  const d = video.duration;
  if (!Number.isFinite(d) || d <= 0) return;
  const target = Math.max(0, Math.min(video.currentTime + seconds, d - END_MARGIN));
  if (seconds > 0 && target <= video.currentTime) return;
  video.currentTime = target;
  playerToast(`${seconds > 0 ? "+" : "−"}${Math.abs(seconds)}s`);
}

function onPicture(target) {
  return target === video || target === box;
}

document.addEventListener("keydown", (ev) => {
  const target = ev.target;
  if (target && target.closest && target.closest("textarea, select, [contenteditable=true], dialog[open]")) return;
  if (target && target.tagName === "INPUT" && !["range", "checkbox"].includes(target.type)) return;
  if (ev.ctrlKey || ev.metaKey) return;
  const tv = "tv" in document.documentElement.dataset;
  switch (ev.key) {
    case " ":
    case "k":
      if (target && (target.tagName === "BUTTON" || target.tagName === "A" || target.type === "checkbox")) return;
      ev.preventDefault();
      togglePlay();
      break;
    case "ArrowLeft":
    case "ArrowRight":
      if (ev.altKey) { ev.preventDefault(); step(ev.key === "ArrowRight" ? 1 : -1); break; }
      if (!onPicture(target)) return;
      ev.preventDefault();
      seekBy(ev.key === "ArrowRight" ? SEEK_STEP : -SEEK_STEP);
      break;
    case "ArrowUp":
    case "ArrowDown": {
      if (!onPicture(target) || tv) return;
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
    case "Escape": {
      const opener = openMenuButton();
      if (!opener) return;
      ev.preventDefault();
      closeMenus();
      opener.focus();
      break;
    }
    default:
      return;
  }
  if (S.current) wake();
});
