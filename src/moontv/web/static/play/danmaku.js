/* Danmaku: settings (on/off, opacity, font size, speed, display area, density cap, keyword filter, kept in
   localStorage), the track of each episode (the user's remembered pick, else an automatic match with
   retries as the original does), and the manual picker (search, pick a title, pick an episode). Every
   request goes to our server, which asks the danmu_api server. */
import { S, $, t, el, api, pref, video, playerToast, currentKey, episodesOf } from "./state.js";
import { DanmakuCanvas } from "./danmaku-canvas.js";

const STORE = "moontv_danmaku";
const DEFAULTS = { enabled: true, opacity: 0.9, fontSize: 24, speed: 8, area: 0.5, density: 80, filter: "" };
const canvas = $("danmaku-canvas");
const renderer = new DanmakuCanvas(canvas, video);
let settings = { ...DEFAULTS };
let available = false;
let generation = 0;

try { settings = { ...DEFAULTS, ...JSON.parse(localStorage.getItem(STORE) || "{}") }; } catch (e) { /* defaults */ }

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const episodeTitle = () => {
  const titles = S.current && Array.isArray(S.current.episodes_titles) ? S.current.episodes_titles : [];
  return String(titles[S.episode] || "");
};

function apply() {
  try { localStorage.setItem(STORE, JSON.stringify(settings)); } catch (e) { /* private mode */ }
  const on = available && settings.enabled;
  canvas.hidden = !on;
  $("btn-danmaku").setAttribute("aria-pressed", String(on));
  renderer.configure({
    opacity: Number(settings.opacity), fontSize: Number(settings.fontSize), speed: Number(settings.speed),
    area: Number(settings.area), density: Number(settings.density),
    filter: String(settings.filter).split(/[,，\s]+/).map((w) => w.trim()).filter(Boolean),
  });
  if (on && !video.paused) renderer.start();
  else if (!on) { renderer.stop(); renderer.clear(); }
}

function status(text) { $("danmaku-status").textContent = text; }

async function loadTrack(episodeId, label, gen) {
  const data = await api(`/api/danmaku/comments/${encodeURIComponent(episodeId)}`, { quiet: true });
  if (gen !== generation) return;
  renderer.load(Array.isArray(data.comments) ? data.comments : []);
  status(t("danmaku_loaded", { n: data.count, name: label }));
  window.__danmaku = { episodeId, count: data.count, renderer };
}

async function fromChoice(gen) {
  const saved = await api(`/api/danmaku/choice?key=${encodeURIComponent(currentKey())}`, { quiet: true }).catch(() => null);
  const choice = saved && saved.choice;
  if (!choice) return false;
  const found = await api(`/api/danmaku/search?anime=${encodeURIComponent(choice.keyword)}`, { quiet: true });
  const anime = (found.animes || []).find((a) => a.animeId === choice.animeId);
  const episode = anime && anime.episodes[S.episode + choice.offset];
  if (!episode) return false;
  await loadTrack(episode.episodeId, `${anime.animeTitle} ${episode.episodeTitle}`, gen);
  return true;
}

async function autoMatch(gen) {
  const count = Number(pref("danmakuRetryCount") ?? 3);
  const platform = pref("preferredDanmakuPlatform") || "bilibili1";
  const query = new URLSearchParams({ title: S.title || S.current.title, episode_title: episodeTitle(), index: String(S.episode), platform });
  for (let attempt = 0; count < 0 || attempt <= count; attempt += 1) {
    if (gen !== generation) return;
    try {
      const result = await api(`/api/danmaku/match?${query}`, { quiet: true });
      if (gen !== generation) return;
      if (result.match) {
        await loadTrack(result.match.episodeId, `${result.match.animeTitle} ${result.match.episodeTitle}`, gen);
        return;
      }
    } catch (e) { /* retried below */ }
    await sleep(1500);
  }
  if (gen === generation) { status(t("danmaku_auto_failed")); playerToast(t("danmaku_auto_failed")); }
}

