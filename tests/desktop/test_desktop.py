"""Tessera desktop app: real-window end-to-end tests.

The real `tessera-desktop` binary runs on an X display (Xvfb in CI) under tauri-driver →
WebKitWebDriver and is driven through its DOM (the ids of docs/desktop-contract.md) with
Selenium. A real `tessera-server` plays the server; `Browser` plays its /signin page. Codes are
checked against `oathtool`; QR codes are made with `qrencode` and shown on the screen with
ImageMagick's `display`, so the app's "scan the screen" reads real pixels.

The scenarios run in order and share one app session. Each names the scenarios whose state it
needs (the vault, the accounts, the enrollment): when those were left out (`-k`), they run
first as its setup; when they failed, it fails without running.
"""

import functools
import json
import os
import re
import time
import urllib.parse

import pytest
from selenium.common.exceptions import (
    StaleElementReferenceException, TimeoutException, WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from app import PASSPHRASE
from notes import note
from processes import run
from tessera_server import Browser

USER, USER_PW = "alice", "alice demo password 7"

# A plain SHA-1 TOTP for the URI scenario, and a SHA-256 8-digit one for the screen scan.
URI_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
URI_ISSUER, URI_NAME = "Example Co", "alice@example.com"
QR_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
QR_ISSUER, QR_NAME = "Screen Bank", "carol@example.com"

SCENARIOS = {}  # key → (body, needs)


def scenario(key, needs=()):
    """Registers a test as scenario `key`, run after the scenarios in `needs` have passed."""
    def register(body):
        SCENARIOS[key] = (body, needs)

        @functools.wraps(body)
        def test(e2e):
            for k in needs:
                require(e2e, k)
            run_scenario(e2e, key)
        return test
    return register


def require(e2e, key):
    if key in e2e.passed:
        return
    if key in e2e.failed:
        pytest.fail(f"not run: needs scenario {key}, which failed", pytrace=False)
    body, needs = SCENARIOS[key]
    for k in needs:
        require(e2e, k)
    print(f"    (scenario {key} was not selected: running it first)")
    run_scenario(e2e, key)


def run_scenario(e2e, key):
    try:
        SCENARIOS[key][0](e2e)
    except BaseException:
        e2e.failed.add(key)
        raise
    e2e.passed.add(key)


# --- codes -----------------------------------------------------------------------------------

def oath_codes(secret, algorithm="sha1", digits=6, period=30):
    """oathtool's codes for the periods before, at and after now."""
    now = int(time.time())
    return [run(["oathtool", f"--totp={algorithm}", f"--digits={digits}",
                 f"--time-step-size={period}s", "-b", "-N", f"@{t}", secret]).strip()
            for t in (now - period, now, now + period)]


def digits_of(text):
    return re.sub(r"\D", "", text or "")


def account_css(issuer):
    return f'[data-testid=account][data-issuer="{issuer}"]'


def check_code(app, issuer, secret, algorithm="sha1", digits=6):
    """The row's code, once it has `digits` digits, is oathtool's (for now, or a neighbouring
    period when the clock crossed a boundary)."""
    e = app.wait_text(f"{account_css(issuer)} [data-testid=code]", 15,
                      pred=lambda t: len(digits_of(t)) == digits)
    code = digits_of(e.text)
    expected = oath_codes(secret, algorithm, digits)
    assert code in expected, (f"{issuer}: the app shows {code}, oathtool says {expected[1]} "
                              f"(previous {expected[0]}, next {expected[2]})")
    if code != expected[1]:
        note(f"{issuer}: code matched oathtool's neighbouring period (clock boundary)")
    return code


def show_row(app, issuer):
    """The account's row: on the screen adding it leads to, else on the accounts list."""
    try:
        app.wait(account_css(issuer), 5)
    except TimeoutException:
        app.click("#nav-accounts")
    return app.wait(account_css(issuer), 15)


def scan_and_use(app, button, kind, retries=2):
    """Clicks a scan-the-screen button, then the [data-testid=scan-use] of the find of `kind`."""
    for attempt in range(retries + 1):
        app.click(button)
        app.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=scan-found], "
                                                             "[data-testid=scan-none]"),
                  20, f"no scan results ([data-testid=scan-found] or scan-none) after {button}")
        finds = app.all("[data-testid=scan-found]")
        items = [e for e in finds if e.get_dom_attribute("data-kind") == kind]
        if items:
            items[0].find_element(By.CSS_SELECTOR, "[data-testid=scan-use]").click()
            return items[0]
        kinds = [e.get_dom_attribute("data-kind") for e in finds]
        print(f"    scan attempt {attempt + 1}: no {kind} find (found kinds {kinds}, "
              f"scan-none={app.exists('[data-testid=scan-none]')})")
        time.sleep(2)
    raise AssertionError(f"scanning the screen ({button}) found no QR code of kind {kind}")


