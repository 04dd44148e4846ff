// Tessera's admin console (docs/admin.md). One page over the management API, called with the
// browser's session cookie and the session's CSRF token (X-CSRF-Token) on every change. Built
// with elements and textContent only (Trusted Types 'none': no HTML sink is ever used). Every
// text comes from the catalogue the server put in #i18n (locales/{en,ja}/admin.ftl).
"use strict";

(() => {
  const MESSAGES = JSON.parse(document.getElementById("i18n").textContent);
  const t = (key, vars) => (MESSAGES[key] ?? key).replace(/\{(\w+)\}/g, (m, n) => (vars && n in vars ? String(vars[n]) : m));
  // A message chosen by a value (a method, an event type); the value itself when there is none.
  const tk = (prefix, value) => {
    const key = prefix + String(value).replace(/[._|]/g, "-");
    return key in MESSAGES ? t(key) : String(value);
  };
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang || "en";
  const dateFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  const numberFormat = new Intl.NumberFormat(lang);
  const when = (secs) => (secs ? dateFormat.format(new Date(secs * 1000)) : t("admin-never"));

  const METHODS = ["password", "passkey", "push", "qr_login", "totp", "email", "sms", "voice", "recovery_code"];
  const PER_PAGE = 20;
  let csrf = "";
  let scopes = [];
  let busyCount = 0;

  // ------------------------------------------------------------------ helpers

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // An element showing data (a name, an id, an address): marked translate="no".
  function data(tag, text, cls) {
    const e = el(tag, text, cls);
    e.setAttribute("translate", "no");
    return e;
  }

  function button(text, cls, onClick, label) {
    const b = el("button", text, cls);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function busy(on) {
    busyCount += on ? 1 : -1;
    document.body.setAttribute("aria-busy", busyCount > 0 ? "true" : "false");
  }

  function notice(text) {
    $("error").textContent = "";
    $("notice").textContent = text;
  }

  function clearFieldErrors() {
    document.querySelectorAll(".field-error").forEach((e) => e.remove());
    document.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }

  // The message for an API error: the catalogue's, by the error code, else a generic one.
  function errorText(e) {
    const key = "admin-error-" + String(e.code || "").replace(/[._]/g, "-");
    return e.code && key in MESSAGES ? tk("admin-error-", e.code) : t("admin-error-generic");
  }

  // Shows an error; a 400 naming a field (`field` or `a.b[0].c`) is shown next to that field
  // in `scope` (data-field or data-path attributes), the server's detail beside it.
  function fail(e, scope) {
    $("notice").textContent = "";
    clearFieldErrors();
    const field = e.detail && /^`([^`]+)`/.exec(e.detail);
    let target = null;
    if (field && scope) {
      const path = field[1];
      let best = "";
      scope.querySelectorAll("[data-path],[data-field]").forEach((node) => {
        const p = node.getAttribute("data-path") || node.getAttribute("data-field");
        const prefix = path === p || path.startsWith(p + ".") || path.startsWith(p + "[");
        if (prefix && p.length > best.length) {
          best = p;
          target = node;
        }
      });
    }
    if (target) {
      const msg = el("p", t("admin-error-field"), "field-error");
      msg.setAttribute("role", "alert");
      // The server's own words (English), beside the page's message.
      const detail = data("span", " " + e.detail.replace(/^`[^`]+`:\s*/, ""), "detail");
      detail.setAttribute("lang", "en");
      msg.append(detail);
      target.setAttribute("aria-invalid", "true");
      target.after(msg);
      if (typeof target.focus === "function") target.focus();
      $("error").textContent = t("admin-error-see-field");
      return;
    }
    $("error").textContent = errorText(e);
  }

  async function api(method, path, body, headers) {
    busy(true);
    try {
      const h = Object.assign({ accept: "application/json" }, headers || {});
      if (method !== "GET" && method !== "HEAD") h["x-csrf-token"] = csrf;
      const init = { method, headers: h, credentials: "same-origin" };
      if (body !== undefined) {
        h["content-type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const r = await fetch(path, init);
      const text = await r.text();
      let data = null;
      if (text) {
        try {
          data = JSON.parse(text);
        } catch (_) {
          data = null;
        }
      }
      if (!r.ok) {
        const e = new Error("HTTP " + r.status);
        e.status = r.status;
        e.code = data && data.error;
        e.detail = (data && data.error_description) || "";
        if (r.status === 401) window.location.assign("/signin?return_to=%2Fadmin");
        throw e;
      }
      return { data, headers: r.headers, status: r.status };
    } finally {
      busy(false);
    }
  }

  const enc = encodeURIComponent;
  const list = (s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0);

  // Runs an action, showing its error (next to a field of `scope` when it names one).
  async function run(action, scope) {
    try {
      return await action();
    } catch (e) {
      fail(e, scope);
      return undefined;
    }
  }

  // A button that asks once more before it acts (its text becomes "Confirm: …").
  function confirmButton(text, confirmText, cls, onConfirm, label) {
    const b = button(text, cls, () => {
      if (b.dataset.armed === "1") {
        b.dataset.armed = "";
        b.textContent = text;
        onConfirm();
      } else {
        b.dataset.armed = "1";
        b.textContent = confirmText;
      }
    }, label);
    return b;
  }

  // ------------------------------------------------------------------ routing

  // A notice set just before moving to another screen stays (e.g. "created"); others go.
  let keepNotice = false;
  const SCREENS = ["users", "orgs", "groups", "apps", "policy", "audit", "tokens", "settings"];
  const LOADERS = {};

  function route() {
    const hash = window.location.hash.replace(/^#/, "");
    const [name, arg] = hash.split("/");
    const screen = name === "user" ? "user-detail" : SCREENS.includes(name) ? "screen-" + name : "screen-users";
    document.querySelectorAll(".screen").forEach((s) => {
      s.hidden = s.id !== screen;
    });
    const tab = name === "user" ? "users" : SCREENS.includes(name) ? name : "users";
    document.querySelectorAll("#tabs a").forEach((a) => {
      if (a.dataset.tab === tab) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    $("error").textContent = "";
    if (!keepNotice) $("notice").textContent = "";
    keepNotice = false;
    clearFieldErrors();
    if (name === "user" && arg) return openUser(decodeURIComponent(arg));
    return (LOADERS[tab] || LOADERS.users)();
  }

  // ------------------------------------------------------------------ users

  let usersPage = 1;
  let usersQuery = "";

  async function loadUsers() {
    const q = usersQuery ? "&q=" + enc(usersQuery) : "";
    const r = await run(() => api("GET", "/api/v2/users?page=" + usersPage + "&per_page=" + PER_PAGE + q));
    if (!r) return;
    const page = r.data;
    const ul = $("users-list");
    clear(ul);
    for (const u of page.users) {
      const li = el("li");
      li.dataset.id = u.user_id;
      li.dataset.username = u.username;
      const what = el("div", null, "what");
      what.append(data("strong", u.username));
      if (u.blocked) what.append(el("span", t("admin-users-blocked"), "tag locked"));
      for (const g of u.groups) what.append(data("span", g, "tag"));
      const details = [u.email, u.phone].filter(Boolean).join(" · ");
      what.append(details ? data("span", details, "when") : el("span", t("admin-users-no-contact"), "when"));
      what.append(el("span", t("admin-users-last-sign-in", { when: when(u.last_sign_in_at) }), "when"));
      li.append(what);
      li.append(button(t("admin-users-open"), "open secondary", () => {
        window.location.hash = "#user/" + enc(u.user_id);
      }, t("admin-users-open-named", { name: u.username })));
      ul.append(li);
    }
    if (page.users.length === 0) ul.append(el("li", t("admin-users-none"), "muted"));
    const pages = Math.max(1, Math.ceil(page.total / PER_PAGE));
    $("users-page").textContent = t("admin-page-of", { page: numberFormat.format(usersPage), pages: numberFormat.format(pages), total: numberFormat.format(page.total) });
    $("users-prev").disabled = usersPage <= 1;
    $("users-next").disabled = usersPage >= pages;
    document.body.dataset.ready = "1";
  }
  LOADERS.users = loadUsers;

  $("users-search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    usersQuery = $("users-q").value.trim();
    usersPage = 1;
    loadUsers();
  });
  $("users-prev").addEventListener("click", () => {
    usersPage = Math.max(1, usersPage - 1);
    loadUsers();
  });
  $("users-next").addEventListener("click", () => {
    usersPage += 1;
    loadUsers();
  });
  $("users-new").addEventListener("click", () => {
    $("user-create").hidden = false;
    $("new-username").focus();
  });
  $("new-cancel").addEventListener("click", () => {
    $("user-create").reset();
    $("user-create").hidden = true;
  });
  $("user-create").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { username: $("new-username").value.trim() };
    const email = $("new-email").value.trim();
    const phone = $("new-phone").value.trim();
    const password = $("new-password").value;
    if (email) body.email = email;
    if (phone) body.phone = phone;
    if (password) body.password = password;
    body.groups = list($("new-groups").value);
    body.organizations = list($("new-orgs").value);
    run(async () => {
      const r = await api("POST", "/api/v2/users", body);
      $("user-create").reset();
      $("user-create").hidden = true;
      notice(t("admin-users-created", { name: r.data.username }));
      keepNotice = true;
      window.location.hash = "#user/" + enc(r.data.user_id);
    }, $("user-create"));
  });

  // ------------------------------------------------------------------ one user

  let current = null; // the user shown
  let factors = [];
  let pendingRemoval = null; // a factor, or "all"

  const isCodes = (a) => a.authenticator_type === "recovery-code";

  function factorName(a) {
    if (a.authenticator_type === "oob") return tk("admin-type-", a.oob_channel || "oob");
    return tk("admin-type-", a.authenticator_type);
  }

  async function openUser(id) {
    $("remove-confirm").hidden = true;
    $("user-codes").hidden = true;
    clear($("user-codes-list"));
    pendingRemoval = null;
    const r = await run(() => api("GET", "/api/v2/users/" + enc(id)));
    if (!r) return;
    current = r.data;
    showUser();
    await Promise.all([loadFactors(), loadDevices(), loadBlocks()]);
    document.body.dataset.ready = "1";
  }

  function showUser() {
    const u = current;
    $("user-title").textContent = u.username;
    $("user-email").value = u.email || "";
    $("user-phone").value = u.phone || "";
    $("user-groups").value = u.groups.join(", ");
    $("user-orgs").value = u.organizations.join(", ");
    const parts = [
      t("admin-user-created", { when: when(u.created_at) }),
      t("admin-user-sign-ins", { count: numberFormat.format(u.sign_ins || 0), when: when(u.last_sign_in_at) }),
      u.mfa_prompt_skipped ? t("admin-user-skipped-yes") : t("admin-user-skipped-no"),
      u.has_password ? t("admin-user-has-password") : t("admin-user-no-password"),
    ];
    // The administrator's lock, apart from the failure locks listed under the actions.
    if (u.blocked) parts.unshift(t("admin-user-blocked", { when: when(u.blocked_at) }));
    $("user-status").textContent = parts.join(" · ");
    const block = $("user-block");
    block.dataset.armed = "";
    block.dataset.blocked = u.blocked ? "1" : "";
    block.textContent = u.blocked ? t("admin-user-unblock") : t("admin-user-block");
  }

  async function loadFactors() {
    const r = await run(() => api("GET", "/api/v2/users/" + enc(current.user_id) + "/authentication-methods"));
    if (!r) return;
    factors = r.data;
    const ul = $("factors-list");
    clear(ul);
    for (const a of factors) {
      const li = el("li");
      li.dataset.id = a.id;
      li.dataset.type = a.oob_channel || a.authenticator_type;
      const what = el("div", null, "what");
      what.append(el("strong", factorName(a)));
      if (a.name) what.append(data("span", a.name, "tag"));
      what.append(el("span", a.active ? t("admin-factor-active") : t("admin-factor-pending"), "tag"));
      const traits = a.characteristics || { user_interaction: true };
      for (const c of ["phishing_resistant", "hardware_protected", "user_verification", "user_interaction"]) {
        if (traits[c]) what.append(el("span", tk("admin-trait-", c), "tag trait"));
      }
      what.append(el("span", t("admin-factor-dates", { created: when(a.created_at), used: when(a.last_used_at) }), "when"));
      li.append(what);
      li.append(button(t("admin-remove"), "remove secondary", () => askRemove(a), t("admin-remove-named", { what: factorName(a) })));
      ul.append(li);
    }
    $("factors-empty").hidden = factors.length > 0;
    $("factors-remove-all").hidden = factors.length === 0;
  }

  // What removing shows before it is confirmed (LG-11), and whether MFA is required of the
  // user (the policy's dry run).
  async function askRemove(a) {
    pendingRemoval = a;
    const active = factors.filter((f) => f.active);
    let text;
    if (a === "all") {
      text = t("admin-remove-all-consequence");
    } else if (isCodes(a)) {
      text = t("admin-remove-codes-consequence");
    } else {
      const others = active.filter((f) => f.id !== a.id && !isCodes(f));
      const codes = active.filter(isCodes);
      if (others.length > 0) text = t("admin-remove-other-consequence");
      else if (codes.length > 0) text = t("admin-remove-only-codes-consequence");
      else text = t("admin-remove-last-consequence");
    }
    const what = a === "all" ? t("admin-factors-all") : factorName(a);
    $("remove-consequence").textContent = t("admin-remove-line", { what, consequence: text });
    $("remove-required").textContent = "";
    $("remove-confirm").hidden = false;
    $("remove-no").focus();
    const r = await run(() => api("POST", "/api/v2/policies/sign-in/dry-run", { user: current.user_id }));
    if (r && pendingRemoval === a) {
      $("remove-required").textContent = r.data.mfa_required ? t("admin-remove-mfa-required") : t("admin-remove-mfa-optional");
    }
  }

  $("factors-remove-all").addEventListener("click", () => askRemove("all"));
  $("remove-no").addEventListener("click", () => {
    pendingRemoval = null;
    $("remove-confirm").hidden = true;
  });
  $("remove-yes").addEventListener("click", () => run(async () => {
    const a = pendingRemoval;
    if (!a) return;
    const base = "/api/v2/users/" + enc(current.user_id) + "/authentication-methods";
    await api("DELETE", a === "all" ? base : base + "/" + enc(a.id));
    pendingRemoval = null;
    $("remove-confirm").hidden = true;
    notice(a === "all" ? t("admin-removed-all") : t("admin-removed", { what: factorName(a) }));
    await loadFactors();
    await loadDevices();
  }));

  async function loadDevices() {
    const r = await run(() => api("GET", "/api/v1/users/" + enc(current.user_id) + "/devices"));
    if (!r) return;
    const ul = $("devices-list");
    clear(ul);
    for (const d of r.data) {
      const li = el("li");
      li.dataset.id = d.device_id;
      const what = el("div", null, "what");
      what.append(data("strong", d.name || d.device_id));
      if (d.platform) what.append(data("span", d.platform, "tag"));
      if (d.user_verification) what.append(el("span", tk("admin-trait-", "user_verification"), "tag"));
      what.append(el("span", t("admin-device-enrolled", { when: when(d.created_at) }), "when"));
      li.append(what);
      li.append(confirmButton(t("admin-remove"), t("admin-confirm-remove"), "remove secondary", () => run(async () => {
        await api("DELETE", "/api/v1/devices/" + enc(d.device_id));
        notice(t("admin-device-removed"));
        await loadDevices();
        await loadFactors();
      }), t("admin-remove-named", { what: d.name || d.device_id })));
      ul.append(li);
    }
    $("devices-empty").hidden = r.data.length > 0;
  }

  async function loadBlocks() {
    const r = await run(() => api("GET", "/api/v2/user-blocks/" + enc(current.user_id)));
    if (!r) return;
    const ul = $("blocks-list");
    clear(ul);
    for (const b of r.data.blocked_for) {
      const li = el("li");
      const what = el("div", null, "what");
      what.append(el("strong", tk("admin-factor-kind-", b.factor)));
      what.append(el("span", b.locked ? t("admin-block-locked") : t("admin-block-failures", { count: numberFormat.format(b.failures) }), "tag"));
      what.append(el("span", t("admin-block-last", { when: when(b.last_failure_at) }), "when"));
      li.append(what);
      ul.append(li);
    }
    if (r.data.blocked_for.length === 0) ul.append(el("li", t("admin-blocks-none"), "muted"));
  }

  $("user-back").addEventListener("click", () => {
    window.location.hash = "#users";
  });
  $("user-edit").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const email = $("user-email").value.trim();
    const phone = $("user-phone").value.trim();
    const body = {
      email: email || null,
      phone: phone || null,
      groups: list($("user-groups").value),
      organizations: list($("user-orgs").value),
    };
    run(async () => {
      const r = await api("PATCH", "/api/v2/users/" + enc(current.user_id), body);
      current = r.data;
      showUser();
      notice(t("admin-user-saved"));
    }, $("user-edit"));
  });
  // Locking asks a second click (its sessions end at once); unlocking does not.
  $("user-block").addEventListener("click", () => {
    const b = $("user-block");
    const lock = !current.blocked;
    if (lock && b.dataset.armed !== "1") {
      b.dataset.armed = "1";
      b.textContent = t("admin-user-block-confirm");
      return;
    }
    run(async () => {
      const r = await api("PATCH", "/api/v2/users/" + enc(current.user_id), { blocked: lock });
      current = r.data;
      showUser();
      notice(lock ? t("admin-user-blocked-done") : t("admin-user-unblocked-done"));
    });
  });
  $("user-unlock").addEventListener("click", () => run(async () => {
    await api("DELETE", "/api/v2/user-blocks/" + enc(current.user_id));
    notice(t("admin-user-unlocked"));
    await loadBlocks();
  }));
  $("user-reset-skip").addEventListener("click", () => run(async () => {
    await api("PATCH", "/api/v2/users/" + enc(current.user_id) + "/logto-configs", { mfa: { skipped: false } });
    current.mfa_prompt_skipped = false;
    showUser();
    notice(t("admin-user-skip-reset"));
  }));
  $("user-regenerate").addEventListener("click", () => run(async () => {
    const r = await api("POST", "/api/v2/users/" + enc(current.user_id) + "/recovery-code-regeneration");
    const codes = r.data.recovery_codes || [r.data.recovery_code];
    const ol = $("user-codes-list");
    clear(ol);
    for (const c of codes) ol.append(el("li", c));
    $("user-codes").hidden = false;
    $("user-codes-done").focus();
    await loadFactors();
  }));
  $("user-codes-done").addEventListener("click", () => {
    // Shown once: gone from the page as well.
    clear($("user-codes-list"));
    $("user-codes").hidden = true;
  });
  $("user-password-reset").addEventListener("click", () => run(async () => {
    await api("POST", "/api/v2/users/" + enc(current.user_id) + "/password-reset");
    notice(t("admin-user-reset-sent"));
  }));

  // ------------------------------------------------------------------ organizations, groups

  LOADERS.orgs = async () => {
    const r = await run(() => api("GET", "/api/v2/organizations"));
    if (!r) return;
    const ul = $("orgs-list");
    clear(ul);
    for (const o of r.data) {
      const li = el("li");
      li.dataset.id = o.id;
      const what = el("div", null, "what");
      what.append(data("strong", o.name));
      what.append(data("span", o.id, "when"));
      li.append(what);
      const box = el("div", null, "check");
      const input = el("input", null, "require");
      input.type = "checkbox";
      input.id = "require-" + o.id;
      input.checked = o.require_mfa;
      const label = el("label", t("admin-orgs-require"));
      label.htmlFor = input.id;
      input.addEventListener("change", () => run(async () => {
        await api("PATCH", "/api/v2/organizations/" + enc(o.id), { require_mfa: input.checked });
        notice(input.checked ? t("admin-orgs-required", { name: o.name }) : t("admin-orgs-optional", { name: o.name }));
      }));
      box.append(input, label);
      li.append(box);
      ul.append(li);
    }
    if (r.data.length === 0) ul.append(el("li", t("admin-orgs-none"), "muted"));
    document.body.dataset.ready = "1";
  };
  $("org-create").addEventListener("submit", (ev) => {
    ev.preventDefault();
    run(async () => {
      await api("POST", "/api/v2/organizations", { name: $("org-name").value.trim(), require_mfa: $("org-require").checked });
      $("org-create").reset();
      notice(t("admin-orgs-created"));
      await LOADERS.orgs();
    }, $("org-create"));
  });

  LOADERS.groups = async () => {
    const r = await run(() => api("GET", "/api/v2/groups"));
    if (!r) return;
    const ul = $("groups-list");
    clear(ul);
    for (const g of r.data) {
      const li = el("li");
      li.dataset.name = g.name;
      li.append(data("strong", g.name, "what"));
      li.append(el("span", t("admin-groups-members", { count: numberFormat.format(g.members) }), "tag"));
      ul.append(li);
    }
    if (r.data.length === 0) ul.append(el("li", t("admin-groups-none"), "muted"));
    document.body.dataset.ready = "1";
  };

  // ------------------------------------------------------------------ applications

  function showOnce(panel, value, text) {
    $(panel + "-value").textContent = text ? text + " " + value : value;
    $(panel).hidden = false;
    $(panel + "-done").focus();
  }
  for (const panel of ["app-secret", "token-secret"]) {
    $(panel + "-done").addEventListener("click", () => {
      $(panel + "-value").textContent = "";
      $(panel).hidden = true;
    });
  }

  LOADERS.apps = async () => {
    const r = await run(() => api("GET", "/api/v2/applications"));
    if (!r) return;
    const ul = $("apps-list");
    clear(ul);
    for (const a of r.data) {
      const li = el("li");
      li.dataset.id = a.client_id;
      const what = el("div", null, "what");
      what.append(data("strong", a.name));
      what.append(el("span", tk("admin-apps-", a.type), "tag"));
      what.append(data("span", a.client_id, "when"));
      for (const u of a.redirect_uris) what.append(data("span", u, "when"));
      li.append(what);
      const actions = el("div", null, "row");
      if (a.type === "confidential") {
        actions.append(confirmButton(t("admin-apps-rotate"), t("admin-apps-rotate-confirm"), "secondary", () => run(async () => {
          const s = await api("POST", "/api/v2/applications/" + enc(a.client_id) + "/secret-rotation");
          showOnce("app-secret", s.data.client_secret);
        }), t("admin-apps-rotate-named", { name: a.name })));
      }
      actions.append(confirmButton(t("admin-remove"), t("admin-confirm-remove"), "secondary", () => run(async () => {
        await api("DELETE", "/api/v2/applications/" + enc(a.client_id));
        notice(t("admin-apps-removed", { name: a.name }));
        await LOADERS.apps();
      }), t("admin-remove-named", { what: a.name })));
      li.append(actions);
      ul.append(li);
    }
    if (r.data.length === 0) ul.append(el("li", t("admin-apps-none"), "muted"));
    document.body.dataset.ready = "1";
  };
  $("app-create").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {
      name: $("app-name").value.trim(),
      type: $("app-type").value,
      redirect_uris: $("app-redirects").value.split(/\s+/).filter((x) => x.length > 0),
    };
    run(async () => {
      const r = await api("POST", "/api/v2/applications", body);
      $("app-create").reset();
      notice(t("admin-apps-created", { name: r.data.name, id: r.data.client_id }));
      if (r.data.client_secret) showOnce("app-secret", r.data.client_secret);
      await LOADERS.apps();
    }, $("app-create"));
  });

  // ------------------------------------------------------------------ policy

  // The whole policy document (docs/policies.md) is editable here: what the page does not
  // change is sent back as it was read, so loading and saving gives the same document.
  let policy = null;
  let policyVersion = 0;
  let policyOrgs = []; // GET /api/v2/organizations: the overrides' names and the picker
  // The picker to add an override (in the page), moved to the end of the overrides' section.
  const orgNew = $("policy-org-pick").closest(".policy-org-new");

  // Characteristics a method's authenticator can have (Method::can_have in policy/model.rs).
  const CHARACTERISTICS = ["phishing_resistant", "hardware_protected", "user_interaction", "user_verification"];
  const canHave = (m, c) => c === "user_interaction"
    || (c === "phishing_resistant" ? m === "passkey" : ["passkey", "push", "qr_login"].includes(m));

  // An element id from a policy path: `rules[0].when.groups` → `p-rules-0-when-groups`.
  const pathId = (path) => "p-" + path.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "");

  function field(labelText, control, path) {
    const wrap = el("div", null, "field");
    const id = pathId(path);
    control.id = id;
    control.dataset.path = path;
    const label = el("label", labelText);
    label.htmlFor = id;
    wrap.append(label, control);
    return wrap;
  }

  // A checkbox and its label (the box first), for the field at `path`.
  function checkbox(labelText, checked, path, onChange) {
    const wrap = el("div", null, "check");
    // The row carries the path too (first in the page's order): an error goes after the label.
    wrap.dataset.path = path;
    const cb = el("input");
    cb.type = "checkbox";
    cb.id = pathId(path);
    cb.dataset.path = path;
    cb.checked = checked;
    cb.addEventListener("change", () => {
      onChange(cb.checked);
      // Redrawn: the keyboard stays on the same box.
      const again = cb.isConnected ? null : $(cb.id);
      if (again) again.focus();
    });
    const label = el("label", labelText);
    label.htmlFor = cb.id;
    wrap.append(cb, label);
    return wrap;
  }

  function select(options, value, prefix, onChange) {
    const s = el("select");
    for (const o of options) {
      const opt = el("option", tk(prefix, o));
      opt.value = o;
      s.append(opt);
    }
    s.value = value;
    s.addEventListener("change", () => onChange(s.value));
    return s;
  }

  function textInput(value, onChange, type) {
    const i = el("input");
    i.type = type || "text";
    i.value = value === undefined || value === null ? "" : String(value);
    i.autocomplete = "off";
    i.spellcheck = false;
    i.addEventListener("change", () => onChange(i.value));
    return i;
  }

  // A number as typed: `Number("")` would be 0, so an empty field stays empty (the server
  // then names the field); anything else is sent as typed, for the server to judge.
  const num = (v) => (v.trim() === "" ? null : Number(v));

  // The editor of one settings block (global, an organization's, a rule's `then`).
  function settingsEditor(s, path) {
    const box = el("div", null, "settings-editor");
    const redraw = () => box.replaceWith(settingsEditor(s, path));
    box.append(field(t("admin-policy-mfa"), select(["optional", "required"], s.mfa.mode, "admin-policy-mfa-", (v) => {
      s.mfa = v === "required" ? { mode: "required" } : { mode: "optional", prompt: "never" };
      redraw();
    }), path + ".mfa.mode"));
    if (s.mfa.mode === "optional") {
      box.append(field(t("admin-policy-prompt"), select(["never", "at_registration", "after_registration"], s.mfa.prompt || "never", "admin-policy-prompt-", (v) => {
        s.mfa.prompt = v;
      }), path + ".mfa.prompt"));
    }
    const reauth = s.reauth || { mode: "every_sign_in" };
    box.append(field(t("admin-policy-reauth"), select(["every_sign_in", "after_minutes", "no_session"], reauth.mode, "admin-policy-reauth-", (v) => {
      s.reauth = v === "after_minutes" ? { mode: v, minutes: 60 } : { mode: v };
      redraw();
    }), path + ".reauth.mode"));
    if (reauth.mode === "after_minutes") {
      box.append(field(t("admin-policy-minutes"), textInput(reauth.minutes, (v) => {
        s.reauth.minutes = num(v);
      }, "number"), path + ".reauth.minutes"));
    }
    box.append(field(t("admin-policy-no-factor"), select(["enroll", "deny"], s.no_factor || "enroll", "admin-policy-no-factor-", (v) => {
      s.no_factor = v;
    }), path + ".no_factor"));
    box.append(field(t("admin-policy-factor-sources"), select(["enrolled", "enrolled_and_profile"], s.factor_sources || "enrolled", "admin-policy-factor-sources-", (v) => {
      s.factor_sources = v;
    }), path + ".factor_sources"));
    box.append(field(t("admin-policy-remember"), textInput(s.remember_browser_days || 0, (v) => {
      s.remember_browser_days = num(v);
    }, "number"), path + ".remember_browser_days"));
    box.append(minEnrollmentsEditor(s, path));
    box.append(chainsEditor(s, path));
    return box;
  }

  // IBM-4: a minimum number of distinct enrollments, or none.
  function minEnrollmentsEditor(s, path) {
    const mpath = path + ".min_enrollments";
    const box = el("fieldset", null, "min-enrollments");
    box.append(el("legend", t("admin-policy-min-title")));
    const redraw = () => box.replaceWith(minEnrollmentsEditor(s, path));
    box.append(checkbox(t("admin-policy-min-on"), !!s.min_enrollments, mpath, (on) => {
      if (on) s.min_enrollments = { count: 2, grace_days: 0 };
      else delete s.min_enrollments;
      redraw();
    }));
    const m = s.min_enrollments;
    if (m) {
      const grid = el("div", null, "grid");
      grid.append(field(t("admin-policy-min-count"), textInput(m.count, (v) => {
        m.count = num(v);
      }, "number"), mpath + ".count"));
      grid.append(field(t("admin-policy-min-grace"), textInput(m.grace_days || 0, (v) => {
        m.grace_days = num(v);
      }, "number"), mpath + ".grace_days"));
      grid.append(field(t("admin-policy-min-idps"), textInput((m.identity_providers || []).join(", "), (v) => {
        const items = list(v);
        if (items.length) m.identity_providers = items;
        else delete m.identity_providers;
      }), mpath + ".identity_providers"));
      box.append(grid);
      box.append(el("p", t("admin-policy-min-hint"), "muted"));
    }
    return box;
  }

  // One step: the methods (any one satisfies it), each with the characteristics its
  // authenticator must have (only those some authenticator of the method can have).
  function stepEditor(step, spath, onRemove) {
    const fs = el("fieldset", null, "step");
    fs.dataset.path = spath;
    fs.append(el("legend", t("admin-policy-step", { n: Number(/\[(\d+)\]$/.exec(spath)[1]) + 1 })));
    const redraw = () => fs.replaceWith(stepEditor(step, spath, onRemove));
    const methods = el("div", null, "methods");
    methods.dataset.path = spath + ".any_of";
    for (const m of METHODS) {
      const idx = step.any_of.findIndex((r) => r.method === m);
      const mpath = idx >= 0 ? spath + ".any_of[" + idx + "]" : spath + ".any_of";
      const row = el("div", null, "method-req");
      const wrap = el("span", null, "method");
      const cb = el("input");
      cb.type = "checkbox";
      cb.id = pathId(spath) + "-" + m;
      cb.dataset.path = idx >= 0 ? mpath + ".method" : mpath;
      cb.checked = idx >= 0;
      cb.addEventListener("change", () => {
        if (cb.checked) step.any_of.push({ method: m });
        else step.any_of = step.any_of.filter((r) => r.method !== m);
        redraw();
        const again = $(cb.id);
        if (again) again.focus();
      });
      const label = el("label", tk("admin-method-", m));
      label.htmlFor = cb.id;
      wrap.dataset.path = cb.dataset.path;
      wrap.append(cb, label);
      row.append(wrap);
      if (idx >= 0) {
        const req = step.any_of[idx];
        const possible = CHARACTERISTICS.filter((c) => canHave(m, c) || (req.requires || []).includes(c));
        const group = el("div", null, "requires");
        group.dataset.path = mpath + ".requires";
        group.setAttribute("role", "group");
        group.setAttribute("aria-label", t("admin-policy-requires-named", { method: tk("admin-method-", m) }));
        group.append(el("span", t("admin-policy-requires"), "muted"));
        for (const c of possible) {
          const cwrap = el("span", null, "method");
          const ccb = el("input");
          ccb.type = "checkbox";
          ccb.id = pathId(spath) + "-" + m + "-" + c;
          ccb.dataset.path = mpath + ".requires";
          ccb.checked = (req.requires || []).includes(c);
          ccb.addEventListener("change", () => {
            const now = new Set(req.requires || []);
            if (ccb.checked) now.add(c);
            else now.delete(c);
            // In the enum's order, as the server writes them back.
            const next = CHARACTERISTICS.filter((x) => now.has(x));
            if (next.length) req.requires = next;
            else delete req.requires;
          });
          const clabel = el("label", tk("admin-trait-", c));
          clabel.htmlFor = ccb.id;
          cwrap.append(ccb, clabel);
          group.append(cwrap);
        }
        row.append(group);
      }
      methods.append(row);
    }
    fs.append(methods);
    fs.append(button(t("admin-policy-remove-step"), "link", onRemove));
    return fs;
  }

  // Chains: steps in order; each step a set of methods (any one satisfies it).
  function chainsEditor(s, path) {
    const box = el("div", null, "chains");
    box.dataset.path = path + ".chains";
    box.append(el("h4", t("admin-policy-chains")));
    const chains = s.chains || [];
    if (chains.length === 0) box.append(el("p", t("admin-policy-no-chains"), "muted"));
    const redraw = () => box.replaceWith(chainsEditor(s, path));
    chains.forEach((chain, ci) => {
      const cpath = path + ".chains[" + ci + "]";
      const cbox = el("div", null, "chain panel");
      cbox.dataset.path = cpath;
      cbox.append(el("h5", t("admin-policy-chain", { n: ci + 1 })));
      chain.steps.forEach((step, si) => {
        cbox.append(stepEditor(step, cpath + ".steps[" + si + "]", () => {
          chain.steps.splice(si, 1);
          redraw();
        }));
      });
      const row = el("div", null, "row");
      row.append(button(t("admin-policy-add-step"), "secondary", () => {
        chain.steps.push({ any_of: [{ method: "totp" }] });
        redraw();
      }));
      row.append(button(t("admin-policy-remove-chain"), "secondary", () => {
        chains.splice(ci, 1);
        if (chains.length === 0) delete s.chains;
        redraw();
      }));
      cbox.append(row);
      box.append(cbox);
    });
    box.append(button(t("admin-policy-add-chain"), "secondary", () => {
      s.chains = chains;
      chains.push({ steps: [{ any_of: [{ method: "password" }] }, { any_of: [{ method: "totp" }] }] });
      redraw();
    }));
    return box;
  }

  // A rule's typing-rhythm condition (docs/signals.md): off, or a score and/or the two states.
  function typingEditor(rule, path) {
    const tpath = path + ".when.typing_anomaly";
    const box = el("fieldset", null, "typing");
    box.append(el("legend", t("admin-policy-typing-title")));
    const redraw = () => box.replaceWith(typingEditor(rule, path));
    box.append(checkbox(t("admin-policy-typing-on"), !!rule.when.typing_anomaly, tpath, (on) => {
      if (on) rule.when.typing_anomaly = { at_least: 70 };
      else delete rule.when.typing_anomaly;
      redraw();
    }));
    const c = rule.when.typing_anomaly;
    if (c) {
      box.append(field(t("admin-policy-typing-at-least"), textInput(c.at_least, (v) => {
        const n = num(v);
        if (n === null) delete c.at_least;
        else c.at_least = n;
      }, "number"), tpath + ".at_least"));
      box.append(checkbox(t("admin-policy-typing-no-sample"), !!c.no_sample, tpath + ".no_sample", (on) => {
        if (on) c.no_sample = true;
        else delete c.no_sample;
      }));
      box.append(checkbox(t("admin-policy-typing-learning"), !!c.learning, tpath + ".learning", (on) => {
        if (on) c.learning = true;
        else delete c.learning;
      }));
    }
    return box;
  }

  // Organization overrides (LG-5): one block each, and a picker to add one.
  function orgsEditor() {
    const box = el("section", null, "panel policy-block orgs");
    box.dataset.path = "organizations";
    box.append(el("h3", t("admin-policy-orgs-title")));
    box.append(el("p", t("admin-policy-orgs-intro"), "muted"));
    const overrides = policy.organizations || {};
    for (const [org, s] of Object.entries(overrides)) {
      const opath = "organizations." + org;
      const block = el("section", null, "panel policy-block org");
      block.dataset.path = opath;
      block.dataset.org = org;
      const known = policyOrgs.find((o) => o.id === org);
      const h = el("h4", t("admin-policy-org-title") + " ");
      h.append(data("span", known ? known.name : org));
      h.append(data("span", org, "tag"));
      block.append(h);
      block.append(settingsEditor(s, opath));
      block.append(confirmButton(t("admin-policy-org-remove"), t("admin-confirm-remove"), "secondary org-remove", () => {
        delete policy.organizations[org];
        if (Object.keys(policy.organizations).length === 0) delete policy.organizations;
        renderPolicy();
        $("policy-org-pick").focus();
      }));
      box.append(block);
    }
    if (Object.keys(overrides).length === 0) box.append(el("p", t("admin-policy-orgs-empty"), "muted"));
    box.append(orgNew);
    return box;
  }

  // The picker under the editor: the organizations without an override.
  function orgPicker() {
    const overrides = policy.organizations || {};
    const free = policyOrgs.filter((o) => !(o.id in overrides));
    const pick = $("policy-org-pick");
    clear(pick);
    for (const o of free) {
      const opt = el("option", o.name + " (" + o.id + ")");
      opt.value = o.id;
      pick.append(opt);
    }
    pick.disabled = free.length === 0;
    $("policy-org-add").disabled = free.length === 0;
    $("policy-org-status").textContent = free.length ? "" : policyOrgs.length ? t("admin-policy-orgs-all") : t("admin-policy-orgs-none");
  }

  function renderPolicy() {
    const root = $("policy-editor");
    clear(root);
    const global = el("section", null, "panel policy-block");
    global.dataset.path = "global";
    global.append(el("h3", t("admin-policy-global")));
    global.append(settingsEditor(policy.global, "global"));
    root.append(global);
    root.append(orgsEditor());
    orgPicker();
    const rules = policy.rules || [];
    rules.forEach((rule, i) => {
      const path = "rules[" + i + "]";
      const block = el("section", null, "panel policy-block rule");
      block.dataset.path = path;
      block.append(el("h3", t("admin-policy-rule", { n: i + 1 })));
      block.append(field(t("admin-policy-rule-name"), textInput(rule.name, (v) => {
        rule.name = v;
      }), path + ".name"));
      rule.when = rule.when || {};
      for (const k of ["applications", "organizations", "groups"]) {
        block.append(field(tk("admin-policy-when-", k), textInput((rule.when[k] || []).join(", "), (v) => {
          const items = list(v);
          if (items.length) rule.when[k] = items;
          else delete rule.when[k];
        }), path + ".when." + k));
      }
      block.append(typingEditor(rule, path));
      block.append(el("h4", t("admin-policy-then")));
      block.append(settingsEditor(rule.then, path + ".then"));
      const row = el("div", null, "row");
      // Rules match in order, first match wins: move one up or down.
      const move = (to, cls) => {
        const b = button(to < i ? t("admin-policy-rule-up") : t("admin-policy-rule-down"), "secondary " + cls, () => {
          const [r] = policy.rules.splice(i, 1);
          policy.rules.splice(to, 0, r);
          renderPolicy();
          const again = document.querySelector("[data-path='rules[" + to + "]'] ." + cls);
          if (again && !again.disabled) again.focus();
        }, t(to < i ? "admin-policy-rule-up-named" : "admin-policy-rule-down-named", { n: i + 1 }));
        b.disabled = to < 0 || to >= rules.length;
        return b;
      };
      row.append(move(i - 1, "rule-up"), move(i + 1, "rule-down"));
      row.append(confirmButton(t("admin-policy-remove-rule"), t("admin-confirm-remove"), "secondary rule-remove", () => {
        policy.rules.splice(i, 1);
        if (policy.rules.length === 0) delete policy.rules;
        renderPolicy();
      }));
      block.append(row);
      root.append(block);
    });
    $("policy-version").textContent = policyVersion
      ? t("admin-policy-version", { version: numberFormat.format(policyVersion) })
      : t("admin-policy-default");
  }

  LOADERS.policy = async () => {
    const r = await run(() => Promise.all([api("GET", "/api/v2/policies/sign-in"), api("GET", "/api/v2/organizations")]));
    if (!r) return;
    policy = r[0].data.policy;
    policyVersion = r[0].data.version;
    policyOrgs = r[1].data;
    renderPolicy();
    document.body.dataset.ready = "1";
  };
  $("policy-reload").addEventListener("click", () => LOADERS.policy());
  $("policy-org-add").addEventListener("click", () => {
    const id = $("policy-org-pick").value;
    if (!id || !policy) return;
    policy.organizations = policy.organizations || {};
    policy.organizations[id] = { mfa: { mode: "required" }, reauth: { mode: "every_sign_in" } };
    renderPolicy();
    const first = $("policy-editor").querySelector("[data-org='" + CSS.escape(id) + "'] select");
    if (first) first.focus();
  });
  $("policy-add-rule").addEventListener("click", () => {
    policy.rules = policy.rules || [];
    policy.rules.push({
      name: t("admin-policy-new-rule-name"),
      when: {},
      then: { mfa: { mode: "required" }, reauth: { mode: "every_sign_in" } },
    });
    renderPolicy();
    const name = $(pathId("rules[" + (policy.rules.length - 1) + "].name"));
    if (name) name.focus();
  });
  $("policy-save").addEventListener("click", () => run(async () => {
    const headers = policyVersion ? { "if-match": '"' + policyVersion + '"' } : {};
    const r = await api("PUT", "/api/v2/policies/sign-in", policy, headers);
    policy = r.data.policy;
    policyVersion = r.data.version;
    renderPolicy();
    notice(t("admin-policy-saved", { version: numberFormat.format(policyVersion) }));
  }, $("policy-editor")));

  $("dryrun").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { user: $("dryrun-user").value.trim() };
    const app = $("dryrun-app").value.trim();
    if (app) body.application = app;
    run(async () => {
      const r = await api("POST", "/api/v2/policies/sign-in/dry-run", body);
      const d = r.data;
      const out = $("dryrun-result");
      clear(out);
      const source = d.source.kind === "rule"
        ? t("admin-dryrun-source-rule", { n: d.source.index + 1, name: d.source.name })
        : d.source.kind === "organization"
          ? t("admin-dryrun-source-org", { id: d.source.id })
          : t("admin-dryrun-source-global");
      const dl = el("dl", null, "facts");
      const fact = (k, v) => dl.append(el("dt", k), el("dd", v));
      fact(t("admin-dryrun-source"), source);
      fact(t("admin-dryrun-mfa"), d.mfa_required ? t("admin-yes") : t("admin-no"));
      fact(t("admin-dryrun-next"), tk("admin-dryrun-next-", d.next));
      if (d.offer) fact(t("admin-dryrun-offer"), d.offer.map((m) => tk("admin-method-", m)).join(", "));
      if (d.methods) fact(t("admin-dryrun-methods"), d.methods.map((m) => tk("admin-method-", m)).join(", "));
      if (d.reason) fact(t("admin-dryrun-reason"), tk("admin-dryrun-reason-", d.reason));
      if (d.next === "enroll") fact(t("admin-dryrun-skippable"), d.skippable ? t("admin-yes") : t("admin-no"));
      out.append(dl);
      for (const c of d.chains || []) {
        const ol = el("ol", null, "steps");
        ol.setAttribute("aria-label", t("admin-policy-chain", { n: c.index + 1 }));
        for (const s of c.steps) {
          const methods = s.any_of.map((m) => (m.requires && m.requires.length
            ? t("admin-dryrun-method-requires", { method: tk("admin-method-", m.method), requires: m.requires.map((c) => tk("admin-trait-", c)).join(", ") })
            : tk("admin-method-", m.method))).join(" / ");
          const state = s.satisfied ? t("admin-dryrun-step-done") : s.usable.length ? t("admin-dryrun-step-usable") : t("admin-dryrun-step-unusable");
          ol.append(el("li", methods + " — " + state));
        }
        out.append(el("h5", t("admin-policy-chain", { n: c.index + 1 })), ol);
      }
    }, $("dryrun"));
  });

  // ------------------------------------------------------------------ audit log

  // The server filters (user, type or `family.*`, time range, result) and pages; the export
  // downloads every matching event as CSV from the server (the session cookie authenticates).
  let auditPage = 1;
  let auditQuery = "";

  // The filter form as a query string; `to` covers its whole minute.
  function auditParams() {
    const params = new URLSearchParams();
    const user = $("audit-user").value.trim();
    const type = $("audit-type").value.trim();
    if (user) params.append("user_id", user);
    if (type) params.append("type", type);
    if ($("audit-from").value) params.append("from", String(Math.floor(Date.parse($("audit-from").value) / 1000)));
    if ($("audit-to").value) params.append("to", String(Math.floor(Date.parse($("audit-to").value) / 1000) + 59));
    if ($("audit-result").value) params.append("result", $("audit-result").value);
    return params.toString();
  }

  async function loadAudit() {
    const q = auditQuery ? "&" + auditQuery : "";
    const r = await run(() => api("GET", "/api/v2/logs?page=" + auditPage + "&per_page=" + PER_PAGE + q), $("audit-filter"));
    if (!r) return;
    const page = r.data;
    const ul = $("audit-list");
    clear(ul);
    for (const e of page.logs) {
      const li = el("li");
      li.dataset.type = e.type;
      li.dataset.result = e.result;
      const what = el("div", null, "what");
      what.append(el("strong", tk("admin-event-", e.type)));
      what.append(el("span", e.result === "failure" ? t("admin-audit-result-failure") : t("admin-audit-result-success"), "tag"));
      what.append(el("span", when(e.at), "when"));
      what.append(data("span", [e.user_id, e.authenticator_id, e.detail].filter(Boolean).join(" · "), "when"));
      li.append(what);
      ul.append(li);
    }
    const pages = Math.max(1, Math.ceil(page.total / PER_PAGE));
    $("audit-count").textContent = t("admin-audit-matching", { count: numberFormat.format(page.total) });
    $("audit-page").textContent = t("admin-page-of", { page: numberFormat.format(auditPage), pages: numberFormat.format(pages), total: numberFormat.format(page.total) });
    $("audit-prev").disabled = auditPage <= 1;
    $("audit-next").disabled = auditPage >= pages;
    document.body.dataset.ready = "1";
  }
  LOADERS.audit = loadAudit;

  $("audit-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    auditQuery = auditParams();
    auditPage = 1;
    loadAudit();
  });
  $("audit-prev").addEventListener("click", () => {
    auditPage = Math.max(1, auditPage - 1);
    loadAudit();
  });
  $("audit-next").addEventListener("click", () => {
    auditPage += 1;
    loadAudit();
  });
  // The export: the server's CSV for the form's filter, saved as the file the server names.
  $("audit-export").addEventListener("click", async () => {
    const query = auditParams();
    const r = await run(async () => {
      busy(true);
      try {
        const resp = await fetch("/api/v2/logs/export" + (query ? "?" + query : ""), { credentials: "same-origin" });
        if (!resp.ok) {
          let body = null;
          try {
            body = await resp.json();
          } catch (_) {
            body = null;
          }
          const e = new Error("HTTP " + resp.status);
          e.status = resp.status;
          e.code = body && body.error;
          e.detail = (body && body.error_description) || "";
          throw e;
        }
        return await resp.blob();
      } finally {
        busy(false);
      }
    }, $("audit-filter"));
    if (!r) return;
    const url = URL.createObjectURL(r);
    const a = el("a");
    a.href = url;
    a.download = "tessera-audit.csv";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });

  // ------------------------------------------------------------------ tokens

  function renderScopes() {
    const fs = $("token-scopes");
    fs.querySelectorAll(".scope").forEach((n) => n.remove());
    for (const s of scopes) {
      const wrap = el("div", null, "check scope");
      const cb = el("input");
      cb.type = "checkbox";
      cb.value = s;
      cb.id = "scope-" + s.replace(/[^a-z0-9]+/gi, "-");
      const label = data("label", s);
      label.htmlFor = cb.id;
      wrap.append(cb, label);
      fs.append(wrap);
    }
  }

  LOADERS.tokens = async () => {
    const r = await run(() => api("GET", "/api/v2/tokens"));
    if (!r) return;
    const ul = $("tokens-list");
    clear(ul);
    for (const k of r.data) {
      const li = el("li");
      li.dataset.id = k.id;
      const what = el("div", null, "what");
      what.append(data("strong", k.name || k.id));
      if (k.revoked_at) what.append(el("span", t("admin-tokens-revoked"), "tag"));
      what.append(data("span", k.scopes.join(" "), "when"));
      what.append(el("span", t("admin-tokens-dates", { created: when(k.created_at), expires: k.expires_at ? when(k.expires_at) : t("admin-tokens-no-expiry") }), "when"));
      li.append(what);
      if (!k.revoked_at) {
        li.append(confirmButton(t("admin-tokens-revoke"), t("admin-tokens-revoke-confirm"), "secondary", () => run(async () => {
          await api("DELETE", "/api/v2/tokens/" + enc(k.id));
          notice(t("admin-tokens-revoked-done"));
          await LOADERS.tokens();
        }), t("admin-tokens-revoke-named", { name: k.name || k.id })));
      }
      ul.append(li);
    }
    if (r.data.length === 0) ul.append(el("li", t("admin-tokens-none"), "muted"));
    document.body.dataset.ready = "1";
  };
  $("token-create").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const chosen = Array.from($("token-scopes").querySelectorAll("input:checked")).map((c) => c.value);
    const body = { name: $("token-name").value.trim(), scopes: chosen };
    const days = $("token-expiry").value;
    if (days && Number(days) > 0) body.expires_in = Math.round(Number(days) * 86400);
    run(async () => {
      const r = await api("POST", "/api/v2/tokens", body);
      $("token-create").reset();
      showOnce("token-secret", r.data.token);
      await LOADERS.tokens();
    }, $("token-create"));
  });

  // ------------------------------------------------------------------ factor settings

  // Every setting is a field named by its path (`totp.digits`), so a refused value is marked
  // where it is typed. Saving sends the overrides: those changed before, plus every field whose
  // value now differs from the one in force; "use the file's value" drops one.
  const CHOICES = {
    "totp.algorithm": ["SHA1", "SHA256", "SHA512"],
    "email.use_for": ["authentication_and_recovery", "recovery_only"],
    "email.code_charset": ["digits", "letters", "alphanumeric"],
    "sms.code_charset": ["digits", "letters", "alphanumeric"],
    "voice.code_charset": ["digits", "letters", "alphanumeric"],
    "device.number_policy": ["type", "pick_of_three"],
  };
  const factorSettings = { effective: null, overrides: null };

  function settingField(section, key, value, changed) {
    const path = section + "." + key;
    const row = el("div", null, "setting");
    const id = "setting-" + section + "-" + key;
    // The setting's translated name, its own name (as docs/server.md lists it) in smaller
    // text, and a line of help under the field.
    const msg = "admin-setting-" + section + "-" + key.replace(/_/g, "-");
    const label = el("label", null, "setting-label");
    label.htmlFor = id;
    label.append(msg in MESSAGES ? el("span", t(msg)) : data("span", path));
    label.append(data("code", path, "setting-name"));
    const help = msg + "-help" in MESSAGES ? el("p", t(msg + "-help"), "setting-help") : null;
    let input;
    if (typeof value === "boolean") {
      input = el("input");
      input.type = "checkbox";
      input.checked = value;
    } else if (CHOICES[path]) {
      input = el("select");
      for (const c of CHOICES[path]) {
        const o = data("option", c);
        o.value = c;
        input.append(o);
      }
      input.value = value;
    } else {
      input = el("input");
      input.type = typeof value === "number" ? "number" : "text";
      input.value = Array.isArray(value) ? value.join(", ") : String(value);
    }
    input.id = id;
    input.dataset.path = path;
    input.dataset.kind = Array.isArray(value) ? "list" : typeof value;
    if (help) {
      help.id = id + "-help";
      input.setAttribute("aria-describedby", help.id);
    }
    row.append(label, input);
    if (changed) {
      row.append(el("span", t("admin-settings-changed"), "badge"));
      row.append(button(t("admin-settings-reset-one"), "link", () => run(async () => {
        const next = JSON.parse(JSON.stringify(factorSettings.overrides));
        delete next[section][key];
        await saveSettings(next);
      }, $("settings-form")), t("admin-settings-reset-one") + ": " + path));
    }
    if (help) row.append(help);
    return row;
  }

  function fieldValue(input) {
    switch (input.dataset.kind) {
      case "boolean": return input.checked;
      case "number": return input.value.trim() === "" ? NaN : Number(input.value);
      case "list": return list(input.value);
      default: return input.value;
    }
  }

  function renderSettings(r) {
    factorSettings.effective = r.effective;
    factorSettings.overrides = r.overrides;
    const view = $("settings-view");
    clear(view);
    for (const [section, values] of Object.entries(r.effective)) {
      const box = el("fieldset", null, "settings-section");
      box.append(el("legend", tk("admin-settings-section-", section)));
      for (const [key, value] of Object.entries(values)) {
        if (key === "configured") {
          box.append(el("p", value ? t("admin-settings-configured") : t("admin-settings-not-configured"), "muted"));
          continue;
        }
        const changed = Boolean(r.overrides[section] && key in r.overrides[section]);
        box.append(settingField(section, key, value, changed));
      }
      view.append(box);
    }
  }

  async function saveSettings(overrides) {
    const r = await api("PUT", "/api/v2/settings/factors", overrides);
    clearFieldErrors();
    renderSettings(r.data);
    notice(t("admin-settings-saved"));
  }

  LOADERS.settings = async () => {
    clear($("settings-view"));
    try {
      const r = await api("GET", "/api/v2/settings/factors");
      $("settings-status").textContent = t("admin-settings-current");
      renderSettings(r.data);
    } catch (e) {
      $("settings-status").textContent = errorText(e);
    }
    document.body.dataset.ready = "1";
  };

  $("settings-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    run(async () => {
      const next = JSON.parse(JSON.stringify(factorSettings.overrides));
      document.querySelectorAll("#settings-view [data-path]").forEach((input) => {
        const [section, key] = input.dataset.path.split(".");
        const value = fieldValue(input);
        const before = factorSettings.effective[section][key];
        if (JSON.stringify(value) !== JSON.stringify(before)) next[section][key] = value;
      });
      await saveSettings(next);
    }, $("settings-form"));
  });
  $("settings-reset").addEventListener("click", () => run(() => saveSettings({}), $("settings-form")));

  // ------------------------------------------------------------------ start

  $("sign-out").addEventListener("click", () => run(async () => {
    await fetch("/signin/api/session/sign-out", { method: "POST", credentials: "same-origin" });
    window.location.assign("/signin?return_to=%2Fadmin");
  }));

  async function start() {
    const r = await run(() => api("GET", "/admin/api/session"));
    if (!r) return;
    csrf = r.data.csrf_token;
    scopes = r.data.scopes;
    $("admin-user").textContent = r.data.username;
    renderScopes();
    window.addEventListener("hashchange", route);
    await route();
  }
  start();
})();
