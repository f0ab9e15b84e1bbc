"""
NATS for the tests: starts real `nats-server -js` processes (one, or a
cluster of three) on loopback with their own ports and store folders, and a
minimal client of the NATS protocol (Python's nats-py is not in Debian)
that is enough to read a JetStream stream through its API subjects:
stream info, a message by stream sequence, and a durable pull consumer.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import gwtest
from gwtest import tmo, wait_until


def nats_server_path():
    return shutil.which("nats-server") or "/usr/bin/nats-server"


def have_nats_server():
    return os.access(nats_server_path(), os.X_OK)


class NatsServer:
    """One nats-server with JetStream; `cluster` lines make it a cluster member."""

    def __init__(self, root, name, ports=None, cluster_ports=None, cluster_index=None):
        self.root = root
        self.name = name
        p = ports or gwtest.free_ports(3)
        self.port, self.http_port, self.cluster_port = p[0], p[1], p[2]
        self.store = os.path.join(root, f"js-{name}")
        self.conf = os.path.join(root, f"{name}.conf")
        self.log = os.path.join(root, f"{name}.log")
        self.proc = None
        lines = [
            f'server_name: "{name}"',
            "listen: 127.0.0.1:%d" % self.port,
            "http: 127.0.0.1:%d" % self.http_port,
            "jetstream {",
            f'  store_dir: "{self.store}"',
            "  max_memory_store: 64MB",
            "  max_file_store: 256MB",
            "}",
        ]
        if cluster_ports is not None:
            routes = ", ".join("nats-route://127.0.0.1:%d" % cp for cp in cluster_ports)
            lines += [
                "cluster {",
                '  name: "omnigate-test"',
                "  listen: 127.0.0.1:%d" % cluster_ports[cluster_index],
                f"  routes: [{routes}]",
                "}",
            ]
            self.cluster_port = cluster_ports[cluster_index]
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self):
        log = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen([nats_server_path(), "-c", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        finally:
            log.close()
        return self

    def healthy(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.http_port,
                                        timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout=None):
        wait_until(lambda: self.proc.poll() is None and self.healthy(), timeout or tmo(15),
                   f"nats-server {self.name} healthy", on_fail=self.log_tail)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(tmo(10))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(tmo(10))
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, n=30):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def start_cluster(root, n=3):
    """n cluster members (own ports); returns them started and healthy."""
    cports = gwtest.free_ports(n)
    servers = [NatsServer(root, f"n{i}", cluster_ports=cports, cluster_index=i)
               for i in range(n)]
    for s in servers:
        s.start()
    for s in servers:
        s.wait_ready()
    return servers


class NatsClient:
    """Just enough NATS: CONNECT, SUB, PUB with a reply inbox, MSG and HMSG."""

    def __init__(self, url_or_port, timeout=None):
        port = url_or_port if isinstance(url_or_port, int) else int(url_or_port.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout or tmo(5))
        self.buf = b""
        self.sid = 0
        self._line()  # INFO
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,'
                          b'"no_responders":true,"protocol":1}\r\nPING\r\n')
        while self._line() != b"PONG":
            pass
        self.inbox = "_INBOX.t%d" % os.getpid() + os.urandom(4).hex()
        self._sub(self.inbox + ".>")

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("nats-server closed the connection")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _sub(self, subject):
        self.sid += 1
        self.sock.sendall(b"SUB %s %d\r\n" % (subject.encode(), self.sid))

    def _next_msg(self):
        """(subject, headers dict, payload) of the next MSG/HMSG; answers PINGs."""
        while True:
            line = self._line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
                continue
            parts = line.split()
            if not parts or parts[0] in (b"PONG", b"+OK", b"INFO"):
                continue
            if parts[0] == b"-ERR":
                raise AssertionError(line.decode())
            if parts[0] == b"MSG":
                return parts[1].decode(), {}, self._bytes(int(parts[-1]))
            if parts[0] == b"HMSG":
                hlen, total = int(parts[-2]), int(parts[-1])
                raw = self._bytes(total)
                return parts[1].decode(), parse_headers(raw[:hlen]), raw[hlen:]

    def request(self, subject, payload=b"", timeout=None):
        reply = "%s.%s" % (self.inbox, os.urandom(6).hex())
        self.sock.sendall(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), reply.encode(),
                                                      len(payload), payload))
        self.sock.settimeout(timeout or tmo(5))
        while True:
            subj, hdrs, data = self._next_msg()
            if subj == reply:
                return hdrs, data

    def js(self, api, body=None, timeout=None):
        payload = json.dumps(body).encode() if body is not None else b""
        hdrs, data = self.request("$JS.API." + api, payload, timeout)
        if hdrs.get(":status") == "503":
            raise ConnectionError("no JetStream responders")
        return json.loads(data) if data else {}

    def stream_info(self, stream):
        return self.js("STREAM.INFO." + stream)

    def get_msg(self, stream, seq):
        """{subject, seq, headers, data} of stream message `seq`; None when absent."""
        r = self.js("STREAM.MSG.GET." + stream, {"seq": seq})
        if "error" in r:
            return None
        m = r["message"]
        raw = base64.b64decode(m.get("hdrs", "")) if m.get("hdrs") else b""
        return {"subject": m["subject"], "seq": m["seq"], "headers": parse_headers(raw),
                "data": base64.b64decode(m.get("data", "")) if m.get("data") else b""}


def parse_headers(raw):
    """NATS/1.0 header block into a dict (":status" for a status line)."""
    out = {}
    lines = raw.decode("utf-8", "replace").split("\r\n")
    if lines and lines[0].startswith("NATS/1.0"):
        st = lines[0][8:].strip().split(" ", 1)
        if st and st[0]:
            out[":status"] = st[0]
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def read_stream(url, stream, timeout=None):
    """Every message of `stream` in stream order, as get_msg gives them."""
    c = NatsClient(url, timeout)
    try:
        info = c.stream_info(stream)
        st = info["state"]
        msgs = []
        for seq in range(st["first_seq"], st["last_seq"] + 1) if st["messages"] else []:
            m = c.get_msg(stream, seq)
            if m is not None:
                msgs.append(m)
        return info, msgs
    finally:
        c.close()


def stream_last_gw_seq(url, stream):
    """The Omnigate-Seq of the stream's last message; 0 when none (or no stream yet)."""
    try:
        c = NatsClient(url, tmo(2))
    except OSError:
        return 0
    try:
        info = c.stream_info(stream)
        st = info.get("state")
        if not st or not st.get("messages"):
            return 0
        m = c.get_msg(stream, st["last_seq"])
        return int(m["headers"].get("Omnigate-Seq", 0)) if m else 0
    except (OSError, ConnectionError, ValueError, KeyError):
        return 0
    finally:
        c.close()


def stream_leader(url, stream):
    """The server_name of `stream`'s leader, as STREAM.INFO says (cluster.leader)."""
    def ask():
        try:
            c = NatsClient(url)
        except OSError:
            return None
        try:
            return c.stream_info(stream).get("cluster", {}).get("leader")
        except (OSError, ConnectionError, ValueError):
            return None
        finally:
            c.close()
    return gwtest.wait_until(ask, gwtest.tmo(15), f"the leader of stream {stream}")


def append_nats_config(config_path, servers, stream, **kw):
    """Adds a `nats:` section to a gateway config written by gwtest."""
    lines = ["nats:", "  enabled: true", "  servers:"]
    lines += ["    - %s" % json.dumps(s) for s in servers]
    lines.append("  stream: %s" % json.dumps(stream))
    for k, v in kw.items():
        lines.append("  %s: %s" % (k, json.dumps(v) if isinstance(v, str) else v))
    with open(config_path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