# --- scenarios -------------------------------------------------------------------------------

@scenario("a")
def test_a_first_run(e2e):
    """First run: create a passphrase vault (a mismatched confirmation refused), lock, a wrong
    passphrase refused, the right one unlocks an empty vault."""
    app = e2e.app
    app.launch()
    assert not os.path.exists(app.vault), "a vault exists before the first run"
    app.wait("#new-passphrase", 20)
    e2e.screen.shot("first-run", app.driver)
    app.type("#new-passphrase", PASSPHRASE)
    app.type("#new-passphrase-confirm", PASSPHRASE + "x")
    app.click("#create-vault")
    time.sleep(1.5)
    assert not app.exists("#lock-now"), "a vault was created with a mismatched confirmation"
    app.type("#new-passphrase", PASSPHRASE)
    app.type("#new-passphrase-confirm", PASSPHRASE)
    app.click("#create-vault")
    app.wait("#lock-now", 60)  # Argon2id in a debug build takes a moment
    assert os.path.exists(app.vault), f"creating the vault wrote no file at TESSERA_VAULT ({app.vault})"
    app.click("#lock-now")
    app.wait("#passphrase", 15)
    assert not app.exists("#lock-now"), "still unlocked after #lock-now"
    assert not app.exists("[data-testid=account]") and not app.exists("[data-testid=code]"), \
        "accounts or codes are shown while locked"
    app.type("#passphrase", "not the passphrase")
    app.click("#unlock")
    error = app.wait_text("[data-testid=error]", 60).text
    assert not app.exists("#lock-now"), "a wrong passphrase unlocked the vault"
    print(f"    wrong passphrase → {error.strip()!r}")
    app.type("#passphrase", PASSPHRASE)
    app.click("#unlock")
    app.wait("#lock-now", 60)
    assert not app.exists("[data-testid=account]"), "a new vault lists accounts"


@scenario("b", needs=("a",))
def test_b_add_uri(e2e):
    """Add an account from an otpauth URI: its row shows oathtool's code; the vault file holds
    neither its secret nor its name in clear."""
    app = e2e.app
    app.ensure_unlocked()
    app.click("#nav-add")
    uri = (f"otpauth://totp/{urllib.parse.quote(URI_ISSUER)}:{urllib.parse.quote(URI_NAME)}"
           f"?secret={URI_SECRET}&issuer={urllib.parse.quote(URI_ISSUER)}")
    app.type("#uri-input", uri)
    app.click("#uri-submit")
    row = show_row(app, URI_ISSUER)
    assert row.get_dom_attribute("data-name") == URI_NAME, \
        f"the row's data-name is {row.get_dom_attribute('data-name')!r}, the URI's name {URI_NAME!r}"
    assert row.find_elements(By.CSS_SELECTOR, "[data-testid=countdown]"), "the TOTP row has no countdown"
    check_code(app, URI_ISSUER, URI_SECRET)
    with open(app.vault, "rb") as f:
        vault = f.read()
    assert URI_SECRET.encode() not in vault and URI_NAME.encode() not in vault, \
        "the vault file holds the secret or account name in clear"
    assert len(app.all(account_css(URI_ISSUER))) == 1, "one URI added, but not exactly one row listed"


@scenario("c", needs=("a",))
def test_c_add_screen_qr(e2e):
    """Add an account from a QR code on the screen (SHA-256, 8 digits): its code is oathtool's."""
    app, screen = e2e.app, e2e.screen
    app.ensure_unlocked()
    uri = (f"otpauth://totp/{urllib.parse.quote(QR_ISSUER)}:{urllib.parse.quote(QR_NAME)}"
           f"?secret={QR_SECRET}&issuer={urllib.parse.quote(QR_ISSUER)}"
           f"&algorithm=SHA256&digits=8&period=30")
    screen.show_qr(uri, "account-qr")
    app.click("#nav-add")
    scan_and_use(app, "#add-scan-screen", "account")
    row = show_row(app, QR_ISSUER)
    assert row.get_dom_attribute("data-name") == QR_NAME, \
        f"the row's data-name is {row.get_dom_attribute('data-name')!r}, the QR's name {QR_NAME!r}"
    check_code(app, QR_ISSUER, QR_SECRET, "sha256", 8)
    screen.hide_all()
    if "b" in e2e.passed:
        # Both accounts listed with their codes: the main screenshot.
        check_code(app, URI_ISSUER, URI_SECRET)
        screen.shot("accounts", app.driver)


