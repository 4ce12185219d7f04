/* Login / registration form. */
(() => {
  "use strict";
  const { t } = window.MoonTV;
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const submitButton = document.getElementById("login-submit");
  const registerButton = document.getElementById("register");
  const show = (text) => { error.textContent = text; error.hidden = false; };

  function target() {
    const wanted = new URLSearchParams(location.search).get("redirect") || "/";
    // Only same-site paths: "/x" but never "//host" or "/\host".
    return /^\/(?![/\\])/.test(wanted) ? wanted : "/";
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
