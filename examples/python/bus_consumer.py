#!/usr/bin/env python3
"""
A consumer of Omnigate's event bus (docs/events.md): subscribes to the
router's PUB socket, catches up by replay on the command socket, detects
gaps (a jump in `seq`, or a heartbeat whose head_seq is past what it has)
and fills them by replay, drops repeats, and keeps the last seq it
processed in a file so that a restart goes on where it stopped.

Debian: python3-zmq, python3-msgpack. Against the quick-start gateway,
from the repository's root, as the gateway's user:

    python3 examples/python/bus_consumer.py

prints one line per event: "<seq> <type> <details>", and on stderr a
line for each gap it fills ("gap: ..." or "behind: ...").
"""

import argparse
import os
import sys

import msgpack
import zmq

REPLAY_LIMIT = 1000
TIMEOUT_MS = 5000


def parse_args():
    p = argparse.ArgumentParser(description="Follow Omnigate's event bus without gaps.")
    p.add_argument("--state-dir", default="gateway/state",
                   help="the gateway's state_dir, for its default ipc:// sockets")
    p.add_argument("--publish", help="the router's publish endpoint (router.publish)")
    p.add_argument("--command", help="the router's command endpoint (router.command)")
    p.add_argument("--last-file", help="file keeping the last seq processed (none: start at 0)")
    p.add_argument("--count", type=int, default=0, help="exit after this many events")
    a = p.parse_args()
    sock = os.path.abspath(os.path.join(a.state_dir, "sock"))
    a.publish = a.publish or f"ipc://{sock}/publish"
    a.command = a.command or f"ipc://{sock}/command"
    return a


class Consumer:
    def __init__(self, args):
        self.args = args
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")  # every event, heartbeats too
        self.sub.connect(args.publish)           # connect before catching up
        self.req = None
        self.last = self.load_last()
        self.handled = 0

    # -- the last seq processed, kept with the results --------------------------

    def load_last(self):
        try:
            with open(self.args.last_file, encoding="ascii") as f:
                return int(f.read().strip() or 0)
        except (TypeError, FileNotFoundError):
            return 0

    def save_last(self):
        if not self.args.last_file:
            return
        tmp = self.args.last_file + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(f"{self.last}\n")
        os.replace(tmp, self.args.last_file)

    # -- replay over the command socket -----------------------------------------

    def request(self, frames):
        if self.req is None:
            self.req = self.ctx.socket(zmq.REQ)
            self.req.setsockopt(zmq.LINGER, 0)
            self.req.connect(self.args.command)
        self.req.send_multipart(frames)
        if not self.req.poll(TIMEOUT_MS):
            # A REQ socket that lost its reply cannot send again: make a new one.
            self.req.close()
            self.req = None
            raise TimeoutError("no answer from the router's command socket")
        return self.req.recv_multipart()

    def catch_up(self):
        """Replays from last + 1 until the head of the log."""
        while True:
            args = msgpack.packb({"from": self.last + 1, "limit": REPLAY_LIMIT})
            frames = self.request([b"replay", args])
            if frames[0] != b"ok":
                raise RuntimeError(msgpack.unpackb(frames[1]))
            info = msgpack.unpackb(frames[1])
            for etype, body in zip(frames[2::2], frames[3::2]):
                self.handle(etype.decode(), msgpack.unpackb(body))
            if info["count"] == 0 or info["next"] > info["head"]:
                return

    # -- events --------------------------------------------------------------

    def handle(self, etype, ev):
        if ev["seq"] <= self.last:
            return  # a repeat: the bus is at-least-once
        if ev.get("v") == 1:
            self.process(etype, ev)
        self.last = ev["seq"]
        self.save_last()
        self.handled += 1

    def process(self, etype, ev):
        """Your work goes here; this one prints a line."""
        detail = ""
        if etype.startswith("message."):
            detail = f" {ev.get('channel', '')} {ev.get('external_id', '')}"
        elif etype.startswith("ticket."):
            detail = f" ticket={ev.get('ticket_id')} status={ev.get('status')}"
        elif etype.startswith("customer."):
            detail = f" customer={ev.get('customer_id')}"
        print(f"{ev['seq']} {etype}{detail}", flush=True)

    def done(self):
        return self.args.count and self.handled >= self.args.count

    def run(self):
        self.catch_up()
        while not self.done():
            etype, body = self.sub.recv_multipart()
            ev = msgpack.unpackb(body)
            if etype == b"gateway.heartbeat":
                if ev["head_seq"] > self.last:
                    print(f"behind: head {ev['head_seq']}, last {self.last}: replaying",
                          file=sys.stderr, flush=True)
                    self.catch_up()  # events missed at the tail
                continue
            if ev["seq"] > self.last + 1:
                print(f"gap: seq {ev['seq']} after {self.last}: replaying",
                      file=sys.stderr, flush=True)
                self.catch_up()      # a gap: fetch what is missing first
            self.handle(etype.decode(), ev)


def main():
    c = Consumer(parse_args())
    try:
        c.run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
