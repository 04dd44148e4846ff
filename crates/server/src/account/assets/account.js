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
      desktop_note: "To use the Tessera desktop app, set it up from the sign-in page's set-up step.",
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
    return t("type_" + a.authenticator_type.replace("-", "_"));
  }

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
      li.append(what, b);
      ul.append(li);
    }
    $("methods-empty").hidden = secondFactors(list).length > 0;
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
