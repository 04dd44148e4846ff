"""Fixtures of the desktop app's real-window tests (test_desktop.py).

Session-scoped: the temporary work dir, the processes (all stopped at the end), a real
tessera-server, tauri-driver with the app, and the X screen. Each test runs under pytest-timeout
(150 s, less when the suite's budget — TESSERA_E2E_TIMEOUT, 540 s — has less left); a test
that would start with under 10 s of it left fails without running.

A missing prerequisite (a display, a tool, a binary) skips every test saying why, except with
CI=true (or 1), where it fails them: in CI nothing passes by not running.

Environment:
  TESSERA_E2E_APP_BIN, TESSERA_E2E_SERVER_BIN  binaries (default: $CARGO_TARGET_DIR/debug/…)
                       (not TESSERA_SERVER_*: the server reads those as its settings)
  TESSERA_E2E_SHOTS    directory for screenshots (default: the work dir's screenshots/)
  TESSERA_E2E_KEEP=1   keep the work dir (logs, vault, server db); it is kept after a failure
  TESSERA_E2E_TIMEOUT  the suite's budget in seconds (default 540)
"""

import os
import shutil
import signal
import tempfile
import time

import pytest
from selenium.common.exceptions import WebDriverException

from app import App
from notes import NOTES
from processes import Processes
from screen import Screen
from tessera_server import Server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/tessera-ci-target")
TARGET = os.path.join(ROOT, TARGET)  # a relative CARGO_TARGET_DIR is relative to the checkout
APP_BIN = os.environ.get("TESSERA_E2E_APP_BIN") or os.path.join(TARGET, "debug", "tessera-desktop")
SERVER_BIN = os.environ.get("TESSERA_E2E_SERVER_BIN") or os.path.join(TARGET, "debug", "tessera-server")
TOOLS = ("tauri-driver", "WebKitWebDriver", "qrencode", "zbarimg", "oathtool", "display",
         "import", "convert")
IN_CI = os.environ.get("CI") in ("true", "1")

TEST_TIMEOUT = 150
SUITE_BUDGET = int(os.environ.get("TESSERA_E2E_TIMEOUT", "540"))
_suite_deadline = None

def pytest_configure(config):
    global _suite_deadline
    _suite_deadline = time.monotonic() + SUITE_BUDGET
    # `timeout` (scripts/desktop-e2e.sh) and Ctrl-C alike: stop the session the way pytest does
    # on Ctrl-C, so that the fixtures' teardown stops every process.
    def interrupt(_signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item):
    """Each test's limit: 150 s, or what is left of the suite's budget (read by pytest-timeout,
    whose hook runs inside this one)."""
    left = _suite_deadline - time.monotonic()
    item.add_marker(pytest.mark.timeout(max(5, min(TEST_TIMEOUT, int(left)))), append=False)
    item.budget_left = left
    yield


@pytest.fixture(autouse=True)
def suite_budget(request):
    if request.node.budget_left < 10:
        pytest.fail(f"not run: the suite's {SUITE_BUDGET} s are used up", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """After a failed test: its screenshot (fail-<test>.png) and page source in the work dir."""
    outcome = yield
    rep = outcome.get_result()
    e2e = item.funcargs.get("e2e")
    if rep.when != "call" or not rep.failed or e2e is None:
        return
    name = f"fail-{item.name}"
    try:
        e2e.screen.hide_all()
        if e2e.app.alive():
            e2e.screen.shot(name, e2e.app.driver)
            path = os.path.join(e2e.work, f"{name}.html")
            with open(path, "w", encoding="utf-8") as f:
                f.write(e2e.app.driver.page_source or "")
            print(f"    page source saved to {path}")
        else:
            e2e.screen.shot(name)
    except (WebDriverException, OSError) as e:
        print(f"    (could not record the failure: {e})")


def pytest_terminal_summary(terminalreporter):
    if NOTES:
        terminalreporter.section("notes")
        for n in NOTES:
            terminalreporter.line(f"- {n}")


def missing_prerequisites():
    missing = []
    if not os.environ.get("DISPLAY"):
        missing.append("$DISPLAY (scripts/desktop-e2e.sh runs the tests on a private Xvfb)")
    missing += [f"`{t}` (scripts/install-deps.sh installs it)" for t in TOOLS if not shutil.which(t)]
    missing += [f"{b} (cargo build -p tessera-desktop -p tessera-server)"
                for b in (APP_BIN, SERVER_BIN) if not os.access(b, os.X_OK)]
    return missing


class E2E:
    """What the scenarios share: the work dir, the server, the app, the screen, and which
    scenarios have passed or failed so far."""

    def __init__(self, work, server, app, screen):
        self.work, self.server, self.app, self.screen = work, server, app, screen
        self.passed, self.failed = set(), set()
        self.answered = set()  # approval requests (data-tx) already answered
        self.approval_mode = None  # where approval cards show up: "window" or "main"


@pytest.fixture(scope="session")
def procs():
    p = Processes()
    yield p
    p.stop_all()


@pytest.fixture(scope="session")
def work(request):
    missing = missing_prerequisites()
    if missing:
        why = "; ".join(missing)
        if IN_CI:
            pytest.fail(f"missing under CI={os.environ['CI']}: {why}", pytrace=False)
        pytest.skip(f"missing {why}")
    path = tempfile.mkdtemp(prefix="tessera-e2e.")
    print(f"\nwork dir {path} (logs: app.log, server.log)")
    yield path
    keep = (os.environ.get("TESSERA_E2E_KEEP") == "1" or request.session.testsfailed
            or not os.environ.get("TESSERA_E2E_SHOTS"))
    if keep:
        print(f"\nwork dir kept: {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server(work, procs):
    s = Server(SERVER_BIN, work, procs)
    print(f"tessera-server at {s.url}")
    return s


@pytest.fixture(scope="session")
def app(work, procs):
    a = App(APP_BIN, work, procs)
    yield a
    a.quit()


@pytest.fixture
def app_ja(work, procs, app):
    """A second app, on its own vault, whose OS locale is Japanese (only `LANG`, as a Japanese
    desktop session sets it; the locale need not be installed in the C library). The shared
    app is quit first: the app is single-instance, so a second launch would only focus it."""
    app.quit()
    a = App(APP_BIN, work, procs, name="app-ja",
            extra_env={"LANG": "ja_JP.UTF-8", "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None})
    yield a
    a.quit()


@pytest.fixture(scope="session")
def screen(work, procs):
    shots = os.environ.get("TESSERA_E2E_SHOTS") or os.path.join(work, "screenshots")
    os.makedirs(shots, exist_ok=True)
    print(f"screenshots in {shots}")
    return Screen(work, shots, procs,
                  webview_shots=os.environ.get("WEBKIT_DISABLE_DMABUF_RENDERER") == "0")


@pytest.fixture(scope="session")
def suite(work, server, app, screen):
    return E2E(work, server, app, screen)


@pytest.fixture
def e2e(suite):
    """The shared state, for one test: the QR codes it put on the screen are taken down after
    it, whatever happened."""
    yield suite
    suite.screen.hide_all()
