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

Delivery is at least once: an event comes again when gateway-integration
was killed between this 2xx and its cursor's commit (that one event), after
a power loss of the gateway's machine (the events of its last second), or
after `gatewayctl webhooks rewind`. The event's seq (X-Omnigate-Seq, and
in the signed body) tells a repeat: an event whose seq is not above the last one processed is
answered 2xx and dropped (said on stderr), so each seq is printed once.
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
        seq = ev["seq"]  # signed with the body; X-Omnigate-Seq says the same
        last = int(open(self.state).read() or 0) if os.path.exists(self.state) else 0
        if seq <= last:
            print(f"seq {seq}: a repeat, dropped", file=sys.stderr, flush=True)
        else:
            print(f"{seq:>6} {ev['type']:<24} {(ev.get('text') or '')[:60]}", flush=True)
            with open(self.state + ".tmp", "w") as f:      # your processing goes here,
                f.write(str(seq))                           # committed with the seq
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
