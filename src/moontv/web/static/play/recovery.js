/* Self-recovery: when the stream of a source fails for good, the same title plays from another source that
   is known to work (its speed test passed, or it is probed now), with a short toast and no error codes.
   Only when no source works does the error with its "switch source" button stay. */
import { S, M, t, keyOf, currentKey, showError, hidePlayerToast } from "./state.js";
import { switchSource, probe } from "./sources.js";

const failed = new Set();
const PROBE_LIMIT = 6;  // candidates probed per failure, at most
const SEARCH_WAIT_MS = 8000;

const works = (item) => {
  const result = S.probes.get(keyOf(item));
  return Boolean(result && result !== "pending" && result.ok);
};

async function workingAlternative() {
  const others = () => S.candidates.filter((c) => !failed.has(keyOf(c)));
  const known = others().find(works);
  if (known) return known;
  for (const item of others().slice(0, PROBE_LIMIT)) {
    await probe(item);
    if (S.probeAvailable === false) return others()[0] || null;  // no speed test here: try the next one
    if (works(item)) return item;
  }
  return null;
}

async function searchSettled() {
  const until = Date.now() + SEARCH_WAIT_MS;
  while (!S.searchDone && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
}

let running = false;
export async function recover() {
  if (running) return;
  running = true;
  try {
    const key = currentKey();
    if (key) failed.add(key);
    let next = await workingAlternative();
    if (!next && !S.searchDone) {
      await searchSettled();  // the streaming search may still bring other sources
      next = await workingAlternative();
    }
    if (!next) {
      showError(t("play_error"), t("play_error_hint"), { canSwitch: S.candidates.length > 1 });
      return;
    }
    hidePlayerToast();
    M.clearToasts();
    await switchSource(next, { quiet: true });
    M.toast(t("fallback_source", { name: next.source_name || next.source }), "info", 3500, { group: "player" });
  } finally {
    running = false;
  }
}
