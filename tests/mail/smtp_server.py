"""A real SMTP server for the mail tests, built on aiosmtpd.

Usage: python3 smtp_server.py --dir DIR [--tls-cert CERT.pem --tls-key KEY.pem]

Listens on a free port of 127.0.0.1 and prints "LISTENING <port>" on standard output once ready.
Each accepted message is stored as DIR/<n>.eml (the bytes received) and DIR/<n>.json (the
envelope and the decoded headers and body, as parsed by Python's email package), both written
before the server answers 250, through a temporary name and a rename.

Recipients steer the replies: a local part starting with "reject" gets 550 5.1.1, one starting
with "defer" gets 451 4.3.0. With --tls-cert and --tls-key the server offers STARTTLS and refuses
mail before it.
"""

import argparse
import asyncio
import email
import email.policy
import itertools
import json
import os
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    sys.stderr.write(
        "the mail tests need the aiosmtpd Python package: pip install aiosmtpd\n"
    )
    sys.exit(3)


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 Mailbox unavailable"
        if local.startswith("defer"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "headers": {k: str(v) for k, v in message.items()},
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "body": body.get_content() if body is not None else None,
        }
        self.write(f"{n}.eml", raw)
        self.write(f"{n}.json", json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return "250 2.0.0 Message accepted"

    def write(self, name, data):
        temporary = os.path.join(self.directory, "." + name + ".tmp")
        with open(temporary, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(temporary, os.path.join(self.directory, name))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    handler = Handler(args.dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="mail.test",
            tls_context=context,
            require_starttls=context is not None,
        ),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
