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

from app import TauriDriver

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
    totals, since_exec, mems, rows = [], [], [], 0
    try:
        for run in range(RUNS):
            t0 = time.perf_counter()
            s = TauriDriver(f"http://127.0.0.1:{PORT}", APP)
            # A keyring vault opens at launch: no click between start and the first code.
            while not s.execute_script("const c = document.querySelector('[data-testid=code]');"
                                       "return !!c && /\\d{3}/.test(c.textContent)"):
                time.sleep(0.005)
            t1 = time.perf_counter()
            now_ms = s.execute_script("return Date.now()")
            pid = app_pid()
            totals.append(t1 - t0)
            if pid:
                since_exec.append(now_ms / 1000.0 - started_at(pid))
            rows = s.execute_script("return document.querySelectorAll('[data-testid=account]').length")
            if run == RUNS - 1 and pid:
                time.sleep(2.0)  # settle: the list drawn, a countdown tick or two
                mems.append((mem_kib(tree(pid)), [(p, comm(p), mem_kib([p])) for p in tree(pid)]))
            s.quit()
            time.sleep(0.5)
    finally:
        driver.kill()
    ms = lambda xs: f"median {sorted(xs)[len(xs) // 2] * 1000:.0f} ms (min {min(xs) * 1000:.0f}, max {max(xs) * 1000:.0f})"
    print(f"runs: {RUNS}, accounts: 1000 (keyring vault), rows in the DOM: {rows}")
    print(f"app process start → first code on screen: {ms(since_exec)}")
    print(f"WebDriver new session → first code seen by the driver: {ms(totals)}")
    (rss, pss), per = mems[-1]
    print(f"memory with 1,000 accounts on screen: RSS {rss / 1024:.0f} MiB summed over the app and its "
          f"WebKit processes, PSS {pss / 1024:.0f} MiB (shared pages counted once)")
    for p, name, (r, ps) in per:
        print(f"  {name}: RSS {r / 1024:.0f} MiB, PSS {ps / 1024:.0f} MiB")


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def started_at(pid):
    """The process's start, in Unix seconds: its age from /proc (uptime − start ticks), which
    is exact to the clock tick, unlike /proc/stat's whole-second boot time."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[19])  # field 22 (starttime), counted after the ")" of comm
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


if __name__ == "__main__":
    main()
