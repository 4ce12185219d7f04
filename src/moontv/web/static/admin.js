/* Admin panel: every write carries the config version it was based on; a 409 means another admin
   changed the config meanwhile, and the page reloads it. Texts from the config go through textContent. */
(() => {
  "use strict";
  const M = window.MoonTV;
  const root = document.getElementById("admin");
  if (!M || !root) return;
  const { el, toast } = M;
  const $ = (sel, scope = document) => scope.querySelector(sel);
  const $$ = (sel, scope = document) => Array.from(scope.querySelectorAll(sel));
  const TEXT = M.boot.lang === "en" ? window.MoonTVAdminText || {} : {};
  /* The admin panel's own catalogue (admin-i18n.js): the Chinese text is the key; {0}/{name} are filled in. */
  function tr(text, vars) {
    let out = Object.prototype.hasOwnProperty.call(TEXT, text) ? TEXT[text] : text;
    if (vars) for (const [name, value] of Object.entries(vars)) out = out.split(`{${name}}`).join(String(value));
    return out;
  }
  /* Texts written in admin.html: text nodes and labelling attributes, translated once at start. */
  function translatePage(scope) {
    if (!M.boot.lang || M.boot.lang === "zh-CN") return;
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.nodeValue.trim();
      if (text && Object.prototype.hasOwnProperty.call(TEXT, text)) node.nodeValue = node.nodeValue.replace(text, TEXT[text]);
    }
    for (const attr of ["aria-label", "placeholder", "title"]) {
      for (const node of scope.querySelectorAll(`[${attr}]`)) node.setAttribute(attr, tr(node.getAttribute(attr)));
    }
  }
  /* The form label of a config key ("SearchDownstreamMaxPage" -> its <label>'s own text), or null. */
  function fieldLabel(name) {
    const input = root.querySelector(`[name="${CSS.escape(name)}"]`);
    const label = input && input.closest("label");
    if (!label) return null;
    const text = Array.from(label.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.nodeValue).join(" ").trim();
    return text || null;
  }
  /* A server message in the words of the form: config keys become the labels the admin sees. */
  function humanize(message) {
    const named = String(message).replace(/^([A-Za-z][A-Za-z0-9]+) (?=必须)/, (all, key) => {
      const label = fieldLabel(key);
      if (!label) return all;
      const input = root.querySelector(`[name="${CSS.escape(key)}"]`);
      input.setAttribute("aria-invalid", "true");
      input.addEventListener("input", () => input.removeAttribute("aria-invalid"), { once: true });
      input.focus();
      return `「${label}」`;
    });
    if (Object.prototype.hasOwnProperty.call(TEXT, named)) return TEXT[named];
    for (const [key, value] of Object.entries(TEXT)) {
      if (!key.includes("{0}")) continue;
      const names = [];
      const pattern = key.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\d+)\}/g, (m, n) => { names.push(n); return "(.+?)"; });
      const match = new RegExp(`^${pattern}$`).exec(named);
      if (match) return tr(key, Object.fromEntries(names.map((n, i) => [n, match[i + 1]])));
    }
    return named;
  }
  translatePage(root);
  if (M.boot.lang === "en") document.title = document.title.replace("管理面板", tr("管理面板"));
  const me = root.dataset.username;
  const myRole = root.dataset.role;
  let state = null; // { Role, Config, version, StorageType }
  let sourceOrderDirty = false;
  let categoryOrderDirty = false;

  async function call(path, body, method = "POST") {
    const payload = body === undefined ? undefined : { ...body };
    if (payload && state) payload.version = state.version;
    const res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: payload ? { "Content-Type": "application/json" } : {},
      body: payload ? JSON.stringify(payload) : undefined,
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) { M.goLogin(); throw new Error("Unauthorized"); }
    if (res.status === 409) {
      toast(data.error ? humanize(data.error) : tr("配置已被其他管理员修改，请刷新后重试"), "error", 4000);
      await load();
      throw new Error("conflict");
    }
    if (!res.ok) {
      toast(data.error ? humanize(data.error) : `HTTP ${res.status}`, "error", 4000);
      const err = new Error(data.error || String(res.status));
      err.status = res.status;
      throw err;
    }
    if (typeof data.version === "number" && state) state.version = data.version;
    return data;
  }

  async function change(path, body, message) {
    const data = await call(path, body);
    if (message) toast(message, "success");
    await load();
    return data;
  }

  async function load() {
    const res = await fetch("/api/admin/config", { credentials: "same-origin", cache: "no-store" });
    const data = await res.json().catch(() => ({}));
    const box = $("#admin-error");
    if (!res.ok) {
      box.textContent = data.error || `HTTP ${res.status}`;
      box.hidden = false;
      if (res.status === 401) M.goLogin();
      return;
    }
    box.hidden = true;
    state = data;
    render();
  }

  function render() {
    const cfg = state.Config;
    $("#admin-role").textContent = { owner: tr("站长"), admin: tr("管理员") }[state.Role] || state.Role;
    $("#admin-storage").textContent = state.StorageType;
    $("#admin-version").textContent = String(state.version);
    renderSite(cfg.SiteConfig);
    renderSources(cfg.SourceConfig);
    renderUsers(cfg.UserConfig, cfg.SourceConfig);
    renderGroups(cfg.UserConfig, cfg.SourceConfig);
    renderCategories(cfg.CustomCategories);
    renderSubscription(cfg.SubscriptionConfig || {});
    $("#tvbox-enabled").checked = cfg.SiteConfig.TVBoxEnabled === true;
    const editor = $("#config-file");
    if (document.activeElement !== editor) editor.value = pretty(cfg.ConfigFile || "{}");
    loadRefresh();
  }

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  // ---- site ----
  function renderSite(site) {
    const form = $("#site-form");
    for (const input of form.elements) {
      if (!input.name || !(input.name in site)) continue;
      if (input.type === "checkbox") input.checked = site[input.name] === true;
      else input.value = site[input.name] ?? "";
    }
  }
  $("#site-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const body = {};
    for (const input of form.elements) {
      if (!input.name) continue;
      if (input.type === "checkbox") body[input.name] = input.checked;
      else if (input.type === "number") body[input.name] = Number(input.value);
      else body[input.name] = input.value;
    }
    change("/api/admin/site", body, tr("保存成功")).catch(() => null);
  });

  // ---- sources ----
  let editingKey = null;
  function renderSources(sources) {
    const body = $("#sources-table tbody");
    body.replaceChildren();
    for (const s of sources) {
      const row = el("tr", { "data-key": s.key, draggable: "true", class: s.disabled ? "is-disabled" : null },
        el("td", { class: "drag", title: tr("拖动排序"), text: "⠿" }),
        el("td", {}, el("input", { type: "checkbox", class: "source-pick", value: s.key, "aria-label": tr("选择 {0}", [s.name]) })),
        el("td", { text: s.name }),
        el("td", {}, el("code", { text: s.key })),
        el("td", { class: "url", text: s.api, title: s.api }),
        el("td", { class: "url", text: s.detail || "", title: s.detail || "" }),
        el("td", {}, el("span", { class: s.disabled ? "pill pill-off" : "pill pill-on", text: s.disabled ? tr("已禁用") : tr("启用中") })),
        el("td", { class: "row-actions" },
          el("button", { type: "button", class: "btn btn-sm", "data-act": "up", "aria-label": tr("上移"), text: "↑" }),
          el("button", { type: "button", class: "btn btn-sm", "data-act": "down", "aria-label": tr("下移"), text: "↓" }),
          el("button", { type: "button", class: "btn btn-sm", "data-act": s.disabled ? "enable" : "disable", text: s.disabled ? tr("启用") : tr("禁用") }),
          s.from === "config" ? el("span", { class: "muted", text: tr("配置文件") }) : [
            el("button", { type: "button", class: "btn btn-sm", "data-act": "edit", text: tr("编辑") }),
            el("button", { type: "button", class: "btn btn-sm btn-danger", "data-act": "delete", text: tr("删除") }),
          ]));
      body.append(row);
    }
    sourceOrderDirty = false;
    $("#save-order").hidden = true;
    $("#sources-all").checked = false;
  }

  $("#sources-table tbody").addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-act]");
    if (!button) return;
    const row = button.closest("tr");
    const key = row.dataset.key;
    const act = button.dataset.act;
    if (act === "up" || act === "down") {
      const sibling = act === "up" ? row.previousElementSibling : row.nextElementSibling;
      if (sibling) act === "up" ? sibling.before(row) : sibling.after(row);
      markSourceOrder();
      return;
    }
    if (act === "edit") return startEdit(key);
    if (act === "delete" && !(await M.confirm(tr("确定删除视频源 {0} 吗？", [key])))) return;
    change("/api/admin/source", { action: act, key }).catch(() => null);
  });

  function markSourceOrder() { sourceOrderDirty = true; $("#save-order").hidden = false; }
  $("#save-order").addEventListener("click", () => {
    const order = $$("#sources-table tbody tr").map((r) => r.dataset.key);
    change("/api/admin/source", { action: "sort", order }, tr("排序已保存")).catch(() => null);
  });
  wireDrag($("#sources-table tbody"), markSourceOrder);

  $("#sources-all").addEventListener("change", (ev) => {
    for (const box of $$(".source-pick")) box.checked = ev.currentTarget.checked;
  });
  for (const button of $$("[data-batch]")) {
    button.addEventListener("click", async () => {
      const keys = $$(".source-pick:checked").map((b) => b.value);
      if (!keys.length) return toast(tr("请先选择视频源"), "error");
      const action = button.dataset.batch;
      const label = { batchEnable: tr("启用"), batchDisable: tr("禁用"), batchDelete: tr("删除（配置文件中的源会被跳过）") }[action];
      if (!(await M.confirm(tr("确定{0} {1} 个视频源吗？", [label, keys.length])))) return;
      change("/api/admin/source", { action, keys }, tr("操作成功")).catch(() => null);
    });
  }

  function startEdit(key) {
    const source = state.Config.SourceConfig.find((s) => s.key === key);
    if (!source) return;
    editingKey = key;
    const form = $("#source-form");
    form.elements.name.value = source.name;
    form.elements.key.value = source.key;
    form.elements.key.readOnly = true;
    form.elements.api.value = source.api;
    form.elements.detail.value = source.detail || "";
    $("#source-form-title").textContent = tr("编辑视频源 {0}", [key]);
    $("#source-submit").textContent = tr("保存修改");
    $("#source-cancel").hidden = false;
    form.scrollIntoView({ block: "center" });
  }
  function endEdit() {
    editingKey = null;
    const form = $("#source-form");
    form.reset();
    form.elements.key.readOnly = false;
    $("#source-form-title").textContent = tr("添加视频源");
    $("#source-submit").textContent = tr("添加");
    $("#source-cancel").hidden = true;
  }
  $("#source-cancel").addEventListener("click", endEdit);
  $("#source-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.currentTarget.elements;
    const body = { name: f.name.value.trim(), key: f.key.value.trim(), api: f.api.value.trim(), detail: f.detail.value.trim() };
    try {
      await change("/api/admin/source", { action: editingKey ? "edit" : "add", ...body }, editingKey ? tr("已保存") : tr("已添加"));
      endEdit();
    } catch (e) { /* toast shown */ }
  });

  // ---- validity check ----
  let checkTimer = null;
  $("#check-sources").addEventListener("click", async () => {
    const keys = $$(".source-pick:checked").map((b) => b.value);
    const query = $("#check-query").value.trim();
    try {
      const job = await call("/api/admin/source/check", keys.length ? { keys, query } : { query });
      showCheck(job);
      pollCheck(job.id);
    } catch (e) { /* toast shown */ }
  });
  function pollCheck(id) {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(async () => {
      const res = await fetch(`/api/admin/source/check/${encodeURIComponent(id)}`, { credentials: "same-origin", cache: "no-store" });
      if (!res.ok) return;
      const job = await res.json();
      showCheck(job);
      if (job.status !== "done") pollCheck(id);
    }, 500);
  }
  const yesNo = (v) => (v === null || v === undefined ? "…" : v ? "✓" : "✗");
  function showCheck(job) {
    $("#check-panel").hidden = false;
    const progress = $("#check-progress");
    progress.max = Math.max(job.total, 1);
    progress.value = job.done;
    $("#check-status").textContent = job.status === "done"
      ? tr("完成：{0}/{1} 可用，{2} 失败", [job.ok, job.total, job.failed])
      : tr("检测中 {0}/{1}", [job.done, job.total]);
    $("#check-panel").dataset.status = job.status;
    const body = $("#check-results tbody");
    body.replaceChildren(...job.results.map((r) => el("tr", { "data-key": r.key, "data-status": r.status },
      el("td", { text: r.name }),
      el("td", {}, el("span", { class: `pill pill-${r.status}`, text: { ok: tr("可用"), warn: tr("部分可用"), failed: tr("不可用"), pending: tr("检测中") }[r.status] || r.status })),
      el("td", { text: yesNo(r.reachable) }),
      el("td", { text: yesNo(r.searchWorks) }),
      el("td", { text: yesNo(r.m3u8) }),
      el("td", { text: r.status !== "pending" && r.stream === null ? "–" : yesNo(r.stream) }),
      el("td", { text: r.latencyMs === null ? "…" : `${r.latencyMs} ms` }),
      el("td", { text: r.keyword || "" }),
      el("td", { text: checkMessage(r) }))));
  }
  function checkMessage(r) {
    const key = `check:${r.code}`;
    if (!r.code || !Object.prototype.hasOwnProperty.call(TEXT, key)) return r.message || "";
    const detail = /\(HTTP \d+\)|: .+$/.exec(r.message || "");
    return tr(key, [r.results]) + (detail && r.code !== "ok" ? ` ${detail[0].replace(/^: /, "— ")}` : "");
  }


  // ---- dialogs (instead of window.prompt) ----
  /* Opens ``dialog``; resolves with ``read(form)`` when it is submitted and ``check(form)`` returns no
     error text, or with null when it is cancelled. Focus goes back to ``opener`` either way. */
  function formDialog(dialog, opener, read, check = () => "") {
    const form = dialog.querySelector("form");
    const error = form.querySelector(".form-error");
    if (error) error.hidden = true;
    return new Promise((resolve) => {
      let result = null;
      const onSubmit = (ev) => {
        ev.preventDefault();
        const problem = check(form);
        if (problem) {
          if (error) { error.textContent = problem; error.hidden = false; }
          return;
        }
        result = read(form);
        dialog.close();
      };
      const onCancel = (ev) => {
        if (ev.target.closest("button[value=cancel]")) dialog.close();
      };
      form.addEventListener("submit", onSubmit);
      form.addEventListener("click", onCancel);
      dialog.addEventListener("close", () => {
        form.removeEventListener("submit", onSubmit);
        form.removeEventListener("click", onCancel);
        if (opener && opener.isConnected) opener.focus();
        resolve(result);
      }, { once: true });
      dialog.showModal();
      const first = form.querySelector("input:not([type=hidden])");
      if (first) first.focus();
    });
  }
  function askPassword(username, opener) {
    const dialog = $("#user-password-dialog");
    const form = dialog.querySelector("form");
    form.reset();
    dialog.querySelector("[data-slot=subject]").textContent = tr("用户：{name}", { name: username });
    return formDialog(dialog, opener, (f) => f.elements.password.value, (f) => {
      if (!f.elements.password.value) return tr("请输入新密码");
      if (f.elements.password.value !== f.elements.repeat.value) return tr("两次输入的密码不一致");
      return "";
    });
  }
  function askSources(username, opener) {
    const dialog = $("#user-sources-dialog");
    const current = new Set((state.Config.UserConfig.Users.find((u) => u.username === username) || {}).enabledApis || []);
    dialog.querySelector("[data-slot=subject]").textContent = tr("用户：{name}", { name: username });
    const list = dialog.querySelector("[data-slot=list]");
    list.replaceChildren(list.querySelector("legend"), ...state.Config.SourceConfig.map((s) => el("label", { class: "check" },
      el("input", { type: "checkbox", name: "source", value: s.key, checked: current.has(s.key) }), ` ${s.name} (${s.key})`)));
    return formDialog(dialog, opener, (f) => $$("input[name=source]:checked", f).map((box) => box.value));
  }
  function askGroupName(current, opener) {
    const dialog = $("#group-name-dialog");
    dialog.querySelector("input[name=name]").value = current;
    return formDialog(dialog, opener, (f) => f.elements.name.value.trim(),
      (f) => (f.elements.name.value.trim() ? "" : tr("请输入分组名称")));
  }

  // ---- users ----
  const ROLE_LABEL = { owner: tr("站长"), admin: tr("管理员"), user: tr("普通用户") };
  function userOrder(u) { return u.username === me ? 0 : u.role === "owner" ? 1 : u.role === "admin" ? 2 : 3; }
  function renderUsers(userConfig, sources) {
    $("#allow-register").checked = userConfig.AllowRegister === true;
    const users = [...userConfig.Users].sort((a, b) => userOrder(a) - userOrder(b));
    $("#user-count").textContent = String(users.length);
    const body = $("#users-table tbody");
    // a re-render replaces the row buttons: keep keyboard focus on the same action of the same user
    const focused = body.contains(document.activeElement) ? document.activeElement : null;
    const keep = focused && focused.dataset.act
      ? { user: focused.closest("tr").dataset.username, act: focused.dataset.act } : null;
    body.replaceChildren();
    const isOwner = myRole === "owner";
    for (const u of users) {
      const self = u.username === me;
      const target = u.role;
      const canManage = target !== "owner" && (isOwner || target === "user");
      const actions = [];
      if (target !== "owner" && (canManage || self)) actions.push(btn("changePassword", tr("修改密码")));
      if (isOwner && target === "user") actions.push(btn("setAdmin", tr("设为管理")));
      if (isOwner && target === "admin") actions.push(btn("cancelAdmin", tr("取消管理")));
      if (canManage && !self) actions.push(u.banned ? btn("unban", tr("解封")) : btn("ban", tr("封禁")));
      if (canManage && !self) actions.push(btn("setSources", tr("视频源")));
      if (canManage && !self) actions.push(btn("tvboxRotate", tr("TVBox 令牌")));
      if (canManage && !self && u.tvbox && u.tvbox.active) actions.push(btn("tvboxRevoke", tr("撤销令牌")));
      if (canManage && !self) actions.push(btn("deleteUser", tr("删除"), "btn-danger"));
      const personal = Array.isArray(u.enabledApis) && u.enabledApis.length ? u.enabledApis.join(", ") : "";
      body.append(el("tr", { "data-username": u.username, class: u.banned ? "is-disabled" : null },
        el("td", {}, target === "owner" ? "" : el("input", { type: "checkbox", class: "user-pick", value: u.username, "aria-label": tr("选择 {0}", [u.username]) })),
        el("td", { text: u.username + (self ? tr("（我）") : "") }),
        el("td", { text: ROLE_LABEL[target] || target }),
        el("td", { text: u.group || "" }),
        el("td", { class: "url", text: personal, title: personal }),
        el("td", { text: u.lastOnline ? new Date(u.lastOnline).toLocaleString() : tr("从未") }),
        el("td", {}, el("span", { class: u.banned ? "pill pill-off" : "pill pill-on", text: u.banned ? tr("已封禁") : tr("正常") })),
        el("td", { text: u.tvbox && u.tvbox.active ? tr("已启用") : "" }),
        el("td", { class: "row-actions" }, actions)));
    }
    if (keep) {
      const again = [...body.querySelectorAll("tr[data-username]")].find((row) => row.dataset.username === keep.user);
      const button = again && again.querySelector(`button[data-act="${keep.act}"]`);
      if (button) button.focus();
    }
    void sources;
  }
  function btn(act, label, extra = "") {
    return el("button", { type: "button", class: `btn btn-sm ${extra}`, "data-act": act, text: label });
  }
  $("#users-table tbody").addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-act]");
    if (!button) return;
    const username = button.closest("tr").dataset.username;
    const act = button.dataset.act;
    try {
      if (act === "changePassword") {
        const pw = await askPassword(username, button);
        if (!pw) return;
        await change("/api/admin/user", { action: act, targetUsername: username, targetPassword: pw }, tr("密码已修改"));
      } else if (act === "setSources") {
        const keys = await askSources(username, button);
        if (!keys) return;
        await change("/api/admin/user", { action: act, targetUsername: username, sourceKeys: keys }, tr("已保存"));
      } else if (act === "tvboxRotate" || act === "tvboxRevoke") {
        const data = await call("/api/admin/tvbox", { action: act === "tvboxRotate" ? "rotate" : "revoke", username });
        if (data.url) showTvboxUrl(data.url, tr("{0} 的 TVBox 地址（只显示一次）", [username]));
        else toast(tr("令牌已撤销"), "success");
        await load();
      } else {
        const labels = { ban: tr("封禁"), unban: tr("解封"), setAdmin: tr("设为管理员"), cancelAdmin: tr("取消管理员"), deleteUser: tr("删除") };
        if (!(await M.confirm(tr("确定{0}用户 {1} 吗？", [labels[act] || act, username])))) return;
        await change("/api/admin/user", { action: act, targetUsername: username }, tr("操作成功"));
      }
    } catch (e) { /* toast shown */ }
  });
  $("#allow-register").addEventListener("change", (ev) => {
    change("/api/admin/user", { action: "setAllowRegister", allowRegister: ev.currentTarget.checked }, tr("已保存")).catch(() => null);
  });
  $("#user-add-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = form.elements;
    try {
      await change("/api/admin/user", { action: "add", targetUsername: f.username.value.trim(), targetPassword: f.password.value }, tr("用户已添加"));
      form.reset();
    } catch (e) { /* toast shown */ }
  });

  // ---- groups ----
  function renderGroups(userConfig, sources) {
    const select = $("#group-select");
    const previous = select.value;
    const groups = userConfig.Groups || [];
    select.replaceChildren(...groups.map((g) => el("option", { value: g.name, text: tr("{0}（{1} 个源）", [g.name, (g.sourceKeys || []).length]) })));
    if (groups.some((g) => g.name === previous)) select.value = previous;
    renderGroupSources(sources);
  }
  function renderGroupSources(sources = state.Config.SourceConfig) {
    const group = (state.Config.UserConfig.Groups || []).find((g) => g.name === $("#group-select").value);
    const chosen = new Set(group ? group.sourceKeys || [] : []);
    $("#group-sources").replaceChildren(...sources.map((s) => el("label", { class: "check" },
      el("input", { type: "checkbox", class: "group-source", value: s.key, checked: chosen.has(s.key), disabled: !group }), ` ${s.name}`)));
  }
  $("#group-select").addEventListener("change", () => renderGroupSources());
  const selectedUsers = () => $$(".user-pick:checked").map((b) => b.value);
  const currentGroup = () => $("#group-select").value;
  $("#group-create-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    try {
      await change("/api/admin/group", { action: "create", name: form.elements.name.value.trim(), sourceKeys: [] }, tr("分组已创建"));
      form.reset();
    } catch (e) { /* toast shown */ }
  });
  $("#group-save-sources").addEventListener("click", () => {
    if (!currentGroup()) return toast(tr("请先创建分组"), "error");
    const keys = $$(".group-source:checked").map((b) => b.value);
    change("/api/admin/group", { action: "setSources", name: currentGroup(), sourceKeys: keys }, tr("已保存")).catch(() => null);
  });
  $("#group-assign").addEventListener("click", () => {
    const users = selectedUsers();
    if (!currentGroup() || !users.length) return toast(tr("请选择分组和用户"), "error");
    change("/api/admin/group", { action: "assignUsers", name: currentGroup(), users }, tr("已加入分组")).catch(() => null);
  });
  $("#group-remove").addEventListener("click", () => {
    const users = selectedUsers();
    if (!users.length) return toast(tr("请选择用户"), "error");
    change("/api/admin/group", { action: "removeUsers", users }, tr("已移出分组")).catch(() => null);
  });
  $("#group-rename").addEventListener("click", async () => {
    if (!currentGroup()) return;
    const newName = await askGroupName(currentGroup(), $("#group-rename"));
    if (!newName || newName === currentGroup()) return;
    change("/api/admin/group", { action: "rename", name: currentGroup(), newName: newName.trim() }, tr("已重命名")).catch(() => null);
  });
  $("#group-delete").addEventListener("click", async () => {
    if (!currentGroup() || !(await M.confirm(tr("确定删除分组 {0} 吗？", [currentGroup()])))) return;
    change("/api/admin/group", { action: "delete", name: currentGroup() }, tr("分组已删除")).catch(() => null);
  });

  // ---- categories ----
  function renderCategories(categories) {
    const body = $("#categories-table tbody");
    body.replaceChildren(...categories.map((c) => el("tr", { "data-id": `${c.query}:${c.type}`, draggable: "true", class: c.disabled ? "is-disabled" : null },
      el("td", { class: "drag", text: "⠿" }),
      el("td", { text: c.name || c.query }),
      el("td", { text: c.type === "movie" ? tr("电影") : tr("电视剧") }),
      el("td", { text: c.query }),
      el("td", {}, el("span", { class: c.disabled ? "pill pill-off" : "pill pill-on", text: c.disabled ? tr("已禁用") : tr("启用中") })),
      el("td", { class: "row-actions" },
        el("button", { type: "button", class: "btn btn-sm", "data-act": c.disabled ? "enable" : "disable", text: c.disabled ? tr("启用") : tr("禁用") }),
        c.from === "config" ? null : el("button", { type: "button", class: "btn btn-sm btn-danger", "data-act": "delete", text: tr("删除") })))));
    categoryOrderDirty = false;
    $("#save-category-order").hidden = true;
  }
  $("#categories-table tbody").addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-act]");
    if (!button) return;
    const [query, type] = splitId(button.closest("tr").dataset.id);
    if (button.dataset.act === "delete" && !(await M.confirm(tr("确定删除分类 {0} 吗？", [query])))) return;
    change("/api/admin/category", { action: button.dataset.act, query, type }).catch(() => null);
  });
  function splitId(id) { const at = id.lastIndexOf(":"); return [id.slice(0, at), id.slice(at + 1)]; }
  wireDrag($("#categories-table tbody"), () => { categoryOrderDirty = true; $("#save-category-order").hidden = false; });
  $("#save-category-order").addEventListener("click", () => {
    const order = $$("#categories-table tbody tr").map((r) => r.dataset.id);
    change("/api/admin/category", { action: "sort", order }, tr("排序已保存")).catch(() => null);
  });
  $("#category-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = form.elements;
    try {
      await change("/api/admin/category", { action: "add", name: f.name.value.trim(), type: f.type.value, query: f.query.value.trim() }, tr("分类已添加"));
      form.reset();
    } catch (e) { /* toast shown */ }
  });

  // ---- TVBox ----
  function showTvboxUrl(url, label) {
    const box = $("#tvbox-url");
    $("#tvbox-url-text").textContent = url;
    box.hidden = false;
    box.dataset.label = label || "";
    toast(label || tr("已生成新的 TVBox 地址"), "success", 4000);
  }
  $("#tvbox-copy").addEventListener("click", () => {
    const text = $("#tvbox-url-text").textContent;
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(() => toast(tr("已复制"), "success"), () => null);
  });
  $("#tvbox-enabled").addEventListener("change", (ev) => {
    const enabled = ev.currentTarget.checked;
    change("/api/admin/tvbox", { action: enabled ? "enable" : "disable" }, enabled ? tr("TVBox 接口已开启") : tr("TVBox 接口已关闭")).catch(() => null);
  });
  $("#tvbox-rotate").addEventListener("click", async () => {
    try {
      const data = await call("/api/admin/tvbox", { action: "rotate" });
      showTvboxUrl(data.url, tr("我的 TVBox 地址（只显示一次）"));
      await load();
    } catch (e) { /* toast shown */ }
  });
  $("#tvbox-revoke").addEventListener("click", () => change("/api/admin/tvbox", { action: "revoke" }, tr("令牌已撤销")).catch(() => null));
  $("#tvbox-revoke-all").addEventListener("click", async () => {
    if (!(await M.confirm(tr("确定撤销所有用户的 TVBox 令牌吗？")))) return;
    change("/api/admin/tvbox", { action: "revokeAll" }, tr("所有令牌已撤销")).catch(() => null);
  });

  // ---- subscription ----
  function renderSubscription(sub) {
    const f = $("#subscription-form").elements;
    f.subscriptionUrl.value = sub.subscriptionUrl || "";
    f.autoUpdate.checked = sub.autoUpdate === true;
    f.updateInterval.value = sub.updateInterval || 86400;
    f.importMode.value = sub.importMode || "merge";
    $("#subscription-last").textContent = sub.lastUpdated ? new Date(sub.lastUpdated * 1000).toLocaleString() : tr("从未");
    $("#subscription-error").textContent = sub.lastError ? tr("（上次失败：{0}）", [sub.lastError]) : "";
  }
  function subscriptionBody() {
    const f = $("#subscription-form").elements;
    return { subscriptionUrl: f.subscriptionUrl.value.trim(), autoUpdate: f.autoUpdate.checked, updateInterval: Number(f.updateInterval.value), importMode: f.importMode.value };
  }
  $("#subscription-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    change("/api/admin/subscription", { action: "update", ...subscriptionBody() }, tr("订阅配置已保存")).catch(() => null);
  });
  $("#subscription-import").addEventListener("click", async () => {
    const body = subscriptionBody();
    try {
      const data = await call("/api/admin/subscription", { action: "import", subscriptionUrl: body.subscriptionUrl, importMode: body.importMode });
      toast(tr("已导入 {0} 个视频源", [data.count]), "success");
      await load();
    } catch (e) { /* toast shown */ }
  });

  // ---- config file ----
  $("#config-file-preview").addEventListener("click", async () => {
    const status = $("#config-file-status");
    const diff = $("#config-file-diff");
    const text = $("#config-file").value;
    try { JSON.parse(text); } catch (e) {
      status.textContent = tr("JSON 语法错误：{0}", [e.message]);
      diff.hidden = true;
      return;
    }
    const res = await fetch("/api/admin/config_file", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ configFile: text, preview: true }),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { status.textContent = data.error || `HTTP ${res.status}`; diff.hidden = true; return; }
    const s = data.summary;
    status.textContent = data.changed
      ? tr("校验通过。新增源 {0}，移除 {1}，修改 {2}；分类 +{3}/-{4}", [s.sourcesAdded.length, s.sourcesRemoved.length, s.sourcesChanged.length, s.categoriesAdded, s.categoriesRemoved])
      : tr("校验通过，没有变化。");
    diff.textContent = data.diff || "";
    diff.hidden = !data.diff;
  });
  $("#config-file-save").addEventListener("click", async () => {
    const text = $("#config-file").value;
    try { JSON.parse(text); } catch (e) { $("#config-file-status").textContent = tr("JSON 语法错误：{0}", [e.message]); return; }
    try {
      await change("/api/admin/config_file", { configFile: pretty(text) }, tr("配置文件更新成功"));
      $("#config-file-status").textContent = tr("已保存。");
      $("#config-file-diff").hidden = true;
    } catch (e) { /* toast shown */ }
  });

  // ---- refresh ----
  async function loadRefresh() {
    const res = await fetch("/api/cron/status", { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) return;
    const data = await res.json();
    const last = data.last;
    $("#refresh-status").textContent = data.running ? tr("运行中…")
      : last ? tr("上次：{0}，{1}，更新 {2} 条，用时 {3} ms", [new Date(last.startedAt).toLocaleString(), last.status, last.updated, last.durationMs])
      : tr("尚未运行。");
  }
  $("#refresh-run").addEventListener("click", async () => {
    try {
      const res = await fetch("/api/cron", { method: "POST", credentials: "same-origin" });
      const data = await res.json().catch(() => ({}));
      toast(res.ok ? (data.started ? tr("已开始刷新") : tr("刷新任务已在运行")) : data.error || tr("失败"), res.ok ? "success" : "error");
      setTimeout(loadRefresh, 1000);
    } catch (e) { /* network toast */ }
  });

  // ---- reset and backups (owner) ----
  const reset = $("#reset-config");
  if (reset) reset.addEventListener("click", async () => {
    if (!(await M.confirm(tr("重置会按配置文件和环境变量重建配置：自定义视频源、角色、封禁、分组和订阅设置都会丢失。确定继续吗？")))) return;
    change("/api/admin/reset", {}, tr("配置已重置")).catch(() => null);
  });
  const exportForm = $("#export-form");
  if (exportForm) exportForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const password = exportForm.elements.password.value;
    if (!password) return toast(tr("请提供加密密码"), "error");
    const res = await fetch("/api/admin/data_migration/export", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ password }),
    });
    if (!res.ok) { const d = await res.json().catch(() => ({})); return toast(d.error || `HTTP ${res.status}`, "error"); }
    const blob = await res.blob();
    const name = (/filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "") || [])[1] || "moontv-backup.dat";
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    toast(tr("备份已导出"), "success");
  });
  const importForm = $("#import-form");
  if (importForm) importForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = importForm.elements.file.files[0];
    const password = importForm.elements.password.value;
    if (!file) return toast(tr("请选择备份文件"), "error");
    if (!password) return toast(tr("请提供解密密码"), "error");
    if (!(await M.confirm(tr("导入会替换站点的全部数据，确定继续吗？")))) return;
    const form = new FormData();
    form.append("file", file);
    form.append("password", password);
    const out = $("#import-result");
    out.textContent = tr("导入中…");
    const res = await fetch("/api/admin/data_migration/import", { method: "POST", credentials: "same-origin", body: form });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { out.textContent = data.error || `HTTP ${res.status}`; out.dataset.status = "error"; return; }
    out.textContent = tr("{0}：{1} 个用户，备份时间 {2}，版本 {3}", [data.message, data.importedUsers, data.timestamp || tr("未知"), data.serverVersion || tr("未知")]);
    out.dataset.status = "ok";
    importForm.reset();
    await load();
  });

  // ---- drag and drop rows ----
  function wireDrag(tbody, onChange) {
    let dragged = null;
    tbody.addEventListener("dragstart", (ev) => {
      dragged = ev.target.closest("tr");
      if (ev.dataTransfer) ev.dataTransfer.effectAllowed = "move";
    });
    tbody.addEventListener("dragover", (ev) => {
      const over = ev.target.closest("tr");
      if (!dragged || !over || over === dragged) return;
      ev.preventDefault();
      const rect = over.getBoundingClientRect();
      if (ev.clientY > rect.top + rect.height / 2) over.after(dragged);
      else over.before(dragged);
    });
    tbody.addEventListener("drop", (ev) => { ev.preventDefault(); if (dragged) onChange(); dragged = null; });
    tbody.addEventListener("dragend", () => { dragged = null; });
  }

  $("#reload-config").addEventListener("click", () => load());
  load();
})();
