#!/usr/bin/env python3
"""Tessera desktop app: real-window end-to-end tests.

The real `tessera-desktop` binary runs on an X display (Xvfb in CI) under tauri-driver →
WebKitWebDriver, and is driven through its DOM (the ids of docs/desktop-contract.md). A real
`tessera-server` (its binary, a temporary database) plays the server; this script plays the
browser of its /signin page. Codes are checked against `oathtool`, QR codes are made with
`qrencode` and put on the screen with ImageMagick's `display`, so the app's "scan the screen"
reads real pixels.

Scenarios (each asserts what would break if the feature broke):
  a  first run: create a passphrase vault, lock, wrong passphrase refused, right one unlocks
  b  add an account from an otpauth URI; its code equals oathtool's
  c  add an account from a QR code on the screen (SHA256, 8 digits); code equals oathtool's
  d  enroll with the server from an enrollment QR on the screen; the server lists the device
  e  push: sign in on /signin, type the number in the approval card → approved; a wrong
     number and Deny → not approved
  f  QR login: scan the sign-in page's QR, confirm the origin, approve → the browser redeems
  g  lock with accounts present: no account row and no code in the page; unlock again

Environment:
  TESSERA_E2E_APP_BIN, TESSERA_E2E_SERVER_BIN  binaries (default: $CARGO_TARGET_DIR/debug/…)
                       (not TESSERA_SERVER_*: the server reads those as its settings)
  TESSERA_E2E_SHOTS    directory for screenshots (default: a temp dir, printed)
  TESSERA_E2E_ONLY     comma-separated scenario letters to run (their prerequisites run too)
  TESSERA_E2E_KEEP=1   keep the temp dir (logs, vault, server db) after the run
Prints `N passed, N failed` last; exits 1 when anything failed. Needs $DISPLAY.
"""

import atexit
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import (  # noqa: E402
    Session, Timeout, WebDriverError, driver_ready, http_json, tauri_capabilities, wait_until,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/tessera-ci-target")
if not os.path.isabs(TARGET):
    TARGET = os.path.join(ROOT, TARGET)
APP_BIN = os.environ.get("TESSERA_E2E_APP_BIN") or os.path.join(TARGET, "debug", "tessera-desktop")
SERVER_BIN = os.environ.get("TESSERA_E2E_SERVER_BIN") or os.path.join(TARGET, "debug", "tessera-server")
SUITE_TIMEOUT = int(os.environ.get("TESSERA_E2E_TIMEOUT", "540"))
SCENARIO_TIMEOUT = 150

PASSPHRASE = "correct horse battery staple 42"
USER, USER_PW = "alice", "alice demo password 7"

# A plain SHA-1 TOTP for the URI scenario, and a SHA-256 8-digit one for the screen scan.
URI_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
URI_ISSUER, URI_NAME = "Example Co", "alice@example.com"
QR_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
QR_ISSUER, QR_NAME = "Screen Bank", "carol@example.com"


def log(msg):
    print(msg, flush=True)


# --- processes -------------------------------------------------------------------------------

class Procs:
    """Every process this suite starts, each in its own process group; all killed at exit."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, env=None, logfile=None, stdout=None):
        out = stdout if stdout is not None else (open(logfile, "ab") if logfile else subprocess.DEVNULL)
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        p.name = name
        self.procs.append(p)
        return p

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may outlive its leader (WebKit's helper processes): kill what is left.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(2)
        except subprocess.TimeoutExpired:
            pass
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p, grace=3.0)


PROCS = Procs()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, timeout=20, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=True, **kw).stdout


# --- codes -----------------------------------------------------------------------------------

def oath_codes(secret, algorithm="sha1", digits=6, period=30, at=None):
    """oathtool's codes for the periods before, at and after `at` (default now)."""
    now = int(time.time()) if at is None else at
    codes = []
    for t in (now - period, now, now + period):
        codes.append(run(["oathtool", f"--totp={algorithm}", f"--digits={digits}",
                          f"--time-step-size={period}s", "-b", "-N", f"@{t}", secret]).strip())
    return codes


def digits_of(text):
    return re.sub(r"\D", "", text or "")


# --- screen ----------------------------------------------------------------------------------

class Screen:
    """QR codes shown on the X display with ImageMagick's `display`, and root screenshots."""

    def __init__(self, work, shots):
        self.work = work
        self.shots = shots
        self.shown = []
        self.webview_screenshots = None  # whether WebDriver's screenshot endpoint works

    def show_qr(self, text, name, x=1200, y=200):
        png = os.path.join(self.work, f"{name}.png")
        run(["qrencode", "-o", png, "-s", "8", "-m", "4", text])
        # The app decodes real pixels: make sure the image itself decodes (zbarimg).
        decoded = run(["zbarimg", "--raw", "-q", png]).strip()
        assert decoded == text, f"qrencode/zbarimg round trip failed for {name}"
        p = PROCS.start(f"display {name}", ["display", "-geometry", f"+{x}+{y}",
                                            "-title", f"tessera-e2e-{name}", png])
        self.shown.append(p)
        # Wait until the window is mapped (xwininfo lists it), else give it a moment.
        if shutil.which("xwininfo"):
            def mapped():
                out = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True,
                                     text=True, timeout=10).stdout
                return f"tessera-e2e-{name}" in out
            wait_until(mapped, 15, what=f"the {name} QR window on the display")
        time.sleep(1.0)  # first paint
        return p

    def hide_all(self):
        for p in self.shown:
            PROCS.stop(p, grace=2.0)
        self.shown = []
        time.sleep(0.5)

    def shot(self, name, session=None):
        """`import -window root` (the whole X screen) and, if it works, WebDriver's screenshot
        of the current webview. Failures here never fail a test."""
        path = os.path.join(self.shots, f"{name}.png")
        try:
            run(["import", "-window", "root", path], timeout=30)
            # The windows only, without the black root around them (docs/screenshots/).
            run(["convert", path, "-fuzz", "2%", "-trim", "+repage", path], timeout=30)
            log(f"    screenshot {path}")
        except (subprocess.SubprocessError, OSError) as e:
            log(f"    (screenshot {name} failed: {e})")
        if session is not None and self.webview_screenshots is not False:
            wpath = os.path.join(self.shots, f"{name}-webview.png")
            try:
                ok = session.screenshot(wpath)
                self.webview_screenshots = bool(ok)
            except (WebDriverError, OSError, ValueError) as e:
                self.webview_screenshots = False
                log(f"    (WebDriver screenshot endpoint does not work: {e})")


