#!/usr/bin/env python3
"""A real SMTP server for mimamori-messaging's tests.

Listens on 127.0.0.1 on a free port and prints `LISTENING <port> <backend>` once ready. Each
message accepted is written to --dir as `msg-N.eml` (the raw bytes) and `msg-N.json` (the
envelope and the decoded subject, body and a few headers). `--refuse ADDRESS=CODE` (repeatable)
answers RCPT TO for that address with CODE (e.g. 550 or 451) and a reply text that quotes the
address, as real servers do. The server exits when its standard input closes.

Uses aiosmtpd (Apache-2.0) when installed, else the deprecated stdlib `smtpd` (Python <= 3.11);
MIMAMORI_TEST_SMTPD=stdlib forces the latter.
"""
import argparse
import email
import email.policy
import json
import os
import sys
import threading

ENHANCED = {"4": "4.3.0", "5": "5.1.1"}


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--refuse", action="append", default=[], metavar="ADDRESS=CODE")
    args = parser.parse_args()
    refuse = {}
    for item in args.refuse:
        address, _, code = item.rpartition("=")
        refuse[address.lower()] = int(code)
    return args.dir, refuse


OUT_DIR, REFUSE = parse_args()
COUNTER = [0]
LOCK = threading.Lock()


def refusal(address):
    """The reply for a refused recipient, or None."""
    code = REFUSE.get(address.strip("<>").lower())
    if code is None:
        return None
    enhanced = ENHANCED.get(str(code)[0], "5.0.0")
    return f"{code} {enhanced} <{address}>: recipient refused by the test server"


def store(mail_from, rcpt_tos, raw):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    record = {
        "mail_from": mail_from,
        "rcpt_tos": list(rcpt_tos),
        "subject": str(message["subject"]),
        "raw_subject": raw_header(raw, "Subject"),
        "from": str(message["from"]),
        "to": str(message["to"]),
        "body": body.get_content() if body is not None else None,
        "content_type": message.get_content_type(),
        "charset": message.get_content_charset(),
        "message_id": str(message["message-id"]),
        "list_unsubscribe": str(message["list-unsubscribe"]) if message["list-unsubscribe"] else None,
        "auto_submitted": str(message["auto-submitted"]) if message["auto-submitted"] else None,
    }
    with LOCK:
        COUNTER[0] += 1
        n = COUNTER[0]
    with open(os.path.join(OUT_DIR, f"msg-{n}.eml"), "wb") as f:
        f.write(raw)
    tmp = os.path.join(OUT_DIR, f".msg-{n}.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(record, f, ensure_ascii=False)
    os.rename(tmp, os.path.join(OUT_DIR, f"msg-{n}.json"))


def raw_header(raw, name):
    """The header's undecoded text (folded lines joined), to check the RFC 2047 encoding."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    head = head.replace(b"\n ", b" ").replace(b"\n\t", b" ")
    for line in head.split(b"\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode("ascii", "replace")
    return None


def exit_when_stdin_closes():
    def wait():
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=wait, daemon=True).start()


def serve_aiosmtpd():
    import asyncio

    from aiosmtpd.smtp import SMTP

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            reply = refusal(address)
            if reply is not None:
                return reply
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            store(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
            return "250 2.0.0 OK queued"

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), enable_SMTPUTF8=True, hostname="smtp.test"),
            "127.0.0.1",
            0,
        )
        port = server.sockets[0].getsockname()[1]
        print(f"LISTENING {port} aiosmtpd", flush=True)
        exit_when_stdin_closes()
        await server.serve_forever()

    asyncio.run(main())


def serve_smtpd():
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
    import smtpd

    class Channel(smtpd.SMTPChannel):
        def smtp_RCPT(self, arg):
            if arg and self.seen_greeting and self.mailfrom:
                address, _ = self._getaddr(self._strip_command_keyword("TO:", arg))
                reply = refusal(address) if address else None
                if reply is not None:
                    self.push(reply)
                    return
            super().smtp_RCPT(arg)

    class Server(smtpd.SMTPServer):
        channel_class = Channel

        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            store(mailfrom, rcpttos, data)
            return None

    server = Server(("127.0.0.1", 0), None, enable_SMTPUTF8=True)
    port = server.socket.getsockname()[1]
    print(f"LISTENING {port} smtpd", flush=True)
    exit_when_stdin_closes()
    asyncore.loop(timeout=0.2)


if __name__ == "__main__":
    if os.environ.get("MIMAMORI_TEST_SMTPD") == "stdlib":
        serve_smtpd()
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        serve_smtpd()
    else:
        serve_aiosmtpd()
