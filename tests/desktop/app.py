"""tessera-desktop (the real binary) launched by tauri-driver (→ WebKitWebDriver) and driven
through Selenium's WebDriver client, with a private vault, config and policy location."""

import os
import time
import urllib.request

import urllib3
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException, StaleElementReferenceException, TimeoutException, WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.wait import WebDriverWait

from processes import free_port

PASSPHRASE = "correct horse battery staple 42"

# Elements come and go as the Svelte UI re-renders: a wait retries through these.
NOT_YET = (NoSuchElementException, StaleElementReferenceException)

# The first screen the app draws has one of these (docs/desktop-contract.md).
FIRST_SCREEN = "#new-passphrase, #passphrase, #lock-now, #create-keyring"

# Every WebDriver command answers within this many seconds (creating the session included).
RemoteConnection.set_timeout(90)


class TauriDriver(webdriver.Remote):
    """A WebDriver session through tauri-driver, which starts `application`.

    tauri-driver forwards each command over a pooled keep-alive connection to WebKitWebDriver;
    when WebKitWebDriver has closed that connection, tauri-driver fails the request and closes
    ours without an answer. The command never reached WebKitWebDriver, so it is sent again
    (urllib3 does that itself only for idempotent methods, and WebDriver's are mostly POSTs).
    """

    def __init__(self, url, application):
        options = ArgOptions()
        options.set_capability("browserName", "wry")
        options.set_capability("tauri:options", {"application": application, "args": []})
        super().__init__(command_executor=url, options=options)

    def execute(self, driver_command, params=None):
        for attempt in range(3):
            try:
                return super().execute(driver_command, params)
            except urllib3.exceptions.ProtocolError:
                if attempt == 2:
                    raise
                time.sleep(0.3)


class App:
    """tauri-driver on its own port pair; `launch` starts a WebDriver session, which starts
    the app. `driver` is the current session (None before the first launch)."""

    def __init__(self, binary, work, procs, name="app", extra_env=None):
        """`name` names its directory and log under `work`; `extra_env` sets variables in the
        app's environment (a value of None removes one)."""
        self.binary = binary
        self.dir = os.path.join(work, name)
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
        for k, v in (extra_env or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        self.logfile = os.path.join(work, f"{name}.log")
        port, native_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{port}"
        # tauri-driver passes its environment on to WebKitWebDriver and the app.
        procs.start("tauri-driver", ["tauri-driver", "--port", str(port),
                                     "--native-port", str(native_port)],
                    env=env, logfile=self.logfile)
        WebDriverWait(None, 30, poll_frequency=0.2, ignored_exceptions=(OSError,)).until(
            lambda _: urllib.request.urlopen(f"{self.url}/status", timeout=3).status == 200,
            f"tauri-driver did not answer GET {self.url}/status")
        self.driver = None
        self.main = None

    # --- the session ------------------------------------------------------------------------
    def launch(self):
        """A new session (quitting the current one): the app starts and draws its first screen."""
        self.quit()
        self.driver = TauriDriver(self.url, self.binary)
        self.main = self.driver.current_window_handle
        try:
            WebDriverWait(self.driver, 45, poll_frequency=0.2).until(
                lambda d: d.execute_script(f"return !!document.querySelector('{FIRST_SCREEN}')"))
        except TimeoutException:
            raise AssertionError(f"the app drew none of {FIRST_SCREEN} within 45 s; "
                                 f"{self.diagnose()}") from None
        return self.driver

    def quit(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except (WebDriverException, OSError):
                pass
            self.driver = None
            time.sleep(1.0)

    def alive(self):
        try:
            return self.driver is not None and bool(self.driver.current_window_handle)
        except (WebDriverException, OSError):
            return False

    def diagnose(self):
        """What the backend answers to `status` (why a UI stays on its boot screen)."""
        try:
            r = self.driver.execute_async_script(
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
            body = self.driver.execute_script(
                "return document.body ? document.body.innerHTML.slice(0, 300) : ''")
            if "Could not connect to localhost" in (body or ""):
                return ("the binary is a dev build: it loads the devUrl instead of the embedded "
                        "ui/dist (build it with --features tauri/custom-protocol)")
            return f"backend: {r}; page: {body!r}"
        except (WebDriverException, OSError) as e:
            return f"(diagnosis failed: {e})"

    def ensure_unlocked(self):
        """The session with the vault open in the main window (relaunching and unlocking when
        the app is gone)."""
        if not self.alive():
            print("    (app not running: launching it)")
            self.launch()
        d = self.driver
        try:
            if self.main in d.window_handles:
                d.switch_to.window(self.main)
        except WebDriverException:
            pass
        if self.exists("#lock-now"):
            return d
        if self.exists("#passphrase"):
            self.type("#passphrase", PASSPHRASE)
            self.click("#unlock")
            self.wait("#lock-now", 30)
            return d
        raise AssertionError("the app shows neither its lock screen (#passphrase) nor its "
                             "unlocked header (#lock-now)")

    # --- elements ---------------------------------------------------------------------------
    def until(self, condition, timeout, message):
        return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=NOT_YET).until(condition, message)

    def exists(self, css):
        return bool(self.driver.find_elements(By.CSS_SELECTOR, css))

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, css, timeout=10):
        """The first displayed element matching `css`."""
        return self.until(EC.visibility_of_any_elements_located((By.CSS_SELECTOR, css)),
                          timeout, f"no {css} displayed within {timeout} s")[0]

    def wait_gone(self, css, timeout=10):
        self.until(lambda d: not any(e.is_displayed() for e in d.find_elements(By.CSS_SELECTOR, css)),
                   timeout, f"{css} still displayed after {timeout} s")

    def wait_text(self, css, timeout=10, pred=lambda t: bool(t.strip())):
        """The first element matching `css` whose text satisfies `pred` (default: not blank)."""
        return self.until(
            lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css) if pred(e.text or "")),
                           False),
            timeout, f"no {css} with the expected text within {timeout} s")

    def click(self, css, timeout=10):
        e = self.wait(css, timeout)
        e.click()
        return e

    def type(self, css, text, timeout=10):
        e = self.wait(css, timeout)
        try:
            e.clear()
        except WebDriverException:
            pass
        e.send_keys(text)
        return e
