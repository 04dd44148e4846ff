#!/usr/bin/python3
"""A real SMTP server for Tessera's email tests (Debian's python3-aiosmtpd).

Usage: smtp_sink.py PORT MAILDIR [--user U --password P] [--cert CERT --key KEY]

Listens on 127.0.0.1:PORT, stores each message it accepts as MAILDIR/NNNN.eml (raw RFC 5322
bytes, written to a temporary name and renamed, so a reader never sees half a message), and
prints "READY" once it listens. With --user/--password it requires AUTH (PLAIN or LOGIN); with
--cert/--key it offers STARTTLS and requires it before AUTH and MAIL.
"""
import argparse
import asyncio
import itertools
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        tmp = os.path.join(self.maildir, f".{n:04d}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.maildir, f"{n:04d}.eml"))
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("maildir")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--cert")
    p.add_argument("--key")
    a = p.parse_args()
    os.makedirs(a.maildir, exist_ok=True)

    kwargs = {}
    if a.user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == a.user
                  and auth_data.password.decode() == a.password)
            return AuthResult(success=ok)
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=bool(a.cert))
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        kwargs.update(tls_context=ctx, require_starttls=True)
    c = Controller(Sink(a.maildir), hostname="127.0.0.1", port=a.port, **kwargs)
    c.start()
    print("READY", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    # Also stop when the parent closes our stdin (a test that died).
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    loop.run_until_complete(stop.wait())
    c.stop()


if __name__ == "__main__":
    main()
