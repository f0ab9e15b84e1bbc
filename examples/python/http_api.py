#!/usr/bin/env python3
"""
A client of the gateway's HTTP integration API (docs/integration.md), with
Python's standard library only.

    GATEWAY_INTEGRATION_TOKEN=... python3 examples/python/http_api.py
        the newest events, then the open tickets
    GATEWAY_INTEGRATION_TOKEN=... python3 examples/python/http_api.py --reply TICKET TEXT
        a reply to the ticket's customer, sent once even when repeated

OMNIGATE_URL is the API's address (default http://127.0.0.1:8093, the
quick-start config's).
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

URL = os.environ.get("OMNIGATE_URL", "http://127.0.0.1:8093")
TOKEN = os.environ.get("GATEWAY_INTEGRATION_TOKEN", "")


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code = status, code


def call(method, path, body=None, headers=None, attempts=5):
    """One request; 503 (router busy or restarting) is retried with the same
    Idempotency-Key, so a retried POST is done once."""
    data = json.dumps(body).encode() if body is not None else None
    h = {"Authorization": f"Bearer {TOKEN}", **(headers or {})}
    if data is not None:
        h["Content-Type"] = "application/json"
    for attempt in range(attempts):
        req = urllib.request.Request(URL + path, data=data, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            err = json.loads(e.read() or b"{}")
            if e.code == 503 and attempt + 1 < attempts:
                time.sleep(0.5 * 2 ** attempt)
                continue
            raise ApiError(e.code, err.get("error"), err.get("message")) from None


def events(last=10):
    """The newest `last` events, paging through the log as a consumer would."""
    head = call("GET", "/v1/events?from=1&limit=1")["head"]
    frm, out = max(1, head - last + 1), []
    while True:
        page = call("GET", f"/v1/events?from={frm}&limit=100")
        out += page["events"]
        if not page["events"] or page["next"] > page["head"]:
            return out
        frm = page["next"]


def open_tickets():
    cursor, out = None, []
    while True:
        q = "/v1/tickets?status=open&limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = call("GET", q)
        out += page["tickets"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def reply(ticket_id, text):
    key = str(uuid.uuid4())  # keep it with your own record to retry safely
    return call("POST", f"/v1/tickets/{ticket_id}/replies", {"text": text},
                headers={"Idempotency-Key": key})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reply", nargs=2, metavar=("TICKET", "TEXT"))
    args = ap.parse_args()
    if not TOKEN:
        sys.exit("set GATEWAY_INTEGRATION_TOKEN (the token of the config's integration section)")
    try:
        if args.reply:
            r = reply(int(args.reply[0]), args.reply[1])
            print(f"reply stored: delivery {r['delivery_id']}, seq {r['seq']}, "
                  f"channel {r['channel']}")
            return
        for ev in events():
            what = ev.get("text") or ev.get("status") or ""
            print(f"{ev['seq']:>6} {ev['type']:<24} {what[:60]}")
        tickets = open_tickets()
        print(f"{len(tickets)} open ticket(s)")
        for t in tickets[:20]:
            print(f"  #{t['ticket_id']} {t['channel']:<10} {t.get('queue', '-'):<10} "
                  f"{t.get('subject', '')[:50]}")
    except ApiError as e:
        sys.exit(str(e))
    except OSError as e:
        sys.exit(f"cannot reach {URL}: {e} (is gatewayd running with GATEWAY_INTEGRATION_TOKEN?)")


if __name__ == "__main__":
    main()