# --- the server ------------------------------------------------------------------------------

class Server:
    """tessera-server (the binary) on a free loopback port with a temporary database."""

    def __init__(self, work):
        self.dir = os.path.join(work, "server")
        os.makedirs(self.dir, mode=0o700)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The server reads every TESSERA_SERVER_* variable as a setting: pass only ours.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_SERVER_")}
        env.update({
            "TESSERA_SERVER_DEVICE__ORIGIN": self.url,
            "TESSERA_SERVER_DEVICE__PUSH_RATE_PER_MINUTE": "100",
            "TESSERA_SERVER_LOG": "info",
        })
        argv = [SERVER_BIN, "--listen", f"127.0.0.1:{self.port}",
                "--database", os.path.join(self.dir, "server.db")]
        self.proc = PROCS.start("tessera-server", argv, env=env, stdout=subprocess.PIPE)
        self.logfile = os.path.join(work, "server.log")
        lines = queue.Queue()

        def pump():
            with open(self.logfile, "a", encoding="utf-8", errors="replace") as f:
                for raw in self.proc.stdout:
                    line = raw.decode(errors="replace")
                    lines.put(line)
                    f.write("tsm_… (the admin token, not logged)\n" if line.startswith("tsm_") else line)
                    f.flush()
        threading.Thread(target=pump, daemon=True).start()
        self.admin = None
        deadline = time.monotonic() + 30
        while self.admin is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise RuntimeError(f"tessera-server did not print its admin token (see {self.logfile})")
            try:
                line = lines.get(timeout=min(left, 1.0)).strip()
            except queue.Empty:
                continue
            if line.startswith("tsm_"):
                self.admin = line
        wait_until(lambda: self.call("GET", "/openapi.json")[0] == 200, 15, what="server up")

    def call(self, method, path, body=None, token=None, browser=None, timeout=40):
        headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) tessera-desktop-e2e"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if browser is not None and browser.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        status, v, hdrs = http_json(method, self.url + path, body, timeout=timeout, headers=headers)
        if browser is not None:
            for c in hdrs.get_all("Set-Cookie") or []:
                k, _, rest = c.partition("=")
                browser.cookies[k.strip()] = rest.split(";", 1)[0]
        return status, v

    def admin_call(self, method, path, body=None):
        return self.call(method, path, body, token=self.admin)

    def create_user(self, name, password):
        st, v = self.admin_call("POST", "/api/v2/users", {"username": name, "password": password})
        assert st == 201, f"create user: {st} {v}"
        return v["user_id"]

    def offer(self, user):
        st, v = self.admin_call("POST", "/device/v1/enroll/offers", {"user": user})
        assert st == 201, f"enrollment offer: {st} {v}"
        assert v["link"].startswith("tessera://enroll?"), v
        return v

    def devices(self, user):
        st, v = self.admin_call("GET", f"/api/v1/users/{urllib.parse.quote(user)}/devices")
        assert st == 200, f"list devices: {st} {v}"
        return v


