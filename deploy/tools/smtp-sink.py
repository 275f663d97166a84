#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) that keeps every message it accepts.

Used by the end-to-end tests and by `deploy/local.sh up` as the demo mail catcher. Each
accepted message is appended to OUT as one JSON line: envelope sender and recipients,
Message-ID, decoded Subject and body, Content-Language. Recipients at `bounce.invalid` are
refused with 550 (a permanent failure); the sink never sees them. With --starttls-cert and
--starttls-key it offers STARTTLS and refuses mail sent without it.

    smtp-sink.py --port 18025 --out /tmp/mail.jsonl
"""
import argparse
import email
import email.policy
import json
import signal
import ssl
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@bounce.invalid"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "messageId": str(message.get("Message-ID", "")).strip("<>"),
            "subject": str(message.get("Subject", "")),
            "body": body.get_content() if body is not None else "",
            "language": str(message.get("Content-Language", "")),
            "delivery": str(message.get("X-GridLoop-Delivery", "")),
            "request": str(message.get("X-GridLoop-Request", "")),
            "tls": session.ssl is not None,
        }
        with open(self.out, "a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--out", required=True)
    parser.add_argument("--starttls-cert", help="PEM certificate: offer and require STARTTLS")
    parser.add_argument("--starttls-key", help="PEM private key of --starttls-cert")
    args = parser.parse_args()
    stop = threading.Event()
    # Installed explicitly: a parent may have left SIGTERM ignored or blocked.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    options = {}
    if args.starttls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.starttls_cert, args.starttls_key)
        options = {"tls_context": context, "require_starttls": True}
    controller = Controller(Sink(args.out), hostname=args.host, port=args.port, **options)
    controller.start()
    print(f"smtp sink on {args.host}:{args.port}, writing {args.out}", flush=True)
    while not stop.wait(0.2):
        pass
    controller.stop()


if __name__ == "__main__":
    main()
