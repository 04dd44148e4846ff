// Tessera's account center (docs/account.md). Everything shown comes from
// GET /account/api/overview; every change sends the overview's CSRF token in X-CSRF-Token.
// No HTML is ever built from strings (Trusted Types allow no sink): only elements and text.
(() => {
  "use strict";

  // Every text of the page, by key. A Japanese catalogue is added as TEXTS.ja.
  const TEXTS = {
    en: {
      title: "Your account",
      signed_in_as: "Signed in as",
      cancel: "Cancel",
      security_title: "Security",
      score_label: "Security score",
      mfa_on: "Two-step sign-in is on.",
      mfa_off: "Two-step sign-in is off: add an authenticator app to protect your account.",
      mfa_required: "Your organization requires two-step sign-in.",
      level_weak: "weak",
      level_fair: "fair",
      level_strong: "strong",
      sugg_add_second_factor: "Add a second factor, such as an authenticator app.",
      sugg_add_recovery_codes: "Get backup codes, in case you lose your phone.",
      sugg_add_another_factor: "Add another method, so you are not locked out if you lose one.",
      sugg_add_strong_factor: "Add a passkey, or a device unlocked by a PIN or biometric.",
      stepup_title: "Confirm it is you",
      stepup_label: "Code from your authenticator app, or a backup code",
      stepup_submit: "Confirm",
      stepup_done: "Confirmed. You can make changes for the next {minutes} minutes.",
      stepup_other: "No code at hand? Sign out and sign in again, then come back within {minutes} minutes.",
      methods_title: "Sign-in methods",
      methods_empty: "No second factor yet.",
      type_otp: "Authenticator app",
      type_recovery_code: "Backup codes",
      type_oob: "Device or code by message",
      type_passkey: "Passkey",
      type_push: "Tessera app",
      type_email: "Email",
      type_sms: "Text message (SMS)",
      type_voice: "Voice call",
      not_confirmed: "not confirmed",
      added: "Added {date}",
      last_used: "last used {date}",
      never_used: "never used",
      remove: "Remove",
      remove_named: "Remove {what}",
      remove_yes: "Remove",
      remove_last: "This is your last second factor. After removing it you sign in with your password alone, and your account is much easier to take over.",
      remove_codes: "Your backup codes will stop working. You can get new ones at any time.",
      remove_other: "You will no longer be able to sign in with this method. Your other methods keep working.",
      remove_done: "The method was removed.",
      totp_add: "Add an authenticator app",
      totp_scan: "Scan this QR code with your authenticator app, or type the key.",
      totp_key: "Key",
      totp_code: "Code from the app",
      totp_submit: "Confirm",
      totp_qr_alt: "QR code for your authenticator app",
      totp_done: "The authenticator app is added.",
      totp_enter: "Enter the code the app shows.",
      close: "Close",
      passkey_add: "Add a passkey",
      passkey_done: "The passkey is added.",
      passkey_cancelled: "The passkey was not created: the request was cancelled or timed out.",
      passkey_exists: "This device already holds a passkey for your account.",
      passkey_failed: "Your browser could not create a passkey here.",
      device_add: "Set up the Tessera desktop app",
      device_scan: "In the Tessera desktop app, choose to add this account and scan this QR code, or open the link on the computer where the app is installed.",
      device_qr_alt: "QR code to set up the Tessera desktop app",
      device_link: "Open in the Tessera app",
      device_waiting: "Waiting for your device… This QR code works for {minutes} minutes.",
      device_done: "{name} is set up. It can now approve your sign-ins.",
      device_expired: "This QR code has expired.",
      device_again: "Show a new QR code",
      contact_title: "Email and phone",
      contact_email: "Email address",
      contact_phone: "Phone number",
      contact_none: "None",
      email_add: "Add an email address",
      email_change: "Change your email address",
      phone_add: "Add a phone number",
      phone_change: "Change your phone number",
      contact_new_email: "New email address",
      contact_new_phone: "New phone number (with the country code, such as +81 90 1234 5678)",
      contact_by: "Send the code by",
      by_sms: "Text message (SMS)",
      by_voice: "Voice call",
      contact_send: "Send a code",
      contact_sent: "We sent a code to {to}. Type it here, or open the link in the email.",
      contact_sent_phone: "We sent a code to {to}. Type it here.",
      contact_code: "Code",
      contact_confirm: "Confirm",
      contact_resend: "Send a new code",
      contact_enter_value: "Enter the address or number.",
      contact_enter_code: "Enter the code you received.",
      contact_done_email: "Your email address is now {value}.",
      contact_done_phone: "Your phone number is now {value}.",
      contact_resume: "Enter the code",
      contact_resume_named: "Enter the code sent to {what}",
      codes_title: "Backup codes",
      codes_text: "Each backup code signs you in once when you cannot use your other methods.",
      codes_regenerate: "Get new backup codes",
      codes_once: "Your new codes. They are shown only now; your old codes no longer work.",
      codes_download: "Download as a text file",
      codes_saved: "I saved these codes",
      codes_done: "Done",
      codes_file_head: "Tessera backup codes for {user}. Each works once.",
      sessions_title: "Where you are signed in",
      sessions_end_others: "Sign out everywhere else",
      this_browser: "this browser",
      session_since: "Since {date}, from {ip}",
      end_session: "Sign out",
      end_session_named: "Sign out the session in {what}",
      sessions_ended: "Signed out of {n} other sessions.",
      session_ended: "That session is signed out.",
      unknown_browser: "Unknown browser",
      activity_title: "Recent activity",
      activity_empty: "Nothing yet.",
      act_sign_in: "Signed in",
      act_enroll: "Method set up",
      act_confirm: "Method confirmed",
      act_delete: "Method removed",
      act_regenerate: "New backup codes",
      act_verify_ok: "Code accepted",
      act_verify_fail: "Wrong code",
      act_lockout: "Locked after failed attempts",
      act_password_fail: "Wrong password",
      act_session_end: "Signed out",
      "act_contact.enrolled": "Email or phone added",
      "act_contact.removed": "Email or phone removed",
      "act_account.step_up": "Identity confirmed",
      notify_title: "Notices of changes",
      notify_channels: "Tell me about changes to my sign-in methods by",
      notify_locale: "Language of the notices",
      notify_save: "Save",
      notify_denied: "Your administrator chose how you are told; it cannot be changed here.",
      notify_keep_one: "Your administrator asks you to keep at least one channel.",
      notify_saved: "Saved.",
      ch_none: "No notice",
      ch_email: "Email",
      ch_sms: "SMS",
      ch_any: "The first channel I have",
      ch_all: "Every channel I have",
      sign_out: "Sign out",
      network: "The server cannot be reached. Try again.",
    },
  };
  const lang = TEXTS[document.documentElement.lang] ? document.documentElement.lang : "en";
  function t(key, vars) {
    let s = TEXTS[lang][key] || TEXTS.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }

  const SIGN_IN = "/signin?return_to=%2Faccount";
  const $ = (id) => document.getElementById(id);
  let csrf = "";
  let view = null;
  let pending = null; // the change to retry after a step-up
  let removing = null;

  function when(unix) {
    return new Date(unix * 1000).toLocaleString(lang);
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
      throw new ApiError("network", t("network"));
    }
    if (r.status === 401) {
      window.location.assign(SIGN_IN);
      throw new ApiError("unauthorized", "");
    }
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(data.error || "error", data.error_description || String(r.status));
    return data;
  }

  // Runs an action: busy state, errors shown as the server gives them, step-up when asked.
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
    $("stepup-text").textContent = message + " " + t("stepup_other", { minutes });
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
    let status = v.mfa.enrolled ? t("mfa_on") : t("mfa_off");
    if (v.mfa.required) status += " " + t("mfa_required");
    $("mfa-status").textContent = status;
    $("score-value").textContent = String(v.security.score);
    $("score-level").textContent = t("level_" + v.security.level);
    $("score-meter").value = v.security.score;
    const list = $("score-suggestions");
    list.replaceChildren();
    for (const code of v.security.suggestions) {
      const li = el("li", t("sugg_" + code));
      li.dataset.code = code;
      list.append(li);
    }
  }

  function typeName(a) {
    if (a.authenticator_type === "oob" && ["push", "email", "sms", "voice"].includes(a.oob_channel)) {
      return t("type_" + a.oob_channel);
    }
    return t("type_" + a.authenticator_type.replace("-", "_"));
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
      if (a.name) what.append(document.createTextNode(" " + a.name));
      if (!a.active) what.append(el("span", t("not_confirmed"), "tag"));
      const used = a.last_used_at ? t("last_used", { date: when(a.last_used_at) }) : t("never_used");
      what.append(el("span", t("added", { date: when(a.created_at) }) + " · " + used, "when"));
      const b = el("button", t("remove"), "remove secondary");
      b.type = "button";
      b.setAttribute("aria-label", t("remove_named", { what: typeName(a) + (a.name ? " " + a.name : "") }));
      b.addEventListener("click", () => askRemove(a));
      li.append(what);
      if (isPendingContact(a)) {
        // A change of address or number waiting for its code (sent earlier, or before a reload).
        const r = el("button", t("contact_resume"), "resume secondary");
        r.type = "button";
        r.setAttribute("aria-label", t("contact_resume_named", { what: typeName(a) + (a.name ? " " + a.name : "") }));
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
    $("contact-email").textContent = v.user.email || t("contact_none");
    $("contact-phone").textContent = v.user.phone || t("contact_none");
    $("email-add").hidden = !v.can_add.email;
    $("email-add").textContent = v.user.email ? t("email_change") : t("email_add");
    $("phone-add").hidden = !(v.can_add.sms || v.can_add.voice);
    $("phone-add").textContent = v.user.phone ? t("phone_change") : t("phone_add");
  }

  function askRemove(a) {
    removing = a;
    const others = secondFactors(view.authenticators).filter((x) => x.id !== a.id);
    let text;
    if (a.authenticator_type === "recovery_code" || a.authenticator_type === "recovery-code") text = t("remove_codes");
    else if (a.active && others.length === 0) text = t("remove_last");
    else text = t("remove_other");
    $("remove-consequence").textContent = typeName(a) + (a.name ? " " + a.name : "") + ": " + text;
    $("remove-confirm").hidden = false;
    $("remove-no").focus();
  }

  function renderSessions(list) {
    const ul = $("sessions-list");
    ul.replaceChildren();
    for (const s of list) {
      const li = el("li");
      li.dataset.id = s.session_id;
      li.dataset.current = s.current ? "1" : "0";
      const what = el("span", undefined, "what");
      what.append(el("strong", s.user_agent || t("unknown_browser")));
      if (s.current) what.append(el("span", t("this_browser"), "tag"));
      what.append(el("span", t("session_since", { date: when(s.created_at), ip: s.ip || "?" }), "when"));
      li.append(what);
      if (!s.current) {
        const b = el("button", t("end_session"), "end secondary");
        b.type = "button";
        b.setAttribute("aria-label", t("end_session_named", { what: s.user_agent || t("unknown_browser") }));
        b.addEventListener("click", () =>
          act(async () => {
            await api("DELETE", "/sessions/" + encodeURIComponent(s.session_id));
            notice(t("session_ended"));
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
    if (list.length === 0) ul.append(el("li", t("activity_empty")));
    for (const e of list) {
      const li = el("li");
      li.dataset.type = e.type;
      const what = el("span", undefined, "what");
      const label = TEXTS[lang]["act_" + e.type] || TEXTS.en["act_" + e.type] || e.type;
      what.append(el("strong", label));
      if (e.detail) what.append(document.createTextNode(" " + e.detail));
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
    $("notify-note").textContent = denied ? t("notify_denied") : n.user_override === "keep_one" ? t("notify_keep_one") : "";
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

  // WebAuthn: the server's options carry binary fields as base64url; the browser wants
  // ArrayBuffers, and its answer goes back as base64url again (as the sign-in page does).
  const hasPasskeys = () => Boolean(window.PublicKeyCredential && navigator.credentials);

  function fromB64url(text) {
    const b64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  }

  function toB64url(buffer) {
    if (!buffer) return null;
    const bytes = new Uint8Array(buffer);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function passkeyCreate(options) {
    const pk = { ...options.publicKey };
    pk.challenge = fromB64url(pk.challenge);
    pk.user = { ...pk.user, id: fromB64url(pk.user.id) };
    pk.excludeCredentials = (pk.excludeCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) }));
    let cred;
    try {
      cred = await navigator.credentials.create({ publicKey: pk });
    } catch (e) {
      // The browser's own refusals (cancelled, timed out, already here) in plain words.
      const name = e && e.name;
      const key = name === "NotAllowedError" ? "passkey_cancelled" : name === "InvalidStateError" ? "passkey_exists" : "passkey_failed";
      throw new ApiError("passkey_browser", t(key));
    }
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: typeof r.getTransports === "function" ? r.getTransports() : undefined,
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
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
    $("device-qr").alt = t("device_qr_alt");
    $("device-qr").hidden = false;
    $("device-link").href = /^tessera:\/\//.test(offer.link || "") ? offer.link : "#";
    $("device-link").hidden = false;
    $("device-again").hidden = true;
    $("device-status").textContent = t("device_waiting", { minutes: Math.max(1, Math.round(offer.expires_in / 60)) });
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
        $("device-status").textContent = t("device_expired");
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
      $("device-status").textContent = t("device_done", { name: added.name });
      notice(t("device_done", { name: added.name }));
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
    $("contact-label").textContent = kind === "email" ? t("contact_new_email") : t("contact_new_phone");
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
    const text = kind === "email" ? "contact_sent" : "contact_sent_phone";
    $("contact-sent").textContent = t(text, { to: sent.to });
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
    if (kind === "email") notice(t("contact_done_email", { value: user.email || "" }));
    else notice(t("contact_done_phone", { value: user.phone || "" }));
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
      notice(t("stepup_done", { minutes: Math.round(r.window_secs / 60) }));
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
      notice(t("remove_done"));
      await load();
    }));

  let totpCodes = null;
  $("totp-add").addEventListener("click", () =>
    act(async () => {
      const r = await api("POST", "/authenticators/totp");
      $("totp-qr").src = r.barcode_png;
      $("totp-qr").alt = t("totp_qr_alt");
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
      $("error").textContent = t("totp_enter");
      return;
    }
    act(async () => {
      await api("POST", "/authenticators/totp/confirm", { otp });
      closeTotp();
      notice(t("totp_done"));
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
      notice(t("passkey_done"));
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
      $("error").textContent = t("contact_enter_value");
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
      $("error").textContent = t("contact_enter_code");
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
    const text = t("codes_file_head", { user: view ? view.user.username : "" }) + "\n\n" + codes.join("\n") + "\n";
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
      notice(t("sessions_ended", { n: r.ended }));
      await load();
    }));

  $("notify-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(async () => {
      await api("PUT", "/notifications", {
        channels: $("notify-channels").value,
        locale: $("notify-locale").value,
      });
      notice(t("notify_saved"));
      await load();
    });
  });

  $("sign-out").addEventListener("click", () =>
    act(async () => {
      await fetch("/signin/api/session/sign-out", { method: "POST", credentials: "same-origin" });
      window.location.assign(SIGN_IN);
    }));

  // The static texts come from the catalogue too.
  for (const e of document.querySelectorAll("[data-text]")) e.textContent = t(e.dataset.text);
  act(load);
})();
