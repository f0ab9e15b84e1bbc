#!/usr/bin/env python3
"""
A receiver of the gateway's webhooks (docs/integration.md, "Webhooks"),
with Python's standard library only: checks X-Omnigate-Signature over the
raw body, drops repeats by seq, prints one line per event, answers 204.

    GATEWAY_WEBHOOK_SECRET=... python3 examples/python/webhook_receiver.py [--port 8094]

Uncomment the `webhooks:` entry of gateway/gateway.example.yaml (url
http://127.0.0.1:8094/hook) and start gatewayd with the same secret.
The last seq processed is kept in --state (default webhook_receiver.last):
keep it with your own data, so that a repeat after a crash is recognized.
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

SECRET = os.environ.get("GATEWAY_WEBHOOK_SECRET", "").encode()
TOLERANCE_S = 300


def verify(header, body):
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - t) > TOLERANCE_S:
        return False
    want = hmac.new(SECRET, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts.get("v1", ""))


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = "webhook_receiver.last"
    remaining = None  # --count: exit after this many new events

    def log_message(self, *a):
        pass

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not verify(self.headers.get("X-Omnigate-Signature", ""), body):
            self.answer(401)
            return
        ev = json.loads(body)
        last = int(open(self.state).read() or 0) if os.path.exists(self.state) else 0
        if ev["seq"] > last:
            print(f"{ev['seq']:>6} {ev['type']:<24} {(ev.get('text') or '')[:60]}", flush=True)
            with open(self.state + ".tmp", "w") as f:      # your processing goes here,
                f.write(str(ev["seq"]))                     # committed with the seq
            os.replace(self.state + ".tmp", self.state)
            if Receiver.remaining is not None:
                Receiver.remaining -= 1
        if Receiver.remaining is not None and Receiver.remaining <= 0:
            self.close_connection = True
        self.answer(204)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8094)
    ap.add_argument("--state", default=Receiver.state)
    ap.add_argument("--count", type=int, help="exit after this many new events")
    args = ap.parse_args()
    if len(SECRET) < 16:
        sys.exit("set GATEWAY_WEBHOOK_SECRET (the subscription's secret, 16 bytes at least)")
    Receiver.state, Receiver.remaining = args.state, args.count
    srv = http.server.HTTPServer(("127.0.0.1", args.port), Receiver)
    print(f"listening on http://127.0.0.1:{args.port}/hook", flush=True)
    while Receiver.remaining is None or Receiver.remaining > 0:
        srv.handle_request()


if __name__ == "__main__":
    main()
