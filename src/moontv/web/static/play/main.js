/* Play page: finds the sources that carry the title (streaming search), plays HLS with hls.js, saves progress,
   resumes, skips intro/outro, switches episodes and sources, ranks sources with the server's speed test. */
import { $ } from "./state.js";
import { loadVolume } from "./controls.js";
import { renderSkip } from "./skip.js";
import { renderFavorite } from "./favorite.js";
import { resolve } from "./sources.js";
import "./keyboard.js";
import "./gestures.js";
import { initDanmaku } from "./danmaku.js";
import "./downloads.js";
import "./browser-download.js";

$("play-desc").addEventListener("click", () => $("play-desc").classList.toggle("is-open"));
loadVolume();
renderSkip();
renderFavorite();
resolve();
initDanmaku();
