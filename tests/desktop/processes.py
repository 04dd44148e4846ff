"""The processes the desktop tests start: each in its own process group, all stopped at the end."""

import atexit
import os
import signal
import socket
import subprocess


class Processes:
    """Every process started through `start`; `stop_all` (also run at interpreter exit) stops
    each group, then kills what is left of it (WebKit's helper processes outlive their leader)."""

    def __init__(self):
        self.procs = []
        atexit.register(self.stop_all)

    def start(self, name, argv, env=None, logfile=None, stdout=None):
        if stdout is None:
            stdout = open(logfile, "ab") if logfile else subprocess.DEVNULL
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, timeout=20):
    """`argv`'s standard output; raises when it fails or takes longer than `timeout` seconds."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=True).stdout
