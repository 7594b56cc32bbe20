"""A real SMTP server for the mail backend tests: Debian's aiosmtpd (python3-aiosmtpd 1.4.3).

Each accepted message is written atomically to OUT as NNNNNN.json (arrival order, counting on
from the files already there, so a restarted server appends): the envelope, whether it came over
TLS, the login and SASL mechanism it was sent with, and the DATA bytes exactly as received (dot-stuffing removed),
base64-encoded. OUT/ready is written once the server accepts connections and removed on exit.

Modes: starttls (STARTTLS offered and required before anything else), tls (implicit TLS, as on
port 465), plain (no TLS at all). With --user/--password, authentication (PLAIN and LOGIN) is
required before MAIL. --defer-first N answers the first N transactions with
`451 4.3.0 Try again later` (at MAIL, or at the end of DATA with --defer-at data), and
--reject-rcpt ADDRESS answers RCPT TO for that address with `550 5.1.1 User unknown`.
Stops cleanly on SIGTERM or SIGINT.
"""

import argparse
import base64
import json
import os
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, out, defer_first, defer_at, reject):
        self.out = out
        self.defer_left = defer_first
        self.defer_at = defer_at
        self.reject = {address.lower() for address in reject}
        self.lock = threading.Lock()
        self.count = len([n for n in os.listdir(out) if n.endswith(".json")])

    def _defer_now(self, stage):
        if self.defer_at != stage or self.defer_left <= 0:
            return False
        self.defer_left -= 1
        return True

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self._defer_now("mail"):
            return "451 4.3.0 Try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self._defer_now("data"):
            return "451 4.3.0 Try again later"
        signed_in = session.auth_data if isinstance(session.auth_data, dict) else {}
        record = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": signed_in.get("login"),
            "mechanism": signed_in.get("mechanism"),
            "data": base64.b64encode(envelope.original_content).decode("ascii"),
        }
        with self.lock:
            self.count += 1
            number = self.count
            final = os.path.join(self.out, f"{number:06d}.json")
            temporary = os.path.join(self.out, f".{number:06d}.tmp")
            with open(temporary, "w", encoding="utf-8") as f:
                json.dump(record, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, final)
        return f"250 2.0.0 OK: queued as {number:06d}"


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd answers a failure with `535 5.7.8 Authentication credentials invalid`.
        signed_in = {"login": user, "mechanism": mechanism} if ok else None
        return AuthResult(success=ok, handled=False, auth_data=signed_in)

    return authenticate


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["starttls", "tls", "plain"], default="starttls")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--defer-first", type=int, default=0)
    parser.add_argument("--defer-at", choices=["mail", "data"], default="mail")
    parser.add_argument("--reject-rcpt", action="append", default=[])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    ready = os.path.join(args.out, "ready")
    if os.path.exists(ready):
        os.remove(ready)

    context = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    smtp = {"auth_require_tls": args.mode != "tls"}
    if args.user is not None:
        smtp["auth_required"] = True
        smtp["authenticator"] = authenticator_for(args.user, args.password or "")
    if args.mode == "starttls":
        smtp["tls_context"] = context
        smtp["require_starttls"] = True
    handler = Handler(args.out, args.defer_first, args.defer_at, args.reject_rcpt)
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=args.port,
        server_hostname="mx.test",
        ssl_context=context if args.mode == "tls" else None,
        **smtp,
    )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller.start()
    with open(ready, "w", encoding="utf-8") as f:
        f.write(f"{args.port}\n")
    print(f"ready on 127.0.0.1:{args.port} ({args.mode})", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        controller.stop()
        if os.path.exists(ready):
            os.remove(ready)


if __name__ == "__main__":
    main()
