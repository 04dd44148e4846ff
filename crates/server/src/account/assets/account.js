// Tessera's account center (docs/account.md). Everything shown comes from
// GET /account/api/overview; every change sends the overview's CSRF token in X-CSRF-Token.
// No HTML is ever built from strings (Trusted Types allow no sink): only elements and text.
(() => {
  "use strict";

  // Every text comes from the server's catalogue for this page's language (docs/i18n.md):
  // a JSON block the server renders into the page, variables left as {name}.
  const MESSAGES = (() => {
    try { return JSON.parse(document.getElementById("i18n").textContent) || {}; } catch (_) { return {}; }
  })();
  const lang = document.documentElement.lang || "en";
  const has = (key) => Object.prototype.hasOwnProperty.call(MESSAGES, key);
  function t(key, vars) {
    return (has(key) ? MESSAGES[key] : key)
      .replace(/\{(\w+)\}/g, (m, n) => (vars && n in vars ? String(vars[n]) : m));
  }
  // A text chosen by a code from the server (an event type, a level): `fallback` if unknown.
  const byCode = (prefix, code, fallback) => {
    const key = prefix + String(code).replace(/[^A-Za-z0-9_-]/g, "_");
    return has(key) ? t(key) : fallback;
  };
  // The message of an API error: English pages keep the server's own description (it names
  // the field); other languages show the catalogue's text for the error code.
  function errorText(status, body) {
    const code = body && body.error;
    if (lang === "en" && body && body.error_description) return body.error_description;
    if (code && has("error-" + code)) return t("error-" + code);
    return status ? t("error-http", { status }) : t("error-generic");
  }

  const SIGN_IN = "/signin?return_to=%2Faccount";
  const $ = (id) => document.getElementById(id);
  let csrf = "";
  let view = null;
  let pending = null; // the change to retry after a step-up
  let removing = null;

  // Dates and times in the page's language (Intl), in the browser's time zone.
  const DATES = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  function when(unix) {
    return DATES.format(new Date(unix * 1000));
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  class ApiError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (method !== "GET") init.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch("/account/api" + path, init);
    } catch (_) {
      throw new ApiError("network", errorText(0, { error: "network" }));
    }
    if (r.status === 401) {
      window.location.assign(SIGN_IN);
      throw new ApiError("unauthorized", "");
    }
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(data.error || "error", errorText(r.status, data));
    return data;
  }

  // Runs an action: busy state, errors shown in the page's language, step-up when asked.
  async function act(fn) {
    $("error").textContent = "";
    document.body.setAttribute("aria-busy", "true");
    try {
      await fn();
    } catch (e) {
      if (e.code === "step_up_required") {
        pending = fn;
        showStepUp(e.message);
      } else if (e.message) {
        $("error").textContent = e.message;
      }
    } finally {
      document.body.setAttribute("aria-busy", "false");
    }
  }

  function notice(text) {
    $("notice").textContent = text;
  }

  function showStepUp(message) {
    const minutes = Math.round(((view && view.step_up.window_secs) || 600) / 60);
    $("stepup-text").textContent = message + " " + t("account-stepup-other", { minutes });
    $("stepup").hidden = false;
    $("stepup-code").value = "";
    $("stepup-code").focus();
  }

  // ---------------------------------------------------------------- rendering

  function render(v) {
    view = v;
    csrf = v.csrf_token;
    $("account-user").textContent = v.user.username;
    renderSecurity(v);
    renderMethods(v.authenticators);
    renderAdd(v);
    renderSessions(v.sessions);
    renderActivity(v.activity);
    renderNotify(v.notifications);
    document.body.dataset.ready = "1";
  }

  function renderSecurity(v) {
    let status = v.mfa.enrolled ? t("account-mfa-on") : t("account-mfa-off");
    if (v.mfa.required) status += " " + t("account-mfa-required");
    $("mfa-status").textContent = status;
    $("score-value").textContent = String(v.security.score);
    $("score-level").textContent = byCode("account-level-", v.security.level, v.security.level);
    $("score-meter").value = v.security.score;
    const list = $("score-suggestions");
    list.replaceChildren();
    for (const code of v.security.suggestions) {
      const li = el("li", byCode("account-sugg-", code, code));
      li.dataset.code = code;
      list.append(li);
    }
  }

  function typeName(a) {
    const oob = a.authenticator_type === "oob" && ["push", "email", "sms", "voice"].includes(a.oob_channel);
    const code = oob ? a.oob_channel : a.authenticator_type.replace(/-/g, "_");
    return byCode("account-type-", code, a.authenticator_type);
  }

  const isPendingContact = (a) =>
    !a.active && a.authenticator_type === "oob" && ["email", "sms", "voice"].includes(a.oob_channel);

  function secondFactors(list) {
    return list.filter((a) => a.active && a.authenticator_type !== "recovery_code" && a.authenticator_type !== "recovery-code");
  }

  function renderMethods(list) {
    const ul = $("methods-list");
    ul.replaceChildren();
    for (const a of list) {
      const li = el("li");
      li.dataset.id = a.id;
      li.dataset.type = a.authenticator_type;
      const what = el("span", undefined, "what");
      what.append(el("strong", typeName(a)));
      if (a.name) what.append(" ", el("span", a.name, "name"));
      if (!a.active) what.append(el("span", t("account-not-confirmed"), "tag"));
      const used = a.last_used_at ? t("account-last-used", { date: when(a.last_used_at) }) : t("account-never-used");
      what.append(el("span", t("account-added", { date: when(a.created_at) }) + " · " + used, "when"));
      const b = el("button", t("account-remove"), "remove secondary");
      b.type = "button";
      b.setAttribute("aria-label", t("account-remove-named", { what: typeName(a) + (a.name ? " " + a.name : "") }));
      b.addEventListener("click", () => askRemove(a));
      li.append(what);
      if (isPendingContact(a)) {
        // A change of address or number waiting for its code (sent earlier, or before a reload).
        const r = el("button", t("account-contact-resume"), "resume secondary");
        r.type = "button";
        r.setAttribute("aria-label", t("account-contact-resume-named", { what: typeName(a) + (a.name ? " " + a.name : "") }));
        r.addEventListener("click", () => resumeContact(a));
        li.append(r);
      }
      li.append(b);
      ul.append(li);
    }
    $("methods-empty").hidden = secondFactors(list).length > 0;
  }

  function renderAdd(v) {
    $("passkey-add").hidden = !(v.can_add.passkey && hasPasskeys());
    $("contact-email").textContent = v.user.email || t("account-contact-none");
    $("contact-phone").textContent = v.user.phone || t("account-contact-none");
    $("email-add").hidden = !v.can_add.email;
    $("email-add").textContent = v.user.email ? t("account-email-change") : t("account-email-add");
    $("phone-add").hidden = !(v.can_add.sms || v.can_add.voice);
    $("phone-add").textContent = v.user.phone ? t("account-phone-change") : t("account-phone-add");
  }

  function askRemove(a) {
    removing = a;
    const others = secondFactors(view.authenticators).filter((x) => x.id !== a.id);
    let text;
    if (a.authenticator_type === "recovery_code" || a.authenticator_type === "recovery-code") text = t("account-remove-codes");
    else if (a.active && others.length === 0) text = t("account-remove-last");
    else text = t("account-remove-other");
    $("remove-consequence").textContent = typeName(a) + (a.name ? " " + a.name : "") + ": " + text;
    $("remove-confirm").hidden = false;
    $("remove-no").focus();
  }

  // A browser as people name it ("Chrome on Linux"), from its User-Agent; the full string is
  // the item's tooltip.
  function browserName(ua) {
    if (!ua) return t("account-unknown-browser");
    const browsers = [[/Edg\//, "Edge"], [/OPR\//, "Opera"], [/Firefox\//, "Firefox"],
      [/Chrom(e|ium)\//, "Chrome"], [/Safari\//, "Safari"]];
    const systems = [[/Android/, "Android"], [/iPhone|iPad|iOS/, "iOS"], [/Windows/, "Windows"],
      [/Mac OS X|Macintosh/, "macOS"], [/CrOS/, "ChromeOS"], [/Linux/, "Linux"]];
    const find = (list) => (list.find(([re]) => re.test(ua)) || [])[1];
    const browser = find(browsers);
    const os = find(systems);
    if (browser && os) return t("account-browser-on", { browser, os });
    return browser || os || ua.slice(0, 40);
  }

  function renderSessions(list) {
    const ul = $("sessions-list");
    ul.replaceChildren();
    for (const s of list) {
      const li = el("li");
      li.dataset.id = s.session_id;
      li.dataset.current = s.current ? "1" : "0";
      const what = el("span", undefined, "what");
      const browser = browserName(s.user_agent);
      what.append(el("strong", browser));
      if (s.user_agent) what.title = s.user_agent;
      if (s.current) what.append(el("span", t("account-this-browser"), "tag"));
      what.append(el("span", t("account-session-since", { date: when(s.created_at), ip: s.ip || "?" }), "when"));
      li.append(what);
      if (!s.current) {
        const b = el("button", t("account-end-session"), "end secondary");
        b.type = "button";
        b.setAttribute("aria-label", t("account-end-session-named", { what: browser }));
        b.addEventListener("click", () =>
          act(async () => {
            await api("DELETE", "/sessions/" + encodeURIComponent(s.session_id));
            notice(t("account-session-ended"));
            await load();
          }));
        li.append(b);
      }
      ul.append(li);
    }
    $("sessions-end-others").hidden = list.every((s) => s.current);
  }

  function renderActivity(list) {
    const ul = $("activity-list");
    ul.replaceChildren();
    if (list.length === 0) ul.append(el("li", t("account-activity-empty")));
    for (const e of list) {
      const li = el("li");
      li.dataset.type = e.type;
      const what = el("span", undefined, "what");
      // The event's name only: its detail is the audit log's own English shorthand.
      what.append(el("strong", byCode("account-act-", e.type, t("account-act-other"))));
      what.append(el("span", when(e.at), "when"));
      li.append(what);
      ul.append(li);
    }
  }

  function renderNotify(n) {
    $("notify-channels").value = n.channels;
    $("notify-locale").value = n.locale;
    const denied = n.user_override === "denied";
    $("notify-channels").disabled = denied;
    $("notify-locale").disabled = denied;
    $("notify-save").disabled = denied;
    $("notify-note").textContent = denied ? t("account-notify-denied") : n.user_override === "keep_one" ? t("account-notify-keep-one") : "";
  }

  function showCodes(codes) {
    const ul = $("codes-list");
    ul.replaceChildren(...codes.map((c) => el("li", c)));
    $("codes-saved").checked = false;
    $("codes-done").disabled = true;
    $("codes-shown").hidden = false;
    $("codes-shown").scrollIntoView({ block: "nearest" });
    $("codes-saved").focus();
  }

  // ---------------------------------------------------------------- passkeys

  // WebAuthn: webauthn.js, shared with the sign-in page.
  const webauthn = window.TesseraWebAuthn;
  const hasPasskeys = webauthn.supported;

  async function passkeyCreate(options) {
    try {
      return await webauthn.create(options);
    } catch (e) {
      // The browser's own refusals (cancelled, timed out, already here) in plain words.
      const name = e && e.name;
      const text = name === "NotAllowedError" ? t("account-passkey-cancelled")
        : name === "InvalidStateError" ? t("account-passkey-exists") : t("account-passkey-failed");
      throw new ApiError("passkey_browser", text);
    }
  }

  // ---------------------------------------------------------------- the desktop app

  const device = { known: null, timer: null, expires: 0 };

  function stopDeviceWatch() {
    if (device.timer) clearInterval(device.timer);
    device.timer = null;
  }

  function closeDevice() {
    stopDeviceWatch();
    $("device-setup").hidden = true;
    $("device-add").hidden = false;
    $("device-qr").removeAttribute("src");
    $("device-link").href = "#";
    $("device-status").textContent = "";
  }

  async function showDeviceOffer() {
    const before = await api("GET", "/devices");
    const offer = await api("POST", "/devices/offer");
    device.known = new Set(before.map((d) => d.device_id));
    device.expires = Date.now() / 1000 + offer.expires_in;
    $("device-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(offer.qr_svg || "");
    $("device-qr").alt = t("account-device-qr-alt");
    $("device-qr").hidden = false;
    $("device-link").href = /^tessera:\/\//.test(offer.link || "") ? offer.link : "#";
    $("device-link").hidden = false;
    $("device-again").hidden = true;
    $("device-status").textContent = t("account-device-waiting", { minutes: Math.max(1, Math.round(offer.expires_in / 60)) });
    $("device-setup").hidden = false;
    $("device-add").hidden = true;
    $("device-setup").scrollIntoView({ block: "nearest" });
    watchDevice();
  }

  // The app enrolls over its own channel: look at the user's devices every two seconds until a
  // new one is there or the offer expires.
  function watchDevice() {
    stopDeviceWatch();
    device.timer = setInterval(async () => {
      if (Date.now() / 1000 >= device.expires) {
        stopDeviceWatch();
        $("device-qr").removeAttribute("src");
        $("device-qr").hidden = true;
        $("device-link").hidden = true;
        $("device-status").textContent = t("account-device-expired");
        $("device-again").hidden = false;
        return;
      }
      let list;
      try {
        list = await api("GET", "/devices");
      } catch (_) {
        return; // the next look may succeed
      }
      const added = list.find((d) => !device.known.has(d.device_id));
      if (!added) return;
      stopDeviceWatch();
      $("device-qr").removeAttribute("src");
      $("device-qr").hidden = true;
      $("device-link").hidden = true;
      $("device-link").href = "#";
      $("device-status").textContent = t("account-device-done", { name: added.name });
      notice(t("account-device-done", { name: added.name }));
      await act(load);
    }, 2000);
  }

  // ---------------------------------------------------------------- email and phone

  const contact = { kind: null, value: "", timer: null };

  function stopContactWatch() {
    if (contact.timer) clearInterval(contact.timer);
    contact.timer = null;
  }

  function openContact(kind) {
    stopContactWatch();
    contact.kind = kind;
    $("contact-label").textContent = kind === "email" ? t("account-contact-new-email") : t("account-contact-new-phone");
    const input = $("contact-value");
    input.type = kind === "email" ? "email" : "tel";
    input.autocomplete = kind === "email" ? "email" : "tel";
    input.inputMode = kind === "email" ? "email" : "tel";
    input.value = "";
    const both = kind === "phone" && view.can_add.sms && view.can_add.voice;
    $("contact-channels").hidden = !both;
    $("contact-by-sms").checked = kind !== "phone" || view.can_add.sms;
    $("contact-by-voice").checked = kind === "phone" && !view.can_add.sms;
    $("contact-form").hidden = false;
    $("contact-code-form").hidden = true;
    $("contact-setup").hidden = false;
    input.focus();
  }

  function closeContact() {
    stopContactWatch();
    contact.kind = null;
    $("contact-setup").hidden = true;
    $("contact-value").value = "";
    $("contact-code").value = "";
  }

  function showCodeForm(sent) {
    const kind = sent.channel === "email" ? "email" : "phone";
    contact.kind = kind;
    $("contact-sent").textContent = kind === "email"
      ? t("account-contact-sent", { to: sent.to }) : t("account-contact-sent-phone", { to: sent.to });
    $("contact-code").value = "";
    $("contact-code").inputMode = sent.code_charset === "digits" ? "numeric" : "text";
    $("contact-code").maxLength = sent.code_length || 20;
    $("contact-form").hidden = true;
    $("contact-code-form").hidden = false;
    $("contact-setup").hidden = false;
    $("contact-code").focus();
    watchContact();
  }

  async function sendContact() {
    const body = { value: contact.value };
    if (contact.kind === "phone") body.channel = $("contact-by-voice").checked ? "voice" : "sms";
    const sent = await api("PUT", contact.kind === "email" ? "/email" : "/phone", body);
    showCodeForm(sent);
    await load();
  }

  // A pending change listed with the methods (after a reload): its code was sent already.
  function resumeContact(a) {
    contact.kind = a.oob_channel === "email" ? "email" : "phone";
    contact.value = "";
    $("contact-sent").textContent = "";
    $("contact-code").value = "";
    $("contact-form").hidden = true;
    $("contact-code-form").hidden = false;
    $("contact-setup").hidden = false;
    $("contact-code").focus();
    watchContact();
  }

  function contactDone(user) {
    const kind = contact.kind;
    closeContact();
    if (kind === "email") notice(t("account-contact-done-email", { value: user.email || "" }));
    else notice(t("account-contact-done-phone", { value: user.phone || "" }));
  }

  // The mail's link may confirm the address in another tab: look every three seconds whether
  // the pending change is gone and the profile changed.
  function watchContact() {
    stopContactWatch();
    const before = view ? { email: view.user.email, phone: view.user.phone } : {};
    contact.timer = setInterval(async () => {
      let v;
      try {
        v = await api("GET", "/overview");
      } catch (_) {
        return;
      }
      const pending = v.authenticators.some(isPendingContact);
      const changed = v.user.email !== before.email || v.user.phone !== before.phone;
      if (pending || !changed) return;
      render(v);
      contactDone(v.user);
    }, 3000);
  }

  async function load() {
    render(await api("GET", "/overview"));
  }

  // ---------------------------------------------------------------- actions

  $("stepup-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(async () => {
      const r = await api("POST", "/step-up", { code: $("stepup-code").value });
      $("stepup-code").value = "";
      $("stepup").hidden = true;
      notice(t("account-stepup-done", { minutes: Math.round(r.window_secs / 60) }));
      const retry = pending;
      pending = null;
      if (retry) await retry();
    });
  });
  $("stepup-cancel").addEventListener("click", () => {
    pending = null;
    $("stepup").hidden = true;
  });

  $("remove-no").addEventListener("click", () => {
    removing = null;
    $("remove-confirm").hidden = true;
  });
  $("remove-yes").addEventListener("click", () =>
    act(async () => {
      if (!removing) return;
      await api("DELETE", "/authenticators/" + encodeURIComponent(removing.id));
      removing = null;
      $("remove-confirm").hidden = true;
      notice(t("account-remove-done"));
      await load();
    }));

  let totpCodes = null;
  $("totp-add").addEventListener("click", () =>
    act(async () => {
      const r = await api("POST", "/authenticators/totp");
      $("totp-qr").src = r.barcode_png;
      $("totp-qr").alt = t("account-totp-qr-alt");
      $("totp-secret").textContent = r.secret;
      totpCodes = r.recovery_codes || null;
      $("totp-setup").hidden = false;
      $("totp-add").hidden = true;
      $("totp-code").value = "";
      $("totp-code").focus();
    }));
  function closeTotp() {
    $("totp-setup").hidden = true;
    $("totp-add").hidden = false;
    $("totp-secret").textContent = "";
    $("totp-qr").removeAttribute("src");
  }
  $("totp-cancel").addEventListener("click", closeTotp);
  $("totp-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const otp = $("totp-code").value.trim();
    if (!otp) {
      $("error").textContent = t("account-totp-enter");
      return;
    }
    act(async () => {
      await api("POST", "/authenticators/totp/confirm", { otp });
      closeTotp();
      notice(t("account-totp-done"));
      await load();
      if (totpCodes) showCodes(totpCodes);
      totpCodes = null;
    });
  });

  $("passkey-add").addEventListener("click", () =>
    act(async () => {
      const begun = await api("POST", "/authenticators/passkey");
      const credential = await passkeyCreate(begun.options);
      await api("POST", "/authenticators/passkey/finish", { ceremony_id: begun.ceremony_id, credential });
      notice(t("account-passkey-done"));
      await load();
    }));

  $("device-add").addEventListener("click", () => act(showDeviceOffer));
  $("device-again").addEventListener("click", () => act(showDeviceOffer));
  $("device-cancel").addEventListener("click", () => {
    closeDevice();
    $("device-add").focus();
  });

  $("email-add").addEventListener("click", () => openContact("email"));
  $("phone-add").addEventListener("click", () => openContact("phone"));
  $("contact-cancel").addEventListener("click", closeContact);
  $("contact-code-cancel").addEventListener("click", closeContact);
  $("contact-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("contact-value").value.trim();
    if (!value) {
      $("error").textContent = t("account-contact-enter-value");
      return;
    }
    contact.value = value;
    act(sendContact);
  });
  $("contact-resend").addEventListener("click", () => {
    if (!contact.value) {
      // Resumed after a reload: the address is not known here; ask for it again.
      openContact(contact.kind || "email");
      return;
    }
    act(sendContact);
  });
  $("contact-code-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const code = $("contact-code").value.trim();
    if (!code) {
      $("error").textContent = t("account-contact-enter-code");
      return;
    }
    act(async () => {
      stopContactWatch();
      let user;
      try {
        user = await api("POST", "/contact-verification", { code });
      } catch (e) {
        watchContact();
        throw e;
      }
      contactDone(user);
      await load();
    });
  });

  $("codes-regenerate").addEventListener("click", () =>
    act(async () => {
      const r = await api("POST", "/recovery-codes");
      showCodes(r.recovery_codes);
      await load();
    }));
  $("codes-saved").addEventListener("change", () => {
    $("codes-done").disabled = !$("codes-saved").checked;
  });
  $("codes-done").addEventListener("click", () => {
    $("codes-list").replaceChildren();
    $("codes-shown").hidden = true;
    $("codes-regenerate").focus();
  });
  $("codes-download").addEventListener("click", () => {
    const codes = [...$("codes-list").children].map((li) => li.textContent);
    const text = t("account-codes-file-head", { user: view ? view.user.username : "" }) + "\n\n" + codes.join("\n") + "\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = "tessera-backup-codes.txt";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });

  $("sessions-end-others").addEventListener("click", () =>
    act(async () => {
      const r = await api("DELETE", "/sessions");
      notice(t("account-sessions-ended", { n: r.ended }));
      await load();
    }));

  $("notify-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(async () => {
      await api("PUT", "/notifications", {
        channels: $("notify-channels").value,
        locale: $("notify-locale").value,
      });
      notice(t("account-notify-saved"));
      await load();
    });
  });

  $("sign-out").addEventListener("click", () =>
    act(async () => {
      await fetch("/signin/api/session/sign-out", { method: "POST", credentials: "same-origin" });
      window.location.assign(SIGN_IN);
    }));

  // The language switcher: saved as the user's choice (pages and messages wherever they sign
  // in) and in the cookie the sign-in page reads; the server renders the page in it.
  for (const a of document.querySelectorAll("#languages [data-lang]")) {
    if (a.dataset.lang === lang) a.setAttribute("aria-current", "true");
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      act(async () => {
        await api("PUT", "/locale", { locale: a.dataset.lang });
        document.cookie = "tessera_lang=" + a.dataset.lang + "; path=/; max-age=31536000; samesite=lax";
        window.location.reload();
      });
    });
  }
  act(load);
})();