@scenario("d", needs=("a",))
def test_d_enroll(e2e):
    """Enroll with tessera-server from an enrollment QR on the screen: the server lists the
    device, and the single-use code no longer works."""
    app, server, screen = e2e.app, e2e.server, e2e.screen
    app.ensure_unlocked()
    server.create_user(USER, USER_PW)
    offer = server.offer(USER)
    assert server.devices(USER) == [], "the user has devices before enrolling"
    screen.show_qr(offer["link"], "enroll-qr")
    app.click("#nav-devices")
    scan_and_use(app, "#device-scan", "enroll")
    row = app.wait("[data-testid=enrollment]", 30)
    screen.hide_all()
    devices = WebDriverWait(server, 10, poll_frequency=0.2).until(
        lambda s: s.devices(USER), "the server lists no device for the user after enrolling")
    assert len(devices) == 1, f"one enrollment, but the server lists {len(devices)} devices: {devices}"
    text = row.text or ""
    if server.url not in text and USER not in text:
        note(f"the enrollment row shows neither the origin nor the user: {text!r}")
    print(f"    server lists device {devices[0].get('device_id') or devices[0].get('id')} "
          f"({devices[0].get('name') or devices[0].get('device_name')})")
    code = urllib.parse.parse_qs(offer["link"].split("?", 1)[1])["code"][0]
    st, v = server.call("POST", "/device/v1/enroll/begin", {"code": code})
    assert st >= 400, f"the enrollment code is still usable after the app used it: {st} {v}"
    screen.shot("devices", app.driver)


# --- push approvals --------------------------------------------------------------------------

def open_approval(e2e, timeout=30):
    """The approval card of a new push: in an `approval-…` window when WebKitWebDriver exposes
    it, else in the main window. Returns (card, "window" | "main")."""
    app = e2e.app
    d = app.driver
    seen_main_at = None

    def fresh_cards():
        try:
            return [c for c in app.all("[data-testid=approval]")
                    if c.get_dom_attribute("data-tx") not in e2e.answered and c.is_displayed()]
        except StaleElementReferenceException:
            return []  # re-rendered meanwhile: look again

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for h in [h for h in d.window_handles if h != app.main]:
            try:
                d.switch_to.window(h)
                cards = fresh_cards()
                if cards:
                    e2e.approval_mode = "window"
                    return cards[0], "window"
            except WebDriverException:
                pass  # closing, or not ready yet
        d.switch_to.window(app.main)
        cards = fresh_cards()
        if cards:
            seen_main_at = seen_main_at or time.monotonic()
            # Give the backend's approval window a moment to show up as a WebDriver window.
            if time.monotonic() - seen_main_at > 4 or e2e.approval_mode == "main":
                e2e.approval_mode = "main"
                return cards[0], "main"
        time.sleep(0.3)
    raise AssertionError(f"no approval card ([data-testid=approval]) for a new push within "
                         f"{timeout} s, in {len(d.window_handles)} window(s)")


def answer(e2e, number, action, shot=None):
    """Types `number` (unless None) into the approval card and clicks `action` (#approve or
    #deny); returns the result text (None when the approval window closed before it could be
    read)."""
    app = e2e.app
    card, mode = open_approval(e2e)
    tx = card.get_dom_attribute("data-tx")
    assert tx, "the approval card has no data-tx"
    e2e.answered.add(tx)
    text = card.text or ""
    assert "Tessera sample sign-in" in text, \
        f"the approval card does not name the application asking: {text!r}"
    if number is not None:
        app.type("#approval-number", str(number))
    if shot:
        time.sleep(0.5)  # let the typed number paint
        e2e.screen.shot(shot, app.driver)
    app.click(action)
    result = None
    try:
        result = app.wait_text("[data-testid=approval-result]", 20).text
    except (TimeoutException, WebDriverException):
        if mode != "window" or window_open(app.driver):
            raise
        note("the approval window closed before [data-testid=approval-result] could be read")
    if mode == "window":
        try:
            app.driver.switch_to.window(app.main)
        except WebDriverException:
            pass
    return result