class Browser:
    """The sign-in page's JavaScript, played over HTTP with its cookies."""

    def __init__(self, server):
        self.s = server
        self.cookies = {}

    def password(self, user, pw):
        st, v = self.s.call("POST", "/signin/api/password", {"username": user, "password": pw},
                            browser=self)
        assert st == 200, f"/signin/api/password: {st} {v}"

    def push(self):
        st, v = self.s.call("POST", "/signin/api/push", browser=self)
        assert st == 200, f"/signin/api/push: {st} {v}"
        n = v["number"]
        assert 10 <= int(n) <= 99, v
        return int(n)

    def push_state(self, wait=0):
        st, v = self.s.call("GET", f"/signin/api/push?wait={wait}", browser=self, timeout=wait + 15)
        assert st == 200, f"/signin/api/push: {st} {v}"
        return v

    def qr_session(self):
        st, v = self.s.call("POST", "/qr-login/sessions", browser=self)
        assert st == 201, f"/qr-login/sessions: {st} {v}"
        return v

    def qr_state(self, lsi, wait=0):
        st, v = self.s.call("GET", f"/qr-login/sessions/{lsi}?wait={wait}", browser=self,
                            timeout=wait + 15)
        assert st == 200, f"qr state: {st} {v}"
        return v["state"]

    def qr_redeem(self, lsi):
        return self.s.call("POST", f"/qr-login/sessions/{lsi}/redeem", browser=self)


# --- the app ---------------------------------------------------------------------------------

class App:
    """tauri-driver (its own port pair) launching tessera-desktop with a private environment."""

    def __init__(self, work):
        self.work = work
        self.dir = os.path.join(work, "app")
        os.makedirs(os.path.join(self.dir, "config"), mode=0o700)
        self.vault = os.path.join(self.dir, "vault.sqlite3")
        env = dict(os.environ)
        env.update({
            "TESSERA_VAULT": self.vault,
            "TESSERA_CONFIG_DIR": os.path.join(self.dir, "config"),
            # No policy file: the app runs unmanaged (and never reads the machine's policy).
            "TESSERA_POLICY": os.path.join(self.dir, "no-policy.json"),
            "XDG_CONFIG_HOME": os.path.join(self.dir, "xdg-config"),
            "XDG_CACHE_HOME": os.path.join(self.dir, "xdg-cache"),
            "RUST_LOG": os.environ.get("RUST_LOG", "info"),
            "RUST_BACKTRACE": "1",
        })
        # (The app turns WebKit's DMA-BUF renderer off unless WEBKIT_DISABLE_DMABUF_RENDERER is
        # set; with it off, WebKitWebDriver's screenshot endpoint hangs on WebKitGTK 2.50, so the
        # suite tries it once (8 s) and then relies on `import -window root`. Set
        # WEBKIT_DISABLE_DMABUF_RENDERER=0 to get the webview screenshots too.)
        self.env = env
        self.port, self.native_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.logfile = os.path.join(work, "app.log")
        self.driver = PROCS.start("tauri-driver", ["tauri-driver", "--port", str(self.port),
                                                   "--native-port", str(self.native_port)],
                                  env=env, logfile=self.logfile)
        driver_ready(self.base, 30)
        self.s = None
        self.main = None
        self.launches = 0

    def launch(self):
        if self.s is not None:
            self.s.quit()
            time.sleep(1.0)
        self.launches += 1
        self.s = Session(self.base, tauri_capabilities(APP_BIN), timeout=90)
        self.main = self.s.window
        # The app is up once its UI has rendered something with one of the contract's ids.
        try:
            wait_until(lambda: self.s.script(
                "return !!document.querySelector('#new-passphrase, #passphrase, #lock-now, "
                "#create-keyring')"), 45, what="the app's first screen (#new-passphrase, "
                "#passphrase or #lock-now)")
        except Timeout as e:
            raise Timeout(f"{e}; {self.diagnose()}") from None
        return self.s

    def diagnose(self):
        """What the backend answers to `status` (why a UI stays on its boot screen)."""
        try:
            r = self.s.script_async(
                "const done = arguments[arguments.length - 1];"
                "const t = window.__TAURI_INTERNALS__;"
                "if (!t) { done('no window.__TAURI_INTERNALS__ (not a Tauri page?)'); return; }"
                "const out = [];"
                "const say = (s) => { out.push(s); if (out.length === 2) done(out.join('; ')); };"
                "t.invoke('status').then(v => say('status → ' + JSON.stringify(v).slice(0, 120)),"
                " e => say('status rejected: ' + JSON.stringify(e)));"
                # what the UI does first: listen to the backend's events
                "t.invoke('plugin:event|listen', {event: 'tessera://status', target: {kind: 'Any'},"
                " handler: t.transformCallback(() => {})}).then(() => say('event listen ok'),"
                " e => say('event listen rejected: ' + JSON.stringify(e)));"
                "setTimeout(() => done(out.join('; ') + '; (no answer in 10 s)'), 10000);")
            body = self.s.script("return document.body ? document.body.innerHTML.slice(0, 300) : ''")
            if "Could not connect to localhost" in (body or ""):
                return ("the binary is a dev build: it loads the devUrl instead of the embedded "
                        "ui/dist (build it with --features tauri/custom-protocol)")
            return f"backend: {r}; page: {body!r}"
        except (WebDriverError, OSError) as e:
            return f"(diagnosis failed: {e})"

    def ensure_unlocked(self):
        """A live session with the vault open (relaunching and unlocking if the app died)."""
        if self.s is None or not self.s.alive():
            log("    (app not running: launching it)")
            self.launch()
        s = self.s
        try:
            if self.main in s.windows:
                s.switch_to(self.main)
        except WebDriverError:
            pass
        if s.exists("#lock-now"):
            return s
        if s.exists("#passphrase"):
            s.type("#passphrase", PASSPHRASE)
            s.click("#unlock")
            s.wait("#lock-now", 30)
            return s
        raise AssertionError("the app shows neither its lock screen nor its unlocked header")

    def goto(self, nav, expect, timeout=10):
        self.s.click(nav)
        return self.s.wait(expect, timeout)


