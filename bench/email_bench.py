"""
email_bench.py - the email ingestion benchmark (docs/performance.md, "Email
ingestion"); run it through bench/email_bench.sh.

Generates BENCH_EMAIL_N messages of varied shape (plain text, HTML only,
multipart/alternative, with one or two attachments of 1 KiB to 256 KiB,
non-ASCII headers), drops them into the Maildir of a throw-away Dovecot
(tests/integration/dovecot.py), then starts a gatewayd with one email
connector on that mailbox and measures:
  - connector: messages/s from its start to the last message durable in its
    spool (status counters "accepted" + quarantined + skipped = N)
  - end to end: messages/s until the router has received all of them
  - the connector's peak RSS (VmHWM of /proc/<pid>/status)
Prints one JSON line with the figures, and a readable summary.
"""

import base64
import json
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import dovecot  # noqa: E402
import gwtest  # noqa: E402

N = int(os.environ.get("BENCH_EMAIL_N", "10000"))
BATCH = int(os.environ.get("BENCH_EMAIL_BATCH", "100"))
SEED = int(os.environ.get("BENCH_EMAIL_SEED", "1"))


def attachment(rnd, name, size):
    data = bytes(rnd.getrandbits(8) for _ in range(min(size, 4096))) * (size // 4096 + 1)
    b64 = base64.encodebytes(data[:size]).decode().replace("\n", "\r\n")
    return (f"Content-Type: application/octet-stream; name=\"{name}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64}")


def message(rnd, i):
    """Message i: shape and size vary with i and the seeded generator."""
    words = " ".join(rnd.choice(["hello", "order", "invoice", "déjà", "vu", "thanks", "ship",
                                 "refund", "please", "asap"]) for _ in range(rnd.randint(10, 400)))
    head = (f"From: Customer {i % 500} <customer{i % 500}@example.com>\r\n"
            f"To: support@acme.test\r\nSubject: =?UTF-8?Q?Order_{i}_d=C3=A9j=C3=A0?=\r\n"
            f"Message-ID: <bench-{i}@example.com>\r\nDate: Mon, 23 Nov 2026 06:40:00 +0000\r\n"
            f"MIME-Version: 1.0\r\n")
    shape = i % 5
    if shape == 0:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + words + "\r\n").encode()
    if shape == 1:
        return (head + "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + words
                + "</p></body></html>\r\n").encode()
    parts = ["Content-Type: text/plain; charset=utf-8\r\n\r\n" + words + "\r\n"]
    if shape == 2:
        parts.append("Content-Type: text/html; charset=utf-8\r\n\r\n<p>" + words + "</p>\r\n")
        ctype = "multipart/alternative"
    else:
        for k in range(shape - 2):
            size = rnd.choice([1024, 8192, 32768, 65536, 262144])
            parts.append(attachment(rnd, f"file-{i}-{k}.bin", size))
        ctype = "multipart/mixed"
    body = "".join(f"--b{i}\r\n{p}\r\n" for p in parts) + f"--b{i}--\r\n"
    return (head + f"Content-Type: {ctype}; boundary=\"b{i}\"\r\n\r\n" + body).encode()


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status", "r") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def handled(status):
    c = (status or {}).get("counters", {})
    return c.get("accepted", 0) + c.get("rejected", 0)


def main():
    tmp = tempfile.mkdtemp(prefix="email-bench-", dir=os.environ.get("BENCH_TMPDIR"))
    dc = dovecot.Dovecot(os.path.join(tmp, "dovecot"), {"bench": "bench-pw"})
    os.makedirs(dc.root)
    gw = None
    try:
        dc.start()
        rnd = random.Random(SEED)
        total = 0
        t = time.monotonic()
        for i in range(N):
            raw = message(rnd, i)
            total += len(raw)
            dc.drop("bench", f"{i:07d}.bench", raw)
        gen_s = time.monotonic() - t
        dc.count("bench")  # Dovecot indexes the new mail here, before the clock starts
        os.makedirs(os.path.join(tmp, "gw"))
        gw = gwtest.Gateway(os.path.join(tmp, "gw"))
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join([
                "  - name: bench", "    type: email", "    enabled: true",
                f"    url: \"imap://127.0.0.1:{dc.port}/INBOX\"", "    username: bench",
                "    password: ${GW_BENCH_PW}", "    tls: none", "    after: seen",
                f"    fetch_batch: {BATCH}"]) + "\n")
        gw.env["GW_BENCH_PW"] = "bench-pw"
        gw.connectors.append("bench")
        t0 = time.monotonic()
        gw.start()
        pid = gw.child_pid("bench")
        gwtest.wait_until(lambda: handled(gwtest.read_json_file(gw.run_file("bench"))) >= N,
                          3600, f"{N} messages durable", interval=0.02)
        t1 = time.monotonic()
        gwtest.wait_until(lambda: gwtest.command_ok(gw.command_ep, "status", {})[0]
                          ["counters"]["received"] >= N, 3600, "the router has them all",
                          interval=0.05)
        t2 = time.monotonic()
        hwm = vm_hwm_kib(pid)
        res = {"messages": N, "bytes": total, "fetch_batch": BATCH,
               "connector_msgs_per_s": round(N / (t1 - t0), 1),
               "end_to_end_msgs_per_s": round(N / (t2 - t0), 1),
               "connector_seconds": round(t1 - t0, 2), "end_to_end_seconds": round(t2 - t0, 2),
               "connector_vmhwm_mib": round(hwm / 1024, 1),
               "mb_per_s": round(total / (t1 - t0) / 1e6, 1), "generate_seconds": round(gen_s, 1)}
        print(json.dumps(res))
        print(f"{N} messages ({total / 1e6:.0f} MB): connector {res['connector_msgs_per_s']} "
              f"msg/s ({res['mb_per_s']} MB/s), end to end {res['end_to_end_msgs_per_s']} "
              f"msg/s, connector peak RSS {res['connector_vmhwm_mib']} MiB")
    finally:
        if gw is not None:
            gw.cleanup()
        dc.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            dovecot.rmtree(tmp)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()