def window_open(d):
    try:
        return d.current_window_handle in d.window_handles
    except WebDriverException:
        return False


def close_diagnosis(app):
    """What closing a left-over approval window the way the UI does answers."""
    d = app.driver
    out = []
    for h in [h for h in d.window_handles if h != app.main]:
        try:
            d.switch_to.window(h)
            out.append(str(d.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "const t = window.__TAURI_INTERNALS__;"
                "const label = t.metadata.currentWindow.label;"
                "t.invoke('plugin:window|close', {label}).then(() => done(label + ': close ok'),"
                " e => done(label + ': close rejected: ' + JSON.stringify(e)));"
                "setTimeout(() => done(label + ': close gave no answer'), 5000);")))
        except WebDriverException as e:
            out.append(f"{h}: {e.msg}")
    try:
        d.switch_to.window(app.main)
    except WebDriverException:
        pass
    return "; ".join(out) or "no other window"


def signed_in_browser(server):
    b = Browser(server)
    b.password(USER, USER_PW)
    return b


@scenario("e", needs=("d",))
def test_e_push(e2e):
    """Push with number matching: the number the sign-in page shows approves; a wrong number
    and Deny leave the sign-in denied; the answered cards go away."""
    app, server = e2e.app, e2e.server
    app.ensure_unlocked()
    app.click("#nav-accounts")

    b = signed_in_browser(server)
    number = b.push()
    result = answer(e2e, number, "#approve", shot="approval")
    st = b.push_state(wait=15)
    assert st["state"] == "approved", f"typing the shown number ({number}) and Approve: server says {st}"
    print(f"    approved with {number}; app says {result!r}")
    if result is not None:
        assert "approv" in result.lower(), f"the result after Approve reads {result!r}"

    b = signed_in_browser(server)
    number = b.push()
    wrong = 10 + (number - 10 + 37) % 90
    assert wrong != number
    result = answer(e2e, wrong, "#approve")
    st = b.push_state(wait=15)
    assert st["state"] != "approved", f"a wrong number ({wrong} for {number}) was approved"
    assert st["state"] == "denied", f"a wrong number ({wrong} for {number}): server says {st}"
    print(f"    wrong number → server {st['state']}, app says {result!r}")

    b = signed_in_browser(server)
    b.push()
    result = answer(e2e, None, "#deny")
    st = b.push_state(wait=15)
    assert st["state"] == "denied", f"after Deny the server says {st}"
    print(f"    deny → server {st['state']}, app says {result!r}")

    d = app.driver
    d.switch_to.window(app.main)
    if e2e.approval_mode == "window":
        try:
            WebDriverWait(d, 15, poll_frequency=0.3).until(lambda d: d.window_handles == [app.main])
        except TimeoutException:
            raise AssertionError("the answered approval windows did not close (only `main` "
                                 f"should be left); {close_diagnosis(app)}") from None
    try:
        app.wait_gone("[data-testid=approval]", 10)
    except TimeoutException:
        raise AssertionError("the main window still shows an answered approval card") from None
    note(f"approval card used: {e2e.approval_mode}")


# --- QR login --------------------------------------------------------------------------------

def find_anywhere(app, css):
    """`css` on the current screen, else after each navigation button."""
    if app.exists(css):
        return app.wait(css, 3)
    for nav in ("#nav-devices", "#nav-accounts", "#nav-add"):
        if app.exists(nav):
            app.click(nav)
            time.sleep(0.5)
            if app.exists(css):
                return app.wait(css, 3)
    raise AssertionError(f"no {css} on any screen")


def scan_qr_login(app, screen, link, name):
    """Shows `link` on the screen and scans it: the QR-login confirmation (the scan button may
    open it directly, or list what it found first)."""
    screen.show_qr(link, name)
    find_anywhere(app, "#qr-login-scan")
    app.click("#qr-login-scan")
    try:
        conf = app.wait("[data-testid=qr-login]", 10)
    except TimeoutException:
        items = [e for e in app.all("[data-testid=scan-found]")
                 if e.get_dom_attribute("data-kind") == "qr_login"]
        assert items, "the QR-login scan showed neither [data-testid=qr-login] nor a qr_login find"
        items[0].find_element(By.CSS_SELECTOR, "[data-testid=scan-use]").click()
        conf = app.wait("[data-testid=qr-login]", 15)
    screen.hide_all()
    return conf


