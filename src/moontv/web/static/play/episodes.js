/* Episodes: plays an episode, renders the title's info and the paged episode grid, steps to the previous/next. */
import { S, $, M, t, el, video, EPISODES_PER_PAGE, episodesOf, playerToast } from "./state.js";
import { loadUrl, saveProgress } from "./core.js";

export function playEpisode(index, resumeAt = 0) {
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
  document.dispatchEvent(new CustomEvent("moontv:episode", { detail: { index } }));
}

// ---------------------------------------------------------------- info, episodes
function episodeLabel(title, index) {
  const match = /第\s*(\d+)\s*[集话話期]/.exec(title || "") || /^\s*(?:ep|e)?\s*(\d+)\s*$/i.exec(title || "");
  if (match) return String(Number(match[1]));
  return title ? String(title) : String(index + 1);
}
export function renderInfo() {
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
export function renderEpisodes() {
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
export function step(delta) {
  if (!S.current) return;
  const next = S.episode + delta;
  if (next < 0) return;
  if (next >= episodesOf(S.current).length) { playerToast(t("last_episode")); return; }
  if (!video.paused) saveProgress();
  playEpisode(next);
}
$("btn-prev").addEventListener("click", () => step(-1));
$("btn-next").addEventListener("click", () => step(1));
