"""The X display: QR codes shown with ImageMagick's `display` (the app scans real pixels), and
screenshots of the whole screen with `import -window root`."""

import os
import shutil
import subprocess
import time

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.wait import WebDriverWait

from processes import run


class Screen:
    def __init__(self, work, shots, procs, webview_shots=False):
        self.work = work
        self.shots = shots
        self.procs = procs
        self.shown = []
        # WebKitWebDriver's screenshot endpoint hangs while WebKit's DMA-BUF renderer is off
        # (the app's default on WebKitGTK 2.50), so the webview is only captured on request.
        self.webview_shots = webview_shots

    def show_qr(self, text, name, x=1200, y=200):
        png = os.path.join(self.work, f"{name}.png")
        run(["qrencode", "-o", png, "-s", "8", "-m", "4", text])
        decoded = run(["zbarimg", "--raw", "-q", png]).strip()
        assert decoded == text, f"zbarimg reads back what qrencode encoded for {name}"
        title = f"tessera-e2e-{name}"
        self.shown.append(self.procs.start(
            f"display {name}", ["display", "-geometry", f"+{x}+{y}", "-title", title, png]))
        if shutil.which("xwininfo"):
            WebDriverWait(None, 15, poll_frequency=0.2).until(
                lambda _: title in run(["xwininfo", "-root", "-tree"], timeout=10),
                f"the {name} QR window did not appear on the display")
        time.sleep(1.0)  # its first paint

    def hide_all(self):
        for p in self.shown:
            self.procs.stop(p, grace=2.0)
        if self.shown:
            time.sleep(0.5)
        self.shown = []

    def shot(self, name, driver=None):
        """The whole screen, trimmed to its windows, as `<shots>/<name>.png` (and the webview as
        `<name>-webview.png` when asked for). A failed screenshot never fails a test."""
        path = os.path.join(self.shots, f"{name}.png")
        try:
            run(["import", "-window", "root", path], timeout=30)
            run(["convert", path, "-fuzz", "2%", "-trim", "+repage", path], timeout=30)
            print(f"    screenshot {path}")
        except (subprocess.SubprocessError, OSError) as e:
            print(f"    (screenshot {name} failed: {e})")
        if driver is not None and self.webview_shots:
            try:
                driver.get_screenshot_as_file(os.path.join(self.shots, f"{name}-webview.png"))
            except WebDriverException as e:
                print(f"    (webview screenshot {name} failed: {e.msg})")