@scenario("f", needs=("d",))
def test_f_qr_login(e2e):
    """QR login: scan the sign-in page's QR, the app shows its origin, approve → the browser
    redeems a session for the user, once (a second redeem is 409); a second session denied
    from the app is denied on the server."""
    app, server, screen = e2e.app, e2e.server, e2e.screen
    app.ensure_unlocked()
    b = Browser(server)
    sess = b.qr_session()
    lsi, link = sess["lsi"], sess["link"]
    assert link.startswith("tessera://qr-login?"), f"a QR-login session's link: {link}"
    assert b.qr_state(lsi) == "pending", "a new QR-login session is not pending"
    conf = scan_qr_login(app, screen, link, "qr-login")
    text = conf.text or ""
    assert server.url in text or f"127.0.0.1:{server.port}" in text, \
        f"the QR-login confirmation does not show the origin {server.url}: {text!r}"
    screen.shot("qr-login", app.driver)
    assert b.qr_state(lsi) == "pending", "the session was decided before the user confirmed"
    app.click("#qr-approve")
    result = app.wait_text("[data-testid=qr-result]", 20).text
    state = b.qr_state(lsi, wait=15)
    assert state == "approved", f"after #qr-approve the server's QR-login state is {state}"
    st, v = b.qr_redeem(lsi)
    assert st == 200, f"redeeming the approved session: {st} {v}"
    assert USER in json.dumps(v), f"the redeemed session is not {USER}'s: {v}"
    st2, _ = b.qr_redeem(lsi)
    assert st2 == 409, f"a second redeem of the same session answered {st2}, not 409"
    print(f"    QR login approved; app says {result!r}; browser signed in as {USER}")

    b2 = Browser(server)
    sess2 = b2.qr_session()
    scan_qr_login(app, screen, sess2["link"], "qr-login-2")
    app.click("#qr-deny")
    app.wait_text("[data-testid=qr-result]", 20)
    state = b2.qr_state(sess2["lsi"], wait=10)
    assert state == "denied", f"after #qr-deny the server's QR-login state is {state}"


@scenario("g", needs=("b", "c"))
def test_g_lock_hides(e2e):
    """Locked with accounts present: no account row, no code and no secret in the page;
    unlocking shows them again."""
    app = e2e.app
    app.ensure_unlocked()
    app.click("#nav-accounts")
    app.wait(account_css(URI_ISSUER), 15)
    app.click("#lock-now")
    app.wait("#passphrase", 15)
    time.sleep(0.5)
    assert not app.exists("[data-testid=account]"), "account rows are shown while locked"
    assert not app.exists("[data-testid=code]"), "codes are shown while locked"
    src = app.driver.page_source
    codes = oath_codes(URI_SECRET) + oath_codes(QR_SECRET, "sha256", 8)
    leaked = [c for c in codes if c in src]
    assert not leaked, f"the locked page source contains current codes {leaked}"
    for secret in (URI_SECRET, QR_SECRET):
        assert secret not in src, "the locked page source contains a secret"
    e2e.screen.shot("lock-screen", app.driver)
    app.type("#passphrase", PASSPHRASE)
    app.click("#unlock")
    app.wait("#lock-now", 60)
    app.click("#nav-accounts")
    app.wait(account_css(URI_ISSUER), 15)
    check_code(app, URI_ISSUER, URI_SECRET)


def test_h_japanese(app_ja):
    """The OS locale picks the language: an app started with LANG=ja_JP.UTF-8 shows its first
    screen in Japanese, with <html lang="ja"> and no English word left."""
    d = app_ja.launch()
    WebDriverWait(d, 20, poll_frequency=0.2).until(
        lambda d: d.execute_script("return document.documentElement.lang") == "ja",
        "<html lang> did not become ja")
    heading = d.find_element(By.CSS_SELECTOR, "h1").text
    assert heading == "Tessera へようこそ", f"the first-run heading reads {heading!r}"
    text = d.execute_script("return document.body.innerText")
    # Product names the Japanese text keeps: the app's and the OS keyring's.
    english = set(re.findall(r"[A-Za-z]{3,}", text)) - {"Tessera", "Secret", "Service"}
    assert not english, f"English left on the Japanese first-run screen: {sorted(english)}"