# --- scenarios -------------------------------------------------------------------------------

NOTES = []  # observations worth reporting that are not failures


def note(msg):
    NOTES.append(msg)
    log(f"    note: {msg}")


def account_row(s, issuer, timeout=15):
    css = f'[data-testid=account][data-issuer="{issuer}"]'
    return s.wait(css, timeout)


def row_code(s, issuer, want_len):
    """The row's code once it has `want_len` digits."""
    css = f'[data-testid=account][data-issuer="{issuer}"] [data-testid=code]'
    e = s.wait_text(css, 15, pred=lambda t: len(digits_of(t)) == want_len)
    return digits_of(e.text)


def check_code(s, issuer, secret, algorithm="sha1", digits=6):
    code = row_code(s, issuer, digits)
    expected = oath_codes(secret, algorithm, digits)
    assert code in expected, (f"{issuer}: the app shows {code}, oathtool says {expected[1]} "
                              f"(previous {expected[0]}, next {expected[2]})")
    if code != expected[1]:
        note(f"{issuer}: code matched oathtool's neighbouring period (clock boundary)")
    return code


def scan_and_use(s, button, kind, label_hint=None, retries=2):
    """Clicks a scan-the-screen button and the [data-testid=scan-use] of the find of `kind`."""
    for attempt in range(retries + 1):
        s.click(button)
        wait_until(lambda: s.find_all("[data-testid=scan-found]") or
                           s.find_all("[data-testid=scan-none]"), 20,
                           what=f"scan results after {button}")
        items = [e for e in s.find_all("[data-testid=scan-found]")
                 if e.attribute("data-kind") == kind]
        if items:
            item = items[0]
            if label_hint:
                assert label_hint in (item.text or ""), \
                    f"scan find of kind {kind} does not show {label_hint!r}: {item.text!r}"
            item.find("[data-testid=scan-use]").click()
            return item
        kinds = [e.attribute("data-kind") for e in s.find_all("[data-testid=scan-found]")]
        log(f"    scan attempt {attempt + 1}: no {kind} find (found kinds {kinds}, "
            f"scan-none={s.exists('[data-testid=scan-none]')})")
        time.sleep(2)
    raise AssertionError(f"scanning the screen ({button}) found no QR code of kind {kind}")


def visible_error(s, timeout=10):
    e = s.wait_text("[data-testid=error]", timeout)
    return e.text


def t_first_run(ctx):
    app = ctx["app"]
    s = app.launch()
    assert not os.path.exists(app.vault), "a vault exists before the first run"
    s.wait("#new-passphrase", 20)
    ctx["screen"].shot("first-run", s)
    # A mismatched confirmation must be refused.
    s.type("#new-passphrase", PASSPHRASE)
    s.type("#new-passphrase-confirm", PASSPHRASE + "x")
    s.click("#create-vault")
    time.sleep(1.5)
    assert not s.exists("#lock-now"), "a vault was created with a mismatched confirmation"
    s.type("#new-passphrase", PASSPHRASE)
    s.type("#new-passphrase-confirm", PASSPHRASE)
    s.click("#create-vault")
    s.wait("#lock-now", 60)  # Argon2id in a debug build takes a moment
    assert os.path.exists(app.vault), f"no vault at TESSERA_VAULT ({app.vault})"
    s.click("#lock-now")
    s.wait("#passphrase", 15)
    assert not s.exists("#lock-now"), "still unlocked after #lock-now"
    assert not s.exists("[data-testid=account]") and not s.exists("[data-testid=code]"), \
        "accounts or codes are shown while locked"
    s.type("#passphrase", "not the passphrase")
    s.click("#unlock")
    text = visible_error(s, 60)
    assert not s.exists("#lock-now"), "a wrong passphrase unlocked the vault"
    log(f"    wrong passphrase → {text.strip()!r}")
    s.type("#passphrase", PASSPHRASE)
    s.click("#unlock")
    s.wait("#lock-now", 60)
    assert not s.exists("[data-testid=account]"), "a new vault lists accounts"


