/* Search page: the search-source selector. The chosen subset of the user's sources is kept in
   localStorage (`savedSources`, a JSON list of source keys; absent = every source). */
(() => {
  "use strict";
  const M = window.MoonTV;
  const button = document.getElementById("sources-button");
  const dialog = document.getElementById("sources-dialog");
  if (!button || !dialog || typeof dialog.showModal !== "function") return;
  const form = document.getElementById("sources-form");
  const boxes = [...form.querySelectorAll("input[name=source]")];

  function saved() {
    const value = M.pref("savedSources");
    const keys = new Set(boxes.map((box) => box.value));
    return Array.isArray(value) ? value.filter((key) => typeof key === "string" && keys.has(key)) : [];
  }
  function showCount() {
    const n = saved().length;
    button.dataset.count = n ? String(n) : "";
    button.classList.toggle("is-active", n > 0);
  }

  button.addEventListener("click", () => {
    const chosen = new Set(saved());
    for (const box of boxes) box.checked = chosen.has(box.value);
    dialog.returnValue = "";
    dialog.showModal();
  });
  document.getElementById("sources-all").addEventListener("click", () => { for (const box of boxes) box.checked = true; });
  document.getElementById("sources-none").addEventListener("click", () => { for (const box of boxes) box.checked = false; });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "save") return;
    const before = saved().join(",");
    const keys = boxes.filter((box) => box.checked).map((box) => box.value);
    M.setPref("savedSources", keys.length && keys.length < boxes.length ? keys : null);
    showCount();
    if (saved().join(",") !== before && (M.boot.page || {}).q) location.reload();
  });
  showCount();
})();
