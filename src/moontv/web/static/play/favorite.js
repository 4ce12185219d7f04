/* The favorite toggle of the title being played. */
import { S, $, t, api, currentKey, episodesOf, safeUrl } from "./state.js";

export function renderFavorite() {
  const button = $("fav-button");
  button.hidden = !S.current;
  button.setAttribute("aria-pressed", String(S.favorite));
  const label = S.favorite ? t("favorited") : t("add_favorite");
  $("fav-label").textContent = label;
  button.setAttribute("aria-label", S.favorite ? t("remove_favorite") : t("add_favorite"));
}
$("fav-button").addEventListener("click", async () => {
  if (!S.current) return;
  const key = currentKey();
  const on = !S.favorite;
  S.favorite = on;
  renderFavorite();
  const item = S.current;
  try {
    if (on) {
      await api("/api/favorites", {
        method: "POST",
        body: {
          key,
          favorite: {
            title: S.title || item.title, source_name: item.source_name || item.source,
            year: item.year && item.year !== "unknown" ? String(item.year) : "", cover: safeUrl(item.poster),
            total_episodes: episodesOf(item).length, save_time: Date.now(), search_title: S.stitle || "",
          },
        },
      });
    } else {
      await api(`/api/favorites?key=${encodeURIComponent(key)}`, { method: "DELETE" });
    }
  } catch (e) {
    S.favorite = !on;
    renderFavorite();
  }
});
