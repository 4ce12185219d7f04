(() => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const show = (text) => { error.textContent = text; error.hidden = false; };
  async function submit(path) {
    error.hidden = true;
    const body = { username: form.username.value.trim(), password: form.password.value };
    try {
      const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body), credentials: "same-origin" });
      const data = await res.json().catch(() => ({}));
      if (res.ok) {
        const target = new URLSearchParams(location.search).get("redirect") || "/";
        location.replace(target.startsWith("/") && !target.startsWith("//") ? target : "/");
        return;
      }
      show(data.error || `登录失败 (${res.status})`);
    } catch (e) { show("网络错误，请重试"); }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submit("/api/login"); });
  const reg = document.getElementById("register");
  if (reg) reg.addEventListener("click", () => submit("/api/register"));
})();
