"""
upload_bench.py - live-chat file uploads per second and their latency
(docs/performance.md, "Live-chat uploads"): a gateway with one livechat
connector on free loopback ports; BENCH_THREADS clients (default 4) each
POST /upload BENCH_N / BENCH_THREADS files (default 400 in all) of
BENCH_KIB KiB (default 100, a small photo), each a different PNG, each
answered only once its blob is fsync'ed and granted (docs/channels/
livechat.md, "Files"). Prints uploads/s, MiB/s and the p50/p99 latency.

    /usr/bin/python3 bench/livechat/upload_bench.py   (GW_BIN_DIR: default build/bin)
"""

import hashlib
import hmac
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("GW_BIN_DIR", os.path.join(ROOT, "build", "bin"))

import gwtest  # noqa: E402
from test_livechat import http  # noqa: E402

N = int(os.environ.get("BENCH_N", "400"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
KIB = int(os.environ.get("BENCH_KIB", "100"))
SECRET = "bench-chat-secret-0123456789abcdef"


def files_key(conversation):
    head = f"f1.{int(time.time()) + 3600}.{conversation.encode().hex()}"
    return head + "." + hmac.new(SECRET.encode(), head.encode(), hashlib.sha256).hexdigest()


def worker(port, key, count, lat, errors):
    for _ in range(count):
        body = b"\x89PNG\r\n\x1a\n" + os.urandom(KIB * 1024 - 8)
        t0 = time.monotonic()
        st, _, _ = http(port, "POST", f"/upload?k={key}&name=photo.png&type=image%2Fpng", body)
        lat.append(time.monotonic() - t0)
        if st != 200:
            errors.append(st)


def main():
    tmp = tempfile.mkdtemp(prefix="gw-upload-bench-", dir=os.environ.get("BENCH_DIR"))
    os.makedirs(os.path.join(tmp, "gw"))
    gw = gwtest.Gateway(os.path.join(tmp, "gw"))
    (port,) = gwtest.free_ports(1)
    with open(gw.config_path, "a", encoding="utf-8") as f:
        f.write("\n".join(["  - name: chat", "    type: livechat", "    enabled: true",
                           f"    listen: \"127.0.0.1:{port}\"", "    secret: ${GATEWAY_LIVECHAT_SECRET}",
                           "    requests_per_minute: 0"]) + "\n")
    gw.env.update(GATEWAY_LIVECHAT_SECRET=SECRET)
    gw.connectors += ["chat"]
    try:
        gw.start()
        lat, errors, threads = [], [], []
        t0 = time.monotonic()
        for i in range(THREADS):
            key = files_key("visitor:%032x" % i)
            t = threading.Thread(target=worker, args=(port, key, N // THREADS, lat, errors))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        took = time.monotonic() - t0
        lat.sort()
        n = len(lat)
        print(f"uploads: {n} x {KIB} KiB, {THREADS} clients, errors {len(errors)}")
        print(f"rate: {n / took:.0f} uploads/s, {n * KIB / 1024 / took:.1f} MiB/s")
        print(f"latency: p50 {lat[n // 2] * 1000:.1f} ms, p99 {lat[int(n * 0.99) - 1] * 1000:.1f} ms")
    finally:
        gw.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