def t_add_uri(ctx):
    s = ctx["app"].ensure_unlocked()
    s.click("#nav-add")
    uri = (f"otpauth://totp/{urllib.parse.quote(URI_ISSUER)}:{urllib.parse.quote(URI_NAME)}"
           f"?secret={URI_SECRET}&issuer={urllib.parse.quote(URI_ISSUER)}")
    s.type("#uri-input", uri)
    s.click("#uri-submit")
    try:
        account_row(s, URI_ISSUER, 5)
    except Timeout:
        s.click("#nav-accounts")
    row = account_row(s, URI_ISSUER)
    assert row.attribute("data-name") == URI_NAME, f"data-name is {row.attribute('data-name')!r}"
    assert row.find_all("[data-testid=countdown]"), "the TOTP row has no countdown"
    check_code(s, URI_ISSUER, URI_SECRET)
    vault = open(ctx["app"].vault, "rb").read()
    assert URI_SECRET.encode() not in vault and URI_NAME.encode() not in vault, \
        "the vault file holds the secret or account name in clear"
    # The app lists exactly what the vault has: reading the list twice gives one row.
    assert len(s.find_all(f'[data-testid=account][data-issuer="{URI_ISSUER}"]')) == 1


def t_add_screen_qr(ctx):
    s = ctx["app"].ensure_unlocked()
    screen = ctx["screen"]
    uri = (f"otpauth://totp/{urllib.parse.quote(QR_ISSUER)}:{urllib.parse.quote(QR_NAME)}"
           f"?secret={QR_SECRET}&issuer={urllib.parse.quote(QR_ISSUER)}"
           f"&algorithm=SHA256&digits=8&period=30")
    screen.show_qr(uri, "account-qr")
    try:
        s.click("#nav-add")
        scan_and_use(s, "#add-scan-screen", "account", label_hint=None)
        try:
            account_row(s, QR_ISSUER, 5)
        except Timeout:
            s.click("#nav-accounts")
        row = account_row(s, QR_ISSUER)
        assert row.attribute("data-name") == QR_NAME, f"data-name {row.attribute('data-name')!r}"
        check_code(s, QR_ISSUER, QR_SECRET, "sha256", 8)
    finally:
        screen.hide_all()
    # Both accounts listed with their codes: the main screenshot.
    check_code(s, URI_ISSUER, URI_SECRET)
    screen.shot("accounts", s)


def t_enroll(ctx):
    s = ctx["app"].ensure_unlocked()
    server, screen = ctx["server"], ctx["screen"]
    server.create_user(USER, USER_PW)
    offer = server.offer(USER)
    assert server.devices(USER) == [], "the user has devices before enrolling"
    screen.show_qr(offer["link"], "enroll-qr")
    try:
        s.click("#nav-devices")
        scan_and_use(s, "#device-scan", "enroll")
        row = s.wait("[data-testid=enrollment]", 30)
    finally:
        screen.hide_all()
    devices = wait_until(lambda: server.devices(USER), 10, what="the server to list the device")
    assert len(devices) == 1, f"the server lists {len(devices)} devices: {devices}"
    text = row.text or ""
    if server.url not in text and USER not in text:
        note(f"the enrollment row shows neither the origin nor the user: {text!r}")
    log(f"    server lists device {devices[0].get('device_id') or devices[0].get('id')} "
        f"({devices[0].get('name') or devices[0].get('device_name')})")
    # The single-use code: a second enrollment with the same link must fail.
    st, v = server.call("POST", "/device/v1/enroll/begin",
                        {"code": urllib.parse.parse_qs(offer["link"].split("?", 1)[1])["code"][0]})
    assert st >= 400, f"the enrollment code is still usable after the app used it: {st} {v}"
    screen.shot("devices", s)


def open_approval(ctx, timeout=30):
    """Waits for the approval card of a new push: in an `approval-…` window when WebKitWebDriver
    exposes it, else in the main window. Returns (card element, "window"|"main")."""
    app = ctx["app"]
    s = app.s
    answered = ctx.setdefault("answered", set())
    seen_main_at = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for h in [h for h in s.windows if h != app.main]:
            try:
                s.switch_to(h)
                for card in s.find_all("[data-testid=approval]"):
                    if card.attribute("data-tx") not in answered and card.displayed():
                        ctx["approval_mode"] = "window"
                        return card, "window"
            except WebDriverError:
                pass  # closing, or not ready yet
        s.switch_to(app.main)
        cards = [c for c in s.find_all("[data-testid=approval]")
                 if c.attribute("data-tx") not in answered and c.displayed()]
        if cards:
            if seen_main_at is None:
                seen_main_at = time.monotonic()
            # Give the backend's approval window a moment to show up as a WebDriver window.
            if time.monotonic() - seen_main_at > 4 or ctx.get("approval_mode") == "main":
                ctx["approval_mode"] = "main"
                return cards[0], "main"
        time.sleep(0.3)
    raise Timeout(f"no approval card ([data-testid=approval]) for a new push within {timeout}s, "
                  f"in {len(s.windows)} window(s)")


