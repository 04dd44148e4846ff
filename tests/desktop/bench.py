#!/usr/bin/env python3
"""Desktop benchmarks on the real window (figures go to docs/benchmarks.md):

- cold start: launch → the lock screen is drawn; unlock (keyring vault) → the first code is on
  screen; and the two together, over several launches;
- resident memory with 1,000 accounts: the app and its WebKit processes (RSS summed, and PSS,
  which counts shared pages once), with the list on screen.

Run by scripts/bench-desktop.sh inside scripts/with-session.sh (Xvfb + gnome-keyring).
Usage: bench.py APP_BINARY TESSERA_CLI [RUNS]
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import Session  # noqa: E402

APP, CLI = sys.argv[1], sys.argv[2]
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
PORT = 4466


def accounts_file(path, n):
    with open(path, "w") as f:
        for i in range(n):
            secret = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(i * 7 + j * 3) % 32] for j in range(32))
            f.write(f"otpauth://totp/Issuer{i}:user{i}@example.com?secret={secret}&issuer=Issuer{i}\n")


def tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def mem_kib(pids):
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def app_pid():
    out = subprocess.run(["pgrep", "-n", "-f", APP], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def main():
    work = tempfile.mkdtemp(prefix="tessera-bench-")
    env = dict(os.environ, TESSERA_VAULT=f"{work}/vault.sqlite3", TESSERA_CONFIG_DIR=f"{work}/config",
               TESSERA_POLICY=f"{work}/policy.json")
    # A keyring vault (the desktop default) with 1,000 accounts, made by the CLI.
    uris = f"{work}/accounts.txt"
    accounts_file(uris, 1000)
    subprocess.run([CLI, "import", uris], env=env, check=True, capture_output=True)
    os.environ.update(env)  # tauri-driver passes its environment to the app
    driver = subprocess.Popen([os.path.expanduser("~/.cargo/bin/tauri-driver"), "--port", str(PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    caps = {"alwaysMatch": {"tauri:options": {"application": APP}}}
    starts, unlocks, totals, mems = [], [], [], []
    try:
        for run in range(RUNS):
            t0 = time.perf_counter()
            s = Session(f"http://127.0.0.1:{PORT}", caps)
            while not s.script("return !!document.getElementById('unlock')"):
                time.sleep(0.005)
            t1 = time.perf_counter()
            s.click("#unlock")
            while not s.script("const c = document.querySelector('[data-testid=code]');"
                               "return !!c && /\\d{3}/.test(c.textContent)"):
                time.sleep(0.005)
            t2 = time.perf_counter()
            rows = s.script("return document.querySelectorAll('[data-testid=account]').length")
            starts.append(t1 - t0)
            unlocks.append(t2 - t1)
            totals.append(t2 - t0)
            if run == RUNS - 1:
                time.sleep(2.0)  # settle: the list drawn, a countdown tick or two
                pid = app_pid()
                mems.append(mem_kib(tree(pid)) if pid else (0, 0))
            s.quit()
            time.sleep(0.5)
    finally:
        driver.kill()
    ms = lambda xs: f"median {sorted(xs)[len(xs) // 2] * 1000:.0f} ms (min {min(xs) * 1000:.0f}, max {max(xs) * 1000:.0f})"
    print(f"runs: {RUNS}, accounts: 1000, rows in the DOM: {rows}")
    print(f"launch → lock screen drawn: {ms(starts)}")
    print(f"unlock (keyring) → first code on screen: {ms(unlocks)}")
    print(f"launch → first code (incl. the click): {ms(totals)}")
    rss, pss = mems[-1]
    print(f"memory with 1,000 accounts on screen: RSS {rss / 1024:.0f} MiB summed over the app and its WebKit processes, PSS {pss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
