// Tessera's hosted sign-in: renders the flow view of the JSON flow API (docs/signin.md) step by
// step. Plain JavaScript, no build step, no inline handlers: the page's Content-Security-Policy
// allows scripts and styles from this origin only and no HTML sinks (Trusted Types), so every
// text goes in through textContent and the QR code's SVG through an <img> data: URL.
"use strict";

(() => {
  const API = "/signin/api";
  const STEPS = ["loading", "identifier", "verify", "enroll", "recovery-codes", "done",
    "signed-out", "denied", "expired", "recover"];
  // Every text comes from the server's catalogue for this page's language (docs/i18n.md):
  // a JSON block the server renders into the page, variables left as {name}.
  const MESSAGES = (() => {
    try { return JSON.parse(document.getElementById("i18n").textContent) || {}; } catch (_) { return {}; }
  })();
  const LANG = document.documentElement.lang || "en";
  const has = (key) => Object.prototype.hasOwnProperty.call(MESSAGES, key);
  function t(key, vars) {
    return (has(key) ? MESSAGES[key] : key)
      .replace(/\{(\w+)\}/g, (m, n) => (vars && n in vars ? String(vars[n]) : m));
  }
  // A text chosen by a code from the server (a method, a reason): the code itself if unknown.
  const byCode = (prefix, code) => (has(prefix + code) ? t(prefix + code) : String(code));
  const ENROLL_ORDER = ["passkey", "totp", "push"];
  const label = (m) => byCode("signin-method-", m);
  const enrollLabel = (m) => byCode("signin-enroll-", m);
  // The message of an API error: English pages keep the server's own description (it names
  // the field); other languages show the catalogue's text for the error code.
  function errorText(status, body) {
    const code = body && body.error;
    if (LANG === "en" && body && body.error_description) return body.error_description;
    if (code && has("error-" + code)) return t("error-" + code);
    return status ? t("error-http", { status }) : t("error-generic");
  }
  // Errors that end the flow: only a new one helps.
  const FLOW_OVER = ["flow_expired", "flow_not_found", "flow_other_browser", "flow_finished"];

  const $ = (id) => document.getElementById(id);
  let view = null;
  let clientId = null;
  let pushAutoSent = null; // the flow whose push this page asked for without a click
  let sentAuto = null; // the flow and method whose code this page asked for without a click
  let flowWatch = null; // the timer looking for a magic link used in another tab
  const poll = { key: null, abort: null };
  let deviceWatch = null; // the timer looking for the Tessera app's enrollment

  class ApiError extends Error {
    constructor(status, body) {
      super(errorText(status, body));
      this.status = status;
      this.code = (body && body.error) || "";
    }
  }

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (poll.abort && method === "GET" && /\/(push|qr-login)\?/.test(path)) init.signal = poll.abort.signal;
    let r;
    try {
      r = await fetch(API + path, init);
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError(0, { error: "network" });
    }
    let data = null;
    if (r.status !== 204) {
      try { data = await r.json(); } catch (_) { data = null; }
    }
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }

  // Passkeys (WebAuthn): webauthn.js, shared with the account center.
  const webauthn = window.TesseraWebAuthn;
  const hasPasskeys = webauthn.supported;
  const passkeyCreate = webauthn.create;
  const passkeyGet = webauthn.get;

  // The browser's own refusals (cancelled, timed out, no passkey here) in plain words.
  function passkeyFailed(e) {
    if (e instanceof ApiError) return e;
    const name = e && e.name;
    if (name === "NotAllowedError") return new Error(t("signin-passkey-cancelled"));
    if (name === "InvalidStateError") return new Error(t("signin-passkey-exists"));
    return new Error(t("signin-passkey-unusable"));
  }

  // Asks the flow for the ceremony its step calls for, runs it in the browser, answers it.
  async function passkeyCeremony(create, answerPath, extra) {
    const v = await api("POST", flowPath("/passkey/options"), {});
    let credential;
    try {
      credential = create ? await passkeyCreate(v.passkey) : await passkeyGet(v.passkey);
    } catch (e) {
      throw passkeyFailed(e);
    }
    render(await api("POST", flowPath(answerPath), { credential, ...(extra || {}) }));
  }

  const flowPath = (suffix) => "/flows/" + encodeURIComponent(view.flow_id) + suffix;

  function error(text) { $("error").textContent = text || ""; }

  function show(step) {
    for (const s of STEPS) $("step-" + s).hidden = s !== step;
  }

  // Moves focus to the first field of the step shown, else its heading, for keyboard and
  // screen-reader users.
  function focusStep(step) {
    const section = $("step-" + step);
    const field = [...section.querySelectorAll("input:not([type=checkbox]):not(:disabled)")]
      .find((f) => f.offsetParent !== null);
    const target = field || section.querySelector("h1");
    if (target) target.focus();
  }

  // Runs an action with every button of the page disabled; an error goes to the alert line.
  async function act(fn) {
    const buttons = [...document.querySelectorAll("main button:not(:disabled)")];
    buttons.forEach((b) => { b.disabled = true; });
    document.body.setAttribute("aria-busy", "true");
    try {
      await fn();
    } catch (e) {
      fail(e);
    } finally {
      document.body.removeAttribute("aria-busy");
      buttons.forEach((b) => { if (b.isConnected) b.disabled = false; });
      syncSaved();
    }
  }

  function fail(e) {
    if (e && e.name === "AbortError") return;
    if (e instanceof ApiError && FLOW_OVER.includes(e.code)) {
      stopPoll();
      $("expired-message").textContent = e.message;
      show("expired");
      focusStep("expired");
      error("");
      return;
    }
    error(e instanceof Error ? e.message : String(e));
    if (e instanceof ApiError && e.code === "wrong_step" && view) {
      // The flow moved on elsewhere (another tab): show where it is now, keeping the message.
      api("GET", flowPath("")).then((v) => render(v, true)).catch(() => {});
    }
  }

  // A call on the current flow whose answer is the next view.
  async function step(method, suffix, body) {
    const v = await api(method, flowPath(suffix), body);
    render(v);
  }

  async function startFlow() {
    const v = await api("POST", "/flows", clientId ? { client_id: clientId } : {});
    const q = new URLSearchParams({ flow: v.flow_id });
    if (clientId) q.set("client_id", clientId);
    const back = new URLSearchParams(window.location.search).get("return_to");
    if (back) q.set("return_to", back);
    history.replaceState(null, "", "?" + q.toString());
    render(v);
  }

  function render(v, keepError) {
    const previous = view;
    view = v;
    if (!keepError) error("");
    if (!pollKey(v)) stopPoll();
    if (!(v.step === "verify" && ["email", "sms", "voice"].includes(v.method || (v.offer || [])[0]))) stopFlowWatch();
    if (!(v.step === "enroll" && v.enroll && v.enroll.push)) stopDeviceWatch();
    const app = v.application;
    $("app").hidden = !app;
    $("app").textContent = app ? t("signin-to-continue", { app: app.name || app.client_id }) : "";
    if (app && app.client_id) clientId = app.client_id;
    // The same screen as before (a re-render after a poll or an error): keep the focus.
    const settingUp = (x) => (x && x.enroll && (x.enroll.totp ? "totp" : x.enroll.push ? "push" : "")) || "";
    const same = Boolean(previous) && previous.flow_id === v.flow_id &&
      previous.step === v.step && previous.method === v.method &&
      settingUp(previous) === settingUp(v);
    switch (v.step) {
      case "identifier": renderIdentifier(v); break;
      case "verify": renderVerify(v); break;
      case "enroll": renderEnroll(v, same); break;
      case "recovery_codes": renderRecoveryCodes(v); break;
      case "done": renderDone(v); break;
      case "denied": renderDenied(v); break;
      default:
        error(t("signin-unknown-step", { step: v.step }));
        return;
    }
    const shown = v.step === "recovery_codes" ? "recovery-codes" : v.step;
    show(shown);
    if (!same || v.step === "identifier") focusStep(shown);
  }

  function renderIdentifier(v) {
    $("identifier").value = v.identifier || $("identifier").value || "";
    $("passkey-signin").hidden = !hasPasskeys();
  }

  function renderVerify(v) {
    const offer = v.offer || [];
    const method = v.method || offer[0];
    $("step-verify").dataset.detail = method || "";
    $("verify-who").textContent = v.identifier || "";
    $("password-panel").hidden = method !== "password";
    const sent = ["email", "sms", "voice"].includes(method);
    $("code-panel").hidden = method !== "totp" && method !== "recovery_code" && !sent;
    $("push-panel").hidden = method !== "push";
    $("qr-panel").hidden = method !== "qr_login";
    $("passkey-panel").hidden = method !== "passkey";
    const supported = ["password", "totp", "recovery_code", "push", "qr_login", "email", "sms", "voice"].includes(method) ||
      (method === "passkey" && hasPasskeys());
    $("unsupported-panel").hidden = supported;
    if (!supported) {
      $("unsupported-method").textContent = t("signin-unsupported", { method: label(method) });
    }
    if (method === "password") {
      $("password-username").value = v.identifier || "";
      $("password").value = "";
      rhythm.reset();
    } else if (method === "totp" || method === "recovery_code") {
      const totp = method === "totp";
      $("code-label").textContent = totp ? t("signin-code-totp") : t("signin-code-recovery");
      $("code-hint").textContent = totp ? "" : t("signin-code-recovery-hint");
      $("code").inputMode = totp ? "numeric" : "text";
      $("code").value = "";
    } else if (sent) {
      renderSent(v, method);
    } else if (method === "push") {
      renderPush(v);
    } else if (method === "qr_login") {
      renderQr(v);
    }
    const remember = v.remember_browser && v.remember_browser.offered &&
      method !== "push" && method !== "qr_login";
    $("remember-row").hidden = !remember;
    // "Verify another way": every other method offered now.
    const others = offer.filter((m) => m !== method);
    fillChoices($("other-ways-list"), others, "choose-", label, (m) => step("POST", "/choose", { method: m }));
    $("other-ways").hidden = others.length === 0;
    $("other-ways").setAttribute("aria-expanded", "false");
    $("other-ways-list").hidden = true;
  }

  // A code's form ("6 digits"), for the charsets the server knows.
  const charset = (c) => (["digits", "letters", "alphanumeric"].includes(c) ? c : "alphanumeric");
  const time = (unix) => new Date(unix * 1000).toLocaleTimeString(LANG);

  // A code sent by email, SMS or voice: sent once when the method is shown (and again on
  // "Send a new code", which voids the previous one). While it waits, the page looks at the
  // flow every few seconds: a magic link opened in this browser moves it on in another tab.
  function renderSent(v, method) {
    const c = v.code_sent;
    $("code-label").textContent = t("signin-code-" + method);
    $("code").inputMode = c && c.code_charset !== "digits" ? "text" : "numeric";
    $("code-resend").hidden = !c;
    $("code-sent").hidden = !c;
    if (!c) {
      $("code-hint").textContent = "";
      if (sentAuto !== v.flow_id + ":" + method) {
        sentAuto = v.flow_id + ":" + method;
        $("code-hint").textContent = t("signin-sending-code");
        act(() => step("POST", "/choose", { method }));
      } else {
        $("code-resend").hidden = false;
      }
      return;
    }
    sentAuto = v.flow_id + ":" + method;
    $("code-hint").textContent = t("signin-code-format-" + charset(c.code_charset), { length: c.code_length });
    $("code-sent").textContent = t("signin-sent-" + method, { to: c.to, time: time(c.expires_at) });
    watchFlow(v);
  }

  function stopFlowWatch() {
    if (flowWatch) clearInterval(flowWatch);
    flowWatch = null;
  }

  function watchFlow(v) {
    stopFlowWatch();
    const id = v.flow_id;
    flowWatch = setInterval(async () => {
      if (!view || view.flow_id !== id || view.step !== "verify") { stopFlowWatch(); return; }
      try {
        const next = await api("GET", flowPath(""));
        if (next.continued_by_link && !view.continued_by_link) {
          // The link from the email went on with this sign-in in another tab.
          stopFlowWatch();
          view = null;
          $("expired-message").textContent = t("signin-continued-elsewhere");
          show("expired");
          focusStep("expired");
          return;
        }
        if (next.step !== view.step || next.method !== view.method) {
          stopFlowWatch();
          render(next);
        }
      } catch (e) {
        stopFlowWatch();
        fail(e);
      }
    }, 3000);
  }

  function renderPush(v) {
    const p = v.push;
    $("push-resend").hidden = true;
    if (!p) {
      $("push-number").textContent = "";
      // The first offered method is used directly: ask for the push once; after that (it
      // expired or was refused) the user asks again with a click.
      if (pushAutoSent !== v.flow_id) {
        pushAutoSent = v.flow_id;
        $("push-status").textContent = t("signin-push-sending");
        act(() => step("POST", "/choose", { method: "push" }));
      } else {
        $("push-status").textContent = t("signin-push-none");
        $("push-resend").hidden = false;
      }
      return;
    }
    pushAutoSent = v.flow_id;
    $("push-number").textContent = String(p.number);
    const state = p.state || "pending";
    if (state === "pending") {
      $("push-status").textContent = t("signin-waiting-approval");
      startPoll(v);
    } else {
      stopPoll();
      $("push-status").textContent = state === "denied" ? t("signin-push-denied")
        : state === "expired" ? t("signin-push-expired") : t("signin-push-over");
      $("push-resend").hidden = false;
    }
  }

  // The QR login the flow shows (the server shows one when it becomes the method).
  function renderQr(v) {
    const q = v.qr_login;
    $("qr-refresh").hidden = true;
    if (!q) {
      $("qr-img").removeAttribute("src");
      $("qr-status").textContent = t("signin-qr-none");
      $("qr-refresh").hidden = false;
      return;
    }
    $("qr-img").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(q.qr_svg || "");
    $("qr-img").dataset.link = q.link || "";
    const state = q.state || "pending";
    if (state === "pending") {
      $("qr-status").textContent = t("signin-waiting-approval");
      startPoll(v);
    } else {
      stopPoll();
      $("qr-status").textContent = state === "denied" ? t("signin-qr-denied")
        : state === "expired" ? t("signin-qr-expired") : t("signin-qr-over");
      $("qr-refresh").hidden = false;
    }
  }

  // One long-poll loop per push or QR code: it ends when the view changes, another method is
  // chosen or the page leaves the step.
  function pollKey(v) {
    if (!v || v.step !== "verify") return null;
    if (v.method === "push" && v.push && (v.push.state || "pending") === "pending") {
      return v.flow_id + ":push:" + v.push.number + ":" + v.push.expires_at;
    }
    if (v.method === "qr_login" && v.qr_login && (v.qr_login.state || "pending") === "pending") {
      return v.flow_id + ":qr:" + v.qr_login.link;
    }
    return null;
  }

  function stopPoll() {
    if (poll.abort) poll.abort.abort();
    poll.abort = null;
    poll.key = null;
  }

  function startPoll(v) {
    const key = pollKey(v);
    const path = v.method === "qr_login" ? "/qr-login?wait=25" : "/push?wait=25";
    if (!key || poll.key === key) return;
    stopPoll();
    poll.key = key;
    const controller = new AbortController();
    poll.abort = controller;
    (async () => {
      let failures = 0;
      while (!controller.signal.aborted) {
        let next;
        try {
          next = await api("GET", flowPath(path));
          failures = 0;
        } catch (e) {
          if (controller.signal.aborted) return;
          if (e instanceof ApiError && e.status === 0 && failures < 5) {
            failures += 1;
            await new Promise((ok) => setTimeout(ok, 1000 * failures));
            continue;
          }
          poll.key = null;
          fail(e);
          return;
        }
        if (controller.signal.aborted) return;
        if (pollKey(next) === key) { view = next; continue; }
        poll.key = null;
        poll.abort = null;
        render(next);
        return;
      }
    })();
  }

  function fillChoices(list, methods, prefix, labelOf, onPick) {
    list.replaceChildren(...methods.map((m) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.id = prefix + m;
      b.dataset.method = m;
      b.textContent = labelOf(m);
      b.addEventListener("click", () => act(() => onPick(m)));
      li.append(b);
      return li;
    }));
  }

  function renderEnroll(v, same) {
    const e = v.enroll || {};
    $("enroll-reason").textContent = has("signin-reason-" + e.reason)
      ? t("signin-reason-" + e.reason) : t("signin-reason-prompt");
    $("enroll-skip").hidden = !e.skippable;
    const methods = (e.methods || []).filter((m) => ENROLL_ORDER.includes(m))
      .sort((a, b) => ENROLL_ORDER.indexOf(a) - ENROLL_ORDER.indexOf(b));
    const totp = e.totp;
    const device = e.push;
    $("step-enroll").dataset.detail = totp ? "totp" : device ? "push" : "choose";
    $("enroll-choose").hidden = Boolean(totp || device);
    $("enroll-totp").hidden = !totp;
    $("enroll-device").hidden = !device;
    $("enroll-other-ways").hidden = !(totp || device) || methods.length < 2;
    const usable = methods.filter((m) => m !== "passkey" || hasPasskeys());
    fillChoices($("enroll-methods"), usable, "enroll-method-", enrollLabel,
      (m) => (m === "passkey" ? passkeyCeremony(true, "/passkey") : step("POST", "/enroll", { method: m })));
    if (methods.length === 0) {
      $("enroll-reason").textContent += " " + t("signin-enroll-none");
    }
    if (totp) {
      $("totp-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(totp.qr_svg || "");
      $("totp-secret").dataset.secret = totp.secret;
      $("totp-secret").textContent = (totp.secret || "").replace(/(.{4})(?=.)/g, "$1 ");
      $("totp-uri").href = /^otpauth:\/\//.test(totp.otpauth_uri || "") ? totp.otpauth_uri : "#";
      if (!same) $("totp-code").value = "";
    }
    if (device) {
      $("device-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(device.qr_svg || "");
      const link = /^tessera:\/\//.test(device.link || "") ? device.link : "";
      $("device-link").dataset.link = link;
      $("device-link").href = link || "#";
      $("device-status").textContent = t("signin-device-waiting");
      watchDevice(v.flow_id);
    }
  }

  // The Tessera app enrolls over its own channel: look at the flow every two seconds until it
  // moves on (the new device is then asked to approve a push).
  function watchDevice(flowId) {
    if (deviceWatch) return;
    deviceWatch = setInterval(async () => {
      if (!view || view.flow_id !== flowId || document.body.getAttribute("aria-busy")) return;
      try {
        const v = await api("GET", flowPath(""));
        if (v.step !== "enroll") render(v);
      } catch (e) {
        stopDeviceWatch();
        fail(e);
      }
    }, 2000);
  }

  function stopDeviceWatch() {
    if (deviceWatch) clearInterval(deviceWatch);
    deviceWatch = null;
  }

  function renderRecoveryCodes(v) {
    const codes = v.recovery_codes || [];
    $("recovery-codes-list").replaceChildren(...codes.map((c) => {
      const li = document.createElement("li");
      li.textContent = c;
      return li;
    }));
    $("recovery-codes-saved").checked = false;
    syncSaved();
  }

  function syncSaved() {
    $("recovery-codes-continue").disabled = !$("recovery-codes-saved").checked;
  }

  function download() {
    const codes = (view && view.recovery_codes) || [];
    const who = (view && view.identifier) || "";
    const text = t("signin-recovery-file-title", { user: who }) + "\n" +
      t("signin-recovery-file-note") + "\n\n" + codes.join("\n") + "\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = "tessera-backup-codes.txt";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function renderDone(v) {
    $("done-user").textContent = (v.user && v.user.username) || v.identifier || "";
    renderSecurity(v.security);
    const to = safeRedirect(v.redirect_to) || accountReturn();
    $("done-redirect").hidden = !to;
    $("sign-out").hidden = Boolean(to);
    if (to) window.location.assign(to);
  }

  // `?return_to=` when no application waits: only the account center or the admin console of
  // this origin (`/account`, `/account/…`, `/admin?…`), never another site (docs/account.md,
  // docs/admin.md).
  function accountReturn() {
    const r = new URLSearchParams(window.location.search).get("return_to");
    if (!r || !/^\/(?:account|admin)(?:[/?#]|$)/.test(r) || r.includes("\\")) return null;
    try {
      const u = new URL(r, window.location.origin);
      return u.origin === window.location.origin ? u.href : null;
    } catch (_) {
      return null;
    }
  }

  // Only http(s) URLs are followed: never a javascript: or data: one.
  function safeRedirect(to) {
    if (!to) return null;
    try {
      const u = new URL(to, window.location.href);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (_) {
      return null;
    }
  }

  function renderSecurity(s) {
    $("security").hidden = s === null || s === undefined;
    if ($("security").hidden) return;
    const score = typeof s === "number" ? s : Number(s.score);
    const max = (s && Number(s.max)) || 100;
    $("security-meter").max = max;
    $("security-meter").high = max * 0.8;
    $("security-meter").low = max * 0.5;
    $("security-meter").optimum = max;
    $("security-meter").value = Number.isFinite(score) ? score : 0;
    $("security-score").textContent = (Number.isFinite(score) ? score : "?") + " / " + max;
    $("security-level").textContent = s && s.level && has("signin-level-" + s.level) ? t("signin-level-" + s.level) : "";
    const list = (s && s.suggestions) || [];
    $("security-suggestions").replaceChildren(...list.map((code) => {
      const li = document.createElement("li");
      li.dataset.code = code;
      li.textContent = byCode("signin-suggest-", code);
      return li;
    }));
  }

  function renderDenied(v) {
    $("denied-message").textContent = (v.denied && v.denied.message) || t("signin-denied-default");
  }

  function on(id, type, fn) { $(id).addEventListener(type, fn); }
  function onSubmit(id, fn) {
    on(id, "submit", (ev) => { ev.preventDefault(); act(fn); });
  }
  const remembered = () => (!$("remember-row").hidden ? { remember_browser: $("remember").checked } : {});

  onSubmit("identifier-form", async () => {
    const identifier = $("identifier").value.trim();
    if (!identifier) throw new Error(t("signin-enter-identifier"));
    await step("POST", "/identifier", { identifier });
  });
  // Typing rhythm (docs/signals.md): per keystroke in the password field, how long the key was
  // held (dwell) and the gap from the previous key's release to this key's press (flight; 0 when
  // they overlap), in whole milliseconds capped at 3000. Which keys were pressed is never kept
  // (the key's code is only held in memory to pair its release with its press) and never sent.
  // Anything but plain typing — an edit, a paste, a password manager's fill, a held-down key —
  // leaves no sample: the timings are sent only when there is one keystroke per character.
  const rhythm = (() => {
    const CAP = 3000;
    const MAX_KEYS = 128;
    const IGNORED = ["Shift", "CapsLock", "Enter", "Tab", "AltGraph"];
    let keys = [];
    let held = new Map();
    let spoiled = false;
    const field = $("password");
    const reset = () => { keys = []; held = new Map(); spoiled = false; };
    field.addEventListener("keydown", (e) => {
      if (IGNORED.includes(e.key) || e.isComposing) return;
      if (e.repeat || e.key.length !== 1 || e.ctrlKey || e.metaKey) { spoiled = true; return; }
      held.set(e.code, keys.length);
      keys.push({ down: e.timeStamp, up: null });
    });
    field.addEventListener("keyup", (e) => {
      const i = held.get(e.code);
      if (i === undefined) return;
      held.delete(e.code);
      keys[i].up = e.timeStamp;
    });
    field.addEventListener("input", (e) => {
      // An emptied field starts over; anything but typed characters spoils the sample.
      if (field.value === "") reset();
      else if (e.inputType !== "insertText") spoiled = true;
    });
    const ms = (x) => Math.min(CAP, Math.max(0, Math.round(x)));
    const sample = () => {
      const n = Array.from(field.value).length;
      if (spoiled || n === 0 || n > MAX_KEYS || keys.length !== n || keys.some((k) => k.up === null)) {
        return null;
      }
      return {
        dwell: keys.map((k) => ms(k.up - k.down)),
        flight: keys.slice(1).map((k, i) => ms(k.down - keys[i].up)),
      };
    };
    return { reset, sample };
  })();

  onSubmit("password-form", async () => {
    const password = $("password").value;
    if (!password) throw new Error(t("signin-enter-password"));
    const typing = rhythm.sample();
    rhythm.reset();
    try {
      await step("POST", "/verify", {
        method: "password", password, ...(typing ? { typing } : {}), ...remembered(),
      });
    } catch (e) {
      $("password").value = "";
      $("password").focus();
      throw e;
    }
  });
  onSubmit("code-form", async () => {
    const code = $("code").value.trim();
    if (!code) throw new Error(t("signin-enter-code"));
    try {
      await step("POST", "/verify", { method: view.method, code, ...remembered() });
    } catch (e) {
      $("code").select();
      throw e;
    }
  });
  onSubmit("totp-form", async () => {
    const code = $("totp-code").value.replace(/\s+/g, "");
    if (!code) throw new Error(t("signin-enter-app-code"));
    await step("POST", "/enroll/confirm", { code });
  });
  on("other-ways", "click", () => {
    const list = $("other-ways-list");
    list.hidden = !list.hidden;
    $("other-ways").setAttribute("aria-expanded", String(!list.hidden));
    const first = list.querySelector("button");
    if (!list.hidden && first) first.focus();
  });
  on("passkey-signin", "click", () => act(() => passkeyCeremony(false, "/passkey")));
  on("passkey-start", "click", () => act(() => passkeyCeremony(false, "/passkey", remembered())));
  on("push-resend", "click", () => act(() => step("POST", "/choose", { method: "push" })));
  on("code-resend", "click", () => act(() => step("POST", "/choose", { method: view.method })));
  on("qr-refresh", "click", () => act(() => step("POST", "/choose", { method: "qr_login" })));
  on("back", "click", () => act(() => step("POST", "/back", {})));
  on("enroll-back", "click", () => act(() => step("POST", "/back", {})));
  on("enroll-skip", "click", () => act(() => step("POST", "/skip", {})));
  on("enroll-other-ways", "click", () => {
    stopDeviceWatch();
    $("step-enroll").dataset.detail = "choose";
    $("enroll-totp").hidden = true;
    $("enroll-device").hidden = true;
    $("enroll-choose").hidden = false;
    $("enroll-other-ways").hidden = true;
    const first = $("enroll-methods").querySelector("button");
    if (first) first.focus();
  });
  on("recovery-codes-download", "click", download);
  on("recovery-codes-saved", "change", syncSaved);
  on("recovery-codes-continue", "click", () => act(async () => {
    if (!$("recovery-codes-saved").checked) throw new Error(t("signin-recovery-confirm-first"));
    await step("POST", "/recovery-codes/saved", {});
  }));
  on("sign-out", "click", () => act(async () => {
    await api("POST", "/session/sign-out", {});
    view = null;
    show("signed-out");
    focusStep("signed-out");
  }));
  for (const id of ["signin-again", "denied-restart", "start-again"]) {
    on(id, "click", () => act(startFlow));
  }

  // Password reset and unlock by email (docs/factors.md): ask, then the code (or the link,
  // whose token arrives in this page's fragment) and, for a reset, the new password.
  const recovery = { purpose: null, id: null, link: null };

  function showRecover(purpose, link) {
    recovery.purpose = purpose;
    recovery.link = link;
    const reset = purpose === "reset";
    $("recover-title").textContent = reset ? t("signin-recover-reset-title") : t("signin-recover-unlock-title");
    $("recover-submit").textContent = reset ? t("signin-recover-reset-submit") : t("signin-recover-unlock-submit");
    $("recover-ask-form").hidden = Boolean(link);
    $("recover-code-form").hidden = !link;
    $("recover-code-row").hidden = Boolean(link);
    $("recover-password-row").hidden = !reset;
    $("recover-done").hidden = true;
    $("recover-sent").textContent = link ? t("signin-recover-link-opened") : "";
    show("recover");
    focusStep("recover");
  }

  onSubmit("recover-ask-form", async () => {
    const identifier = $("recover-identifier").value.trim();
    if (!identifier) throw new Error(t("signin-recover-enter-username"));
    const r = await api("POST", "/recovery", { identifier, purpose: recovery.purpose });
    recovery.id = r.recovery_id;
    $("recover-ask-form").hidden = true;
    $("recover-code-form").hidden = false;
    $("recover-sent").textContent = t("signin-recover-sent-" + charset(r.code_charset), { length: r.code_length });
    $("recover-code").value = "";
    $("recover-code").focus();
  });

  onSubmit("recover-code-form", async () => {
    const body = recovery.link ? { link: recovery.link } : { recovery_id: recovery.id, code: $("recover-code").value.trim() };
    if (!recovery.link && !body.code) throw new Error(t("signin-recover-enter-code"));
    if (recovery.purpose === "reset") {
      body.password = $("recover-password").value;
      if (body.password.length < 8) throw new Error(t("signin-recover-short-password"));
    }
    await api("POST", "/recovery/complete", body);
    $("recover-code-form").hidden = true;
    $("recover-done").hidden = false;
    $("recover-done-message").textContent = recovery.purpose === "reset"
      ? t("signin-recover-reset-done") : t("signin-recover-unlock-done");
    $("recover-signin").focus();
  });

  // The language switcher: remembered in a cookie for a year; the server renders the page in it.
  for (const a of document.querySelectorAll("#languages [data-lang]")) {
    if (a.dataset.lang === LANG) a.setAttribute("aria-current", "true");
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      document.cookie = "tessera_lang=" + a.dataset.lang + "; path=/; max-age=31536000; samesite=lax";
      window.location.reload();
    });
  }

  async function boot() {
    const params = new URLSearchParams(window.location.search);
    const recover = params.get("recover");
    if (recover === "reset" || recover === "unlock") {
      const link = new URLSearchParams(window.location.hash.slice(1)).get("link");
      // The token leaves the address bar (and the history) at once.
      if (link) history.replaceState(null, "", "?recover=" + recover);
      showRecover(recover, link);
      return;
    }
    clientId = params.get("client_id");
    const flow = params.get("flow");
    if (flow) {
      render(await api("GET", "/flows/" + encodeURIComponent(flow)));
    } else {
      await startFlow();
    }
  }
  act(boot);
})();