def answer(ctx, number, action, shot=None):
    """Fills the approval card and clicks `action` (#approve / #deny); returns the result text
    (None when the approval window closed before it could be read)."""
    app = ctx["app"]
    s = app.s
    card, mode = open_approval(ctx)
    tx = card.attribute("data-tx")
    assert tx, "the approval card has no data-tx"
    ctx["answered"].add(tx)
    text = card.text or ""
    assert "Tessera sample sign-in" in text, \
        f"the approval card does not name the application asking: {text!r}"
    if number is not None:
        s.type("#approval-number", str(number))
    if shot:
        time.sleep(0.5)  # let the typed number paint
        ctx["screen"].shot(shot, s)
    s.click(action)
    result = None
    try:
        result = s.wait_text("[data-testid=approval-result]", 20).text
    except (Timeout, WebDriverError):
        if mode != "window" or window_open(s):
            raise
        note("the approval window closed before [data-testid=approval-result] could be read")
    if mode == "window":
        try:
            s.switch_to(app.main)
        except WebDriverError:
            pass
    return tx, result


def window_open(s):
    try:
        return s.window in s.windows
    except WebDriverError:
        return False


def t_push(ctx):
    app = ctx["app"]
    app.ensure_unlocked().click("#nav-accounts")
    server = ctx["server"]

    # 1. Approve with the number the sign-in page shows.
    b = Browser(server)
    b.password(USER, USER_PW)
    number = b.push()
    tx, result = answer(ctx, number, "#approve", shot="approval")
    st = b.push_state(wait=15)
    assert st["state"] == "approved", f"server push state after Approve: {st}"
    log(f"    approved push {tx[:8]}… with {number}; app says {result!r}")
    if result is not None:
        assert "approv" in result.lower(), f"approval result text: {result!r}"

    # 2. A wrong number: the server must not approve.
    b = Browser(server)
    b.password(USER, USER_PW)
    number = b.push()
    wrong = 10 + (number - 10 + 37) % 90
    assert wrong != number
    tx, result = answer(ctx, wrong, "#approve")
    st = b.push_state(wait=15)
    assert st["state"] != "approved", f"a wrong number ({wrong} for {number}) was approved"
    assert st["state"] == "denied", f"server push state after a wrong number: {st}"
    log(f"    wrong number → server {st['state']}, app says {result!r}")

    # 3. Deny.
    b = Browser(server)
    b.password(USER, USER_PW)
    number = b.push()
    tx, result = answer(ctx, None, "#deny")
    st = b.push_state(wait=15)
    assert st["state"] == "denied", f"server push state after Deny: {st}"
    log(f"    deny → server {st['state']}, app says {result!r}")
    s = app.s
    s.switch_to(app.main)
    if ctx.get("approval_mode") == "window":
        try:
            wait_until(lambda: s.windows == [app.main], 15,
                       what="the answered approval windows to close (only `main` left)")
        except Timeout as e:
            raise Timeout(f"{e}; {close_diagnosis(app)}") from None
    try:
        s.wait_gone("[data-testid=approval]", 10)
    except Timeout:
        raise AssertionError("the main window still shows an answered approval card")
    note(f"approval card used: {ctx.get('approval_mode')}")


def close_diagnosis(app):
    """What closing a left-over approval window the way the UI does answers."""
    s = app.s
    out = []
    for h in [h for h in s.windows if h != app.main]:
        try:
            s.switch_to(h)
            r = s.script_async(
                "const done = arguments[arguments.length - 1];"
                "const t = window.__TAURI_INTERNALS__;"
                "const label = t.metadata.currentWindow.label;"
                "t.invoke('plugin:window|close', {label}).then(() => done(label + ': close ok'),"
                " e => done(label + ': close rejected: ' + JSON.stringify(e)));"
                "setTimeout(() => done(label + ': close gave no answer'), 5000);")
            out.append(str(r))
        except WebDriverError as e:
            out.append(f"{h}: {e}")
    try:
        s.switch_to(app.main)
    except WebDriverError:
        pass
    return "; ".join(out) or "no other window"


def find_anywhere(app, css):
    """`css` on the current screen, else after each navigation button."""
    s = app.s
    if s.find_all(css):
        return s.wait(css, 3)
    for nav in ("#nav-devices", "#nav-accounts", "#nav-add"):
        if s.exists(nav):
            s.click(nav)
            time.sleep(0.5)
            if s.find_all(css):
                return s.wait(css, 3)
    raise AssertionError(f"no {css} on any screen")


