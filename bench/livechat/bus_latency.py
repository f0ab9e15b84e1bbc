"""bus_latency.py ENDPOINT SECONDS - subscribes to the bus and, for every
livechat message.received whose text starts with "t=<ms since epoch> ",
records arrival - t (accept-to-bus latency as the browser would see it, on
the same clock). Prints one JSON line: count, p50, p99, max (ms) and the
number of distinct external_ids (to spot duplicates)."""
import json
import sys
import time

import msgpack
import zmq


def main():
    endpoint, seconds = sys.argv[1], float(sys.argv[2])
    sock = zmq.Context().socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, b"message.received")
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.connect(endpoint)
    print("ready", flush=True)
    lat, ids, end = [], set(), time.time() + seconds
    while time.time() < end:
        if not sock.poll(200):
            continue
        frames = sock.recv_multipart()
        now = time.time() * 1000.0
        ev = msgpack.unpackb(frames[-1], raw=False)
        text = ev.get("text", "")
        if ev.get("channel") != "livechat" or not text.startswith("t="):
            continue
        lat.append(now - float(text[2:].split(" ", 1)[0]))
        ids.add(ev.get("external_id"))
    lat.sort()
    pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2) if lat else None
    print(json.dumps({"count": len(lat), "distinct": len(ids), "p50_ms": pick(0.5),
                      "p99_ms": pick(0.99), "max_ms": round(lat[-1], 2) if lat else None}))


if __name__ == "__main__":
    main()
