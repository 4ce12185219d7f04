/* Play page state shared by its modules: the page parameters, the DOM handles and the player's messages. */
export const M = window.MoonTV;
export const { t, el, api, pref, fmtTime } = M;
export const page = M.boot.page || {};
const P = page.params || {};
export const params = P;
export const $ = (id) => document.getElementById(id);
export const video = $("player");
export const box = $("player-box");

export const PROXY_MISSING = "moontv_proxy_missing";
export const EPISODES_PER_PAGE = 50;
export const S = {
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

export const keyOf = (item) => `${item.source}+${item.id}`;
export const currentKey = () => (S.current ? keyOf(S.current) : "");
export const norm = (text) => String(text || "").replace(/\s+/g, "").toLowerCase();
export const safeUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url.trim()) ? url.trim() : "");
export const episodesOf = (item) => (Array.isArray(item && item.episodes) ? item.episodes : []);

let toastTimer = 0;
export function playerToast(text) {
  const node = $("player-toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 2200);
}
export function showError(title, text, { canSwitch = true, canRetry = true } = {}) {
  box.classList.remove("is-loading");
  $("player-error-title").textContent = title;
  $("player-error-text").textContent = text || "";
  $("error-switch").hidden = !canSwitch;
  $("error-retry").hidden = !canRetry;
  $("player-error").hidden = false;
}
export function hideError() { $("player-error").hidden = true; }