def t_qr_login(ctx):
    app = ctx["app"]
    s = app.ensure_unlocked()
    server, screen = ctx["server"], ctx["screen"]
    b = Browser(server)
    sess = b.qr_session()
    lsi, link = sess["lsi"], sess["link"]
    assert link.startswith("tessera://qr-login?"), link
    assert b.qr_state(lsi) == "pending"
    screen.show_qr(link, "qr-login")
    try:
        find_anywhere(app, "#qr-login-scan")
        # The scan button may open the confirmation directly, or list finds first.
        s.click("#qr-login-scan")
        try:
            conf = s.wait("[data-testid=qr-login]", 10)
        except Timeout:
            items = [e for e in s.find_all("[data-testid=scan-found]")
                     if e.attribute("data-kind") == "qr_login"]
            assert items, "QR-login scan showed neither [data-testid=qr-login] nor a qr_login find"
            items[0].find("[data-testid=scan-use]").click()
            conf = s.wait("[data-testid=qr-login]", 15)
    finally:
        screen.hide_all()
    text = conf.text or ""
    assert server.url in text or f"127.0.0.1:{server.port}" in text, \
        f"the QR-login confirmation does not show the origin {server.url}: {text!r}"
    screen.shot("qr-login", s)
    assert b.qr_state(lsi) == "pending", "the session was decided before the user confirmed"
    s.click("#qr-approve")
    result = s.wait_text("[data-testid=qr-result]", 20).text
    state = b.qr_state(lsi, wait=15)
    assert state == "approved", f"server QR-login state after #qr-approve: {state}"
    st, v = b.qr_redeem(lsi)
    assert st == 200, f"redeem: {st} {v}"
    assert USER in json.dumps(v), f"redeemed session is not {USER}'s: {v}"
    st2, _ = b.qr_redeem(lsi)
    assert st2 == 409, f"a second redeem answered {st2}"
    log(f"    QR login approved; app says {result!r}; browser signed in as {USER}")

    # A second session denied from the app: the server must not approve it.
    b2 = Browser(server)
    sess2 = b2.qr_session()
    screen.show_qr(sess2["link"], "qr-login-2")
    try:
        find_anywhere(app, "#qr-login-scan")
        s.click("#qr-login-scan")
        try:
            s.wait("[data-testid=qr-login]", 10)
        except Timeout:
            items = [e for e in s.find_all("[data-testid=scan-found]")
                     if e.attribute("data-kind") == "qr_login"]
            assert items, "second QR-login scan found nothing"
            items[0].find("[data-testid=scan-use]").click()
            s.wait("[data-testid=qr-login]", 15)
    finally:
        screen.hide_all()
    s.click("#qr-deny")
    s.wait_text("[data-testid=qr-result]", 20)
    state = b2.qr_state(sess2["lsi"], wait=10)
    assert state == "denied", f"server QR-login state after #qr-deny: {state}"


def t_lock_hides(ctx):
    app = ctx["app"]
    s = app.ensure_unlocked()
    s.click("#nav-accounts")
    account_row(s, URI_ISSUER)
    s.click("#lock-now")
    s.wait("#passphrase", 15)
    time.sleep(0.5)
    assert not s.find_all("[data-testid=account]"), "account rows are shown while locked"
    assert not s.find_all("[data-testid=code]"), "codes are shown while locked"
    src = s.source
    codes = oath_codes(URI_SECRET) + oath_codes(QR_SECRET, "sha256", 8)
    leaked = [c for c in codes if c in src]
    assert not leaked, f"the locked page source contains current codes {leaked}"
    for secret in (URI_SECRET, QR_SECRET):
        assert secret not in src, "the locked page source contains a secret"
    ctx["screen"].shot("lock-screen", s)
    s.type("#passphrase", PASSPHRASE)
    s.click("#unlock")
    s.wait("#lock-now", 60)
    s.click("#nav-accounts")
    account_row(s, URI_ISSUER, 15)
    check_code(s, URI_ISSUER, URI_SECRET)


SCENARIOS = [
    ("a", "first run: passphrase vault, lock, wrong and right passphrase", t_first_run, []),
    ("b", "add an account from an otpauth URI; code matches oathtool", t_add_uri, ["a"]),
    ("c", "add an account from a QR code on the screen (SHA256, 8 digits)", t_add_screen_qr, ["a"]),
    ("d", "enroll with tessera-server from an enrollment QR on the screen", t_enroll, ["a"]),
    ("e", "push with number matching: approve, wrong number, deny", t_push, ["d"]),
    ("f", "QR login: scan, confirm origin, approve (and deny)", t_qr_login, ["d"]),
    ("g", "lock hides every account and code; unlock shows them again", t_lock_hides, ["b", "c"]),
]


