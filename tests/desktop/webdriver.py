"""A minimal W3C WebDriver client over urllib (standard library only).

Enough for Tessera's real-window tests against tauri-driver (which forwards to WebKitWebDriver
on Linux): a session that launches the app, CSS element lookup, click, keys, text, attributes,
scripts, window handles, screenshots, and wait-until helpers. Every HTTP call and every wait
has a timeout.
"""

import base64
import http.client
import json
import time
import urllib.error
import urllib.request

# The W3C element reference key.
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(Exception):
    """An error answered by the remote end: `error` is the W3C code ("no such element", …)."""

    def __init__(self, error, message, status=None):
        super().__init__(f"{error}: {message}")
        self.error = error
        self.message = message
        self.status = status


# Errors no amount of waiting fixes.
FATAL = ("no such window", "invalid session id", "session not created")


class Timeout(AssertionError):
    """A wait ran out of time (an assertion failure: what was waited for did not happen)."""


def http_json(method, url, body=None, timeout=30.0, headers=None):
    """One JSON request: returns (status, parsed body or None, response headers)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json; charset=utf-8")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status, hdrs = resp.status, resp.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        status, hdrs = e.code, e.headers
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        value = raw.decode(errors="replace")
    return status, value, hdrs


def driver_call(method, url, body=None, timeout=30.0, attempts=3):
    """`http_json` for WebDriver commands, retried when the connection drops before an answer.

    tauri-driver forwards each command over a pooled keep-alive connection to WebKitWebDriver;
    when WebKitWebDriver has closed that connection, tauri-driver fails the request ("client
    error (SendRequest)", connection reset) and closes ours without a response. The command
    never reached WebKitWebDriver, so sending it again is safe.
    """
    for attempt in range(attempts):
        try:
            return http_json(method, url, body, timeout=timeout)
        except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError,
                urllib.error.URLError) as e:
            if isinstance(e, urllib.error.URLError) and not isinstance(
                    e.reason, (ConnectionResetError, BrokenPipeError)):
                raise
            if attempt == attempts - 1:
                raise
            time.sleep(0.3)
    raise AssertionError("unreachable")


def wait_until(fn, timeout=10.0, interval=0.2, what="condition"):
    """Calls `fn` until it returns something truthy (returned) or `timeout` passes (raises
    Timeout naming `what` and the last exception, if any)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except WebDriverError as e:
            if e.error in FATAL:
                raise
            last = e  # not there yet (no such element, stale element, …)
        except OSError as e:  # a transient connection error
            last = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last})" if last else ""
            raise Timeout(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


class Element:
    def __init__(self, session, eid, css=""):
        self.s = session
        self.id = eid
        self.css = css

    def _p(self, suffix=""):
        return f"/element/{self.id}{suffix}"

    def click(self):
        self.s.cmd("POST", self._p("/click"), {})
        return self

    def clear(self):
        self.s.cmd("POST", self._p("/clear"), {})
        return self

    def send_keys(self, text):
        # `text` is W3C; `value` (a list of characters) is the legacy form some drivers want.
        self.s.cmd("POST", self._p("/value"), {"text": text, "value": list(text)})
        return self

    @property
    def text(self):
        return self.s.cmd("GET", self._p("/text"))

    def attribute(self, name):
        return self.s.cmd("GET", self._p(f"/attribute/{name}"))

    def prop(self, name):
        return self.s.cmd("GET", self._p(f"/property/{name}"))

    def displayed(self):
        # Not in the W3C spec proper but every driver implements it; fall back to a script.
        try:
            return bool(self.s.cmd("GET", self._p("/displayed")))
        except WebDriverError:
            return bool(self.s.script(
                "const e = arguments[0]; return !!(e.offsetWidth || e.offsetHeight || "
                "e.getClientRects().length);", self.ref()))

    def enabled(self):
        return bool(self.s.cmd("GET", self._p("/enabled")))

    def find(self, css):
        v = self.s.cmd("POST", self._p("/element"), {"using": "css selector", "value": css})
        return Element(self.s, _eid(v), css)

    def find_all(self, css):
        v = self.s.cmd("POST", self._p("/elements"), {"using": "css selector", "value": css})
        return [Element(self.s, _eid(x), css) for x in v]

    def ref(self):
        return {ELEMENT_KEY: self.id}

    def __repr__(self):
        return f"<Element {self.css or self.id}>"


def _eid(v):
    if isinstance(v, dict):
        if ELEMENT_KEY in v:
            return v[ELEMENT_KEY]
        if "ELEMENT" in v:  # legacy JSON wire protocol
            return v["ELEMENT"]
    raise WebDriverError("invalid response", f"not an element reference: {v!r}")


class Session:
    """A WebDriver session. `base` is the driver's URL, e.g. http://127.0.0.1:4444."""

    def __init__(self, base, capabilities, timeout=60.0):
        self.base = base.rstrip("/")
        self.timeout = 30.0
        status, v, _ = driver_call("POST", f"{self.base}/session",
                                   {"capabilities": capabilities}, timeout=timeout)
        value = (v or {}).get("value", {}) if isinstance(v, dict) else {}
        if status != 200 or "sessionId" not in value:
            err = value.get("error", "session not created") if isinstance(value, dict) else ""
            msg = value.get("message", repr(v)) if isinstance(value, dict) else repr(v)
            raise WebDriverError(err, msg, status)
        self.id = value["sessionId"]
        self.capabilities = value.get("capabilities", {})

    # --- plumbing -------------------------------------------------------------------------
    def cmd(self, method, path, body=None, timeout=None):
        url = f"{self.base}/session/{self.id}{path}"
        if method == "POST" and body is None:
            body = {}
        status, v, _ = driver_call(method, url, body, timeout=timeout or self.timeout)
        value = v.get("value") if isinstance(v, dict) else v
        if status >= 400 or (isinstance(value, dict) and "error" in value and status != 200):
            if isinstance(value, dict):
                raise WebDriverError(value.get("error", "unknown error"),
                                     value.get("message", ""), status)
            raise WebDriverError("unknown error", repr(v), status)
        return value

    def quit(self):
        try:
            self.cmd("DELETE", "", timeout=15)
        except (WebDriverError, OSError):
            pass

    # --- elements -------------------------------------------------------------------------
    def find(self, css):
        v = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        return Element(self, _eid(v), css)

    def find_all(self, css):
        v = self.cmd("POST", "/elements", {"using": "css selector", "value": css})
        return [Element(self, _eid(x), css) for x in v]

    def exists(self, css):
        return len(self.find_all(css)) > 0

    def wait(self, css, timeout=10.0, visible=True):
        """The first element matching `css` (displayed, unless visible=False)."""
        def probe():
            for e in self.find_all(css):
                if not visible or e.displayed():
                    return e
            return None
        return wait_until(probe, timeout, what=f"element {css}")

    def wait_gone(self, css, timeout=10.0):
        return wait_until(lambda: not any(e.displayed() for e in self.find_all(css)) or "gone",
                          timeout, what=f"{css} to disappear")

    def wait_text(self, css, timeout=10.0, pred=lambda t: bool(t.strip())):
        """The element matching `css` once its text satisfies `pred` (default: non-empty)."""
        def probe():
            for e in self.find_all(css):
                t = e.text or ""
                if pred(t):
                    return e
            return None
        return wait_until(probe, timeout, what=f"text of {css}")

    def click(self, css, timeout=10.0):
        e = self.wait(css, timeout)
        e.click()
        return e

    def type(self, css, text, timeout=10.0, clear=True):
        e = self.wait(css, timeout)
        if clear:
            try:
                e.clear()
            except WebDriverError:
                pass
        e.send_keys(text)
        return e

    # --- page -----------------------------------------------------------------------------
    def script(self, js, *args):
        return self.cmd("POST", "/execute/sync", {"script": js, "args": list(args)})

    def script_async(self, js, *args):
        return self.cmd("POST", "/execute/async", {"script": js, "args": list(args)})

    @property
    def source(self):
        return self.cmd("GET", "/source")

    @property
    def title(self):
        return self.cmd("GET", "/title")

    @property
    def url(self):
        return self.cmd("GET", "/url")

    # --- windows --------------------------------------------------------------------------
    @property
    def window(self):
        return self.cmd("GET", "/window")

    @property
    def windows(self):
        return self.cmd("GET", "/window/handles")

    def switch_to(self, handle):
        self.cmd("POST", "/window", {"handle": handle})

    def alive(self):
        try:
            self.cmd("GET", "/window", timeout=10)
            return True
        except (WebDriverError, OSError):
            return False

    # --- screenshots ----------------------------------------------------------------------
    def screenshot(self, path):
        """Saves the current window's screenshot (PNG) to `path`; True on success."""
        png = base64.b64decode(self.cmd("GET", "/screenshot", timeout=8))
        if not png.startswith(b"\x89PNG"):
            return False
        with open(path, "wb") as f:
            f.write(png)
        return True


def tauri_capabilities(application, args=None):
    """Capabilities for tauri-driver: it turns `tauri:options` into WebKitWebDriver's
    `webkitgtk:browserOptions` (binary + args) and the driver launches the app."""
    return {"alwaysMatch": {"tauri:options": {"application": str(application),
                                              "args": list(args or [])}}}


def driver_ready(base, timeout=20.0):
    def probe():
        status, v, _ = http_json("GET", f"{base}/status", timeout=3)
        return status == 200
    return wait_until(probe, timeout, interval=0.2, what=f"WebDriver at {base}")
