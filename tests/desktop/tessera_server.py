"""tessera-server (the real binary) and a browser of its hosted sign-in (the flow API), over HTTP."""

import http.cookiejar
import json
import os
import queue
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium.webdriver.support.wait import WebDriverWait

from processes import free_port

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) tessera-desktop-e2e"


class Server:
    """tessera-server on a free loopback port with a temporary database; `admin` is the
    management token it prints at start (kept out of its log file)."""

    def __init__(self, binary, work, procs):
        self.dir = os.path.join(work, "server")
        os.makedirs(self.dir, mode=0o700)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logfile = os.path.join(work, "server.log")
        # The server reads every TESSERA_SERVER_* variable as a setting: pass only ours.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_SERVER_")}
        env.update({
            "TESSERA_SERVER_DEVICE__ORIGIN": self.url,
            "TESSERA_SERVER_DEVICE__PUSH_RATE_PER_MINUTE": "100",
            "TESSERA_SERVER_LOG": "info",
        })
        argv = [binary, "--listen", f"127.0.0.1:{self.port}",
                "--database", os.path.join(self.dir, "server.db")]
        self.proc = procs.start("tessera-server", argv, env=env, stdout=subprocess.PIPE)
        self.admin = self._admin_token(timeout=30)
        WebDriverWait(self, 15, poll_frequency=0.2, ignored_exceptions=(OSError,)).until(
            lambda s: s.call("GET", "/openapi.json")[0] == 200,
            f"tessera-server did not answer GET /openapi.json at {self.url}")

    def _admin_token(self, timeout):
        lines = queue.Queue()

        def pump():
            with open(self.logfile, "a", encoding="utf-8", errors="replace") as f:
                for raw in self.proc.stdout:
                    line = raw.decode(errors="replace")
                    lines.put(line)
                    f.write("tsm_… (the admin token, not logged)\n" if line.startswith("tsm_") else line)
                    f.flush()
        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                line = lines.get(timeout=1.0).strip()
            except queue.Empty:
                continue
            if line.startswith("tsm_"):
                return line
        raise RuntimeError(f"tessera-server did not print its admin token (see {self.logfile})")

    def call(self, method, path, body=None, token=None, opener=None, timeout=40):
        """One JSON request: (status, parsed body, or the text when it is not JSON)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("User-Agent", USER_AGENT)
        if data is not None:
            req.add_header("Content-Type", "application/json; charset=utf-8")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with (opener or urllib.request.build_opener()).open(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def admin_call(self, method, path, body=None):
        return self.call(method, path, body, token=self.admin)

    def create_user(self, name, password):
        st, v = self.admin_call("POST", "/api/v2/users", {"username": name, "password": password})
        assert st == 201, f"creating user {name}: {st} {v}"
        return v["user_id"]

    def offer(self, user):
        st, v = self.admin_call("POST", "/device/v1/enroll/offers", {"user": user})
        assert st == 201, f"enrollment offer for {user}: {st} {v}"
        assert v["link"].startswith("tessera://enroll?"), f"an offer's link is a tessera://enroll link: {v}"
        return v

    def devices(self, user):
        st, v = self.admin_call("GET", f"/api/v1/users/{urllib.parse.quote(user)}/devices")
        assert st == 200, f"listing {user}'s devices: {st} {v}"
        return v


class Browser:
    """What the sign-in page's JavaScript does, over HTTP, with its own cookies."""

    def __init__(self, server):
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method, path, body=None, timeout=40):
        return self.server.call(method, path, body, opener=self.opener, timeout=timeout)

    def password(self, user, pw):
        """Starts a hosted sign-in flow and passes its identifier and password steps."""
        st, v = self.call("POST", "/signin/api/flows", {})
        assert st == 201, f"/signin/api/flows: {st} {v}"
        self.flow = v["flow_id"]
        self.view = self._step("identifier", {"identifier": user})
        self.view = self._step("verify", {"method": "password", "password": pw})
        self.shown = None

    def _step(self, what, body):
        st, v = self.call("POST", f"/signin/api/flows/{self.flow}/{what}", body)
        assert st == 200, f"/signin/api/flows/…/{what}: {st} {v}"
        return v

    def push(self):
        """The number the sign-in page shows for its push: the one the flow sent on its own
        after the password (the device is the user's only factor), then a new one each time."""
        v = self.view
        if not (v.get("push") and v["push"]["state"] == "pending" and self.shown != v["push"]["number"]):
            v = self.view = self._step("choose", {"method": "push"})
        assert v["step"] == "verify" and v["method"] == "push", f"the flow is at its push: {v}"
        n = int(v["push"]["number"])
        assert 10 <= n <= 99, f"the number to type is two digits: {v}"
        self.shown = n
        return n

    def push_state(self, wait=0):
        """{"state": …} of the flow's push: `approved` once the flow is signed in."""
        st, v = self.call("GET", f"/signin/api/flows/{self.flow}/push?wait={wait}", timeout=wait + 15)
        assert st == 200, f"/signin/api/flows/…/push: {st} {v}"
        self.view = v
        if v["step"] == "done":
            return {"state": "approved", "username": v["user"]["username"]}
        return {"state": v["push"]["state"] if v.get("push") else "none", "view": v}

    def qr_session(self):
        st, v = self.call("POST", "/qr-login/sessions")
        assert st == 201, f"/qr-login/sessions: {st} {v}"
        return v

    def qr_state(self, lsi, wait=0):
        st, v = self.call("GET", f"/qr-login/sessions/{lsi}?wait={wait}", timeout=wait + 15)
        assert st == 200, f"QR-login session state: {st} {v}"
        return v["state"]

    def qr_redeem(self, lsi):
        return self.call("POST", f"/qr-login/sessions/{lsi}/redeem")
