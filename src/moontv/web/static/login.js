/* Login / registration form. */
(() => {
  "use strict";
  const { t, boot } = window.MoonTV;
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const submitButton = document.getElementById("login-submit");
  const registerButton = document.getElementById("register");
  const show = (text) => { error.textContent = text; error.hidden = false; };

  function target() {
    // The server already cleaned it (web/redirects.py); check again after the browser's own
    // URL clean-up (tabs/newlines removed, "\" read as "/"), which is what location.replace sees.
    const wanted = (boot.page && boot.page.redirect) || "/";
    if (!/^\/(?![/\\])/.test(wanted)) return "/";
    let url;
    try { url = new URL(wanted, location.origin); } catch (e) { return "/"; }
    if (url.origin !== location.origin) return "/";
    return url.pathname + url.search + url.hash;
  }

  async function submit(path, button) {
    error.hidden = true;
    if (!form.password.value) { show(t("login_password")); form.password.focus(); return; }
    const body = { username: form.username.value.trim(), password: form.password.value };
    if (!body.username) delete body.username;
    button.disabled = true;
    try {
      const res = await fetch(path, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin",
      });
      const data = await res.json().catch(() => ({}));
      if (res.ok) { location.replace(target()); return; }
      show(data.error || `${t("login_failed")} (${res.status})`);
    } catch (e) {
      show(t("network_error"));
    } finally {
      button.disabled = false;
    }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submit("/api/login", submitButton); });
  if (registerButton) registerButton.addEventListener("click", () => submit("/api/register", registerButton));
  (form.username.value ? form.password : form.username).focus();
})();