async function loadForEpisode() {
  const gen = ++generation;
  renderer.load([]);
  status("");
  if (!available || !S.current) return;
  try {
    if (await fromChoice(gen)) return;
  } catch (e) { /* fall back to matching */ }
  if (pref("autoDanmakuEnabled") === false) { status(t("danmaku_pick_hint")); return; }
  await autoMatch(gen);
}

// ---------------------------------------------------------------- manual picker
const dialog = $("danmaku-dialog");
async function search() {
  const keyword = $("danmaku-keyword").value.trim();
  if (!keyword) return;
  const list = $("danmaku-animes");
  list.replaceChildren(el("li", { class: "muted", text: t("loading") }));
  $("danmaku-episodes").replaceChildren();
  try {
    const found = await api(`/api/danmaku/search?anime=${encodeURIComponent(keyword)}`);
    const animes = found.animes || [];
    list.replaceChildren(...(animes.length ? animes.map((anime) => el("li", {},
      el("button", { type: "button", class: "picker-item", onclick: () => showEpisodes(anime, keyword) },
        el("strong", { text: anime.animeTitle }), el("span", { text: `${anime.typeDescription || ""} · ${anime.episodes.length}` }))))
      : [el("li", { class: "muted", text: t("no_results") })]));
  } catch (e) { list.replaceChildren(); }
}
function showEpisodes(anime, keyword) {
  const current = episodeTitle();
  let preselect = anime.episodes.findIndex((e) => e.episodeTitle === current);
  if (preselect < 0) preselect = S.episode < anime.episodes.length ? S.episode : 0;
  $("danmaku-episodes").replaceChildren(...anime.episodes.map((episode, i) => el("li", {},
    el("button", {
      type: "button", class: "picker-item", "aria-current": i === preselect ? "true" : "false",
      onclick: () => pick(anime, episode, i, keyword), text: episode.episodeTitle,
    }))));
  const chosen = $("danmaku-episodes").querySelector('[aria-current="true"]');
  if (chosen) chosen.scrollIntoView({ block: "nearest" });
}
async function pick(anime, episode, index, keyword) {
  dialog.close();
  const gen = ++generation;
  await loadTrack(episode.episodeId, `${anime.animeTitle} ${episode.episodeTitle}`, gen);
  const choice = { animeId: anime.animeId, animeTitle: anime.animeTitle, keyword, offset: index - S.episode };
  api("/api/danmaku/choice", { method: "POST", body: { key: currentKey(), choice }, quiet: true }).catch(() => null);
  playerToast(t("danmaku_picked"));
}

// ---------------------------------------------------------------- wiring
function bindSettings() {
  const fields = { "danmaku-opacity": "opacity", "danmaku-size": "fontSize", "danmaku-speed": "speed", "danmaku-area": "area", "danmaku-density": "density", "danmaku-filter": "filter" };
  for (const [id, name] of Object.entries(fields)) {
    const input = $(id);
    input.value = String(settings[name]);
    input.addEventListener(input.tagName === "SELECT" ? "change" : "input", () => { settings[name] = input.value; apply(); });
  }
  const toggle = $("danmaku-enable");
  toggle.checked = Boolean(settings.enabled);
  const setEnabled = (on) => { settings.enabled = on; toggle.checked = on; apply(); };
  toggle.addEventListener("change", () => setEnabled(toggle.checked));
  $("btn-danmaku").addEventListener("click", () => setEnabled(!settings.enabled));
  $("danmaku-pick").addEventListener("click", () => {
    $("danmaku-keyword").value = S.title || (S.current && S.current.title) || "";
    dialog.showModal();
    search();
  });
  $("danmaku-search").addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
}

export async function initDanmaku() {
  try { available = Boolean((await api("/api/danmaku/config", { quiet: true })).enabled); } catch (e) { available = false; }
  for (const node of document.querySelectorAll("[data-danmaku]")) node.hidden = !available;
  if (!available) { canvas.hidden = true; return; }
  bindSettings();
  apply();
  document.addEventListener("moontv:episode", loadForEpisode);
  if (S.current && episodesOf(S.current).length) loadForEpisode();
}