# --- runner ----------------------------------------------------------------------------------

class ScenarioTimeout(Exception):
    pass


def main():
    if not os.environ.get("DISPLAY"):
        log("run.py: no $DISPLAY (run it through scripts/desktop-e2e.sh, which starts Xvfb)")
        return 2
    for tool in ("tauri-driver", "WebKitWebDriver", "qrencode", "zbarimg", "oathtool",
                 "display", "import"):
        if not shutil.which(tool):
            log(f"run.py: {tool} is not installed (scripts/install-deps.sh installs it)")
            return 2
    for b in (APP_BIN, SERVER_BIN):
        if not os.access(b, os.X_OK):
            log(f"run.py: {b} is missing (cargo build -p tessera-desktop -p tessera-server)")
            return 2

    work = tempfile.mkdtemp(prefix="tessera-e2e.")
    shots = os.environ.get("TESSERA_E2E_SHOTS") or os.path.join(work, "screenshots")
    os.makedirs(shots, exist_ok=True)
    keep = os.environ.get("TESSERA_E2E_KEEP") == "1"

    outcome = {"failed": True}

    def cleanup():
        PROCS.stop_all()
        # Keep the work dir (logs, vault, server db) after a failure, on request, or when the
        # screenshots live in it.
        if keep or outcome["failed"] or not os.environ.get("TESSERA_E2E_SHOTS"):
            return
        shutil.rmtree(work, ignore_errors=True)
    atexit.register(cleanup)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    suite_deadline = time.monotonic() + SUITE_TIMEOUT

    def on_alarm(_s, _f):
        raise ScenarioTimeout(f"scenario exceeded its time limit")
    signal.signal(signal.SIGALRM, on_alarm)

    only = {x.strip() for x in os.environ.get("TESSERA_E2E_ONLY", "").split(",") if x.strip()}
    if only:
        want = set(only)
        changed = True
        while changed:
            changed = False
            for key, _, _, deps in SCENARIOS:
                if key in want:
                    for d in deps:
                        if d not in want:
                            want.add(d)
                            changed = True
        only = want

    log(f"work dir {work} (logs: app.log, server.log); screenshots in {shots}")
    ctx = {"screen": Screen(work, shots)}
    results = {}
    passed = failed = 0
    try:
        ctx["server"] = Server(work)
        log(f"tessera-server at {ctx['server'].url}")
        ctx["app"] = App(work)
    except Exception as e:  # noqa: BLE001 — the setup failure is the result
        log(f"FAIL setup: {e}")
        traceback.print_exc()
        log(f"0 passed, {len(SCENARIOS)} failed")
        return 1

    for key, title, fn, deps in SCENARIOS:
        if only and key not in only:
            continue
        missing = [d for d in deps if results.get(d) is not True]
        if missing:
            results[key] = False
            failed += 1
            log(f"FAIL {key}. {title}: not run, needs {', '.join(missing)}")
            continue
        left = int(suite_deadline - time.monotonic())
        if left < 10:
            results[key] = False
            failed += 1
            log(f"FAIL {key}. {title}: not run, the suite's {SUITE_TIMEOUT}s are used up")
            continue
        log(f"---- {key}. {title}")
        t0 = time.monotonic()
        signal.alarm(max(5, min(SCENARIO_TIMEOUT, left)))
        try:
            fn(ctx)
            signal.alarm(0)
            results[key] = True
            passed += 1
            log(f"PASS {key}. {title} ({time.monotonic() - t0:.1f}s)")
        except Exception as e:  # noqa: BLE001 — every failure is reported, then the next runs
            signal.alarm(0)
            results[key] = False
            failed += 1
            log(f"FAIL {key}. {title} ({time.monotonic() - t0:.1f}s): {type(e).__name__}: {e}")
            traceback.print_exc(limit=4, file=sys.stdout)
            try:
                ctx["screen"].hide_all()
                app = ctx["app"]
                if app.s is not None and app.s.alive():
                    ctx["screen"].shot(f"fail-{key}", app.s)
                    with open(os.path.join(work, f"fail-{key}.html"), "w") as f:
                        f.write(app.s.source or "")
                    log(f"    page source saved to {work}/fail-{key}.html")
                else:
                    ctx["screen"].shot(f"fail-{key}")
            except Exception as e2:  # noqa: BLE001
                log(f"    (could not record the failure: {e2})")

    try:
        if ctx["app"].s is not None:
            ctx["app"].s.quit()
    except Exception:  # noqa: BLE001
        pass
    if ctx["screen"].webview_screenshots is not None:
        note("WebDriver screenshot endpoint works: "
             f"{'yes' if ctx['screen'].webview_screenshots else 'no'}")
    if NOTES:
        log("notes:")
        for n in NOTES:
            log(f"  - {n}")
    outcome["failed"] = failed > 0
    if failed or keep:
        log(f"logs kept in {work}")
    log(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
