/* Touch on the picture: a tap shows or hides the controls (it never pauses: pausing is the play button's
   job), a double tap on the left or right third seeks 10 s back or forward, in the middle third it toggles
   full screen. Mouse clicks keep their desktop meaning (click = play/pause, double click = full screen). */
import { video, box } from "./state.js";
import { seekBy } from "./keyboard.js";
import { toggleFullscreen, toggleControls } from "./controls.js";

const DOUBLE_TAP_MS = 300;
const MOVE_TOLERANCE = 30;
let lastTap = null;  // { time, x, y, zone }
let singleTimer = 0;
export let lastTouchAt = 0;

function zoneOf(x) {
  const r = video.getBoundingClientRect();
  const ratio = (x - r.left) / Math.max(1, r.width);
  return ratio < 1 / 3 ? "left" : ratio > 2 / 3 ? "right" : "middle";
}

video.addEventListener("pointerup", (ev) => {
  if (ev.pointerType !== "touch") return;
  lastTouchAt = Date.now();
  const now = ev.timeStamp;
  const zone = zoneOf(ev.clientX);
  const double = lastTap && now - lastTap.time < DOUBLE_TAP_MS && zone === lastTap.zone
    && Math.hypot(ev.clientX - lastTap.x, ev.clientY - lastTap.y) < MOVE_TOLERANCE * 3;
  if (double) {
    clearTimeout(singleTimer);
    lastTap = null;
    if (zone === "left") seekBy(-10);
    else if (zone === "right") seekBy(10);
    else toggleFullscreen();
    box.classList.add("is-idle");  // a seek gesture does not bring the controls up
    return;
  }
  lastTap = { time: now, x: ev.clientX, y: ev.clientY, zone };
  clearTimeout(singleTimer);
  singleTimer = setTimeout(() => { lastTap = null; toggleControls(); }, DOUBLE_TAP_MS);
});
