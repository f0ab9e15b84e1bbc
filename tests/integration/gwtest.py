"""
gwtest - harness for the black-box integration tests.

It starts the real binaries (gatewayd, which starts gateway-router and the
connectors) in a temporary folder with free loopback ports, and talks to them
only through their documented interfaces: the HTTP API, the downstream bus,
the command socket, the status files and gatewayctl.

Every wait polls a readiness signal against a deadline and fails with a
message saying what it waited for; nothing sleeps a fixed time and hopes.
The binaries come from the folder in GW_BIN_DIR (CMake sets it).

Timeouts grow with GW_IT_TIMEOUT_SCALE (default 1, or 3 when the binaries
are built with AddressSanitizer).
"""

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import msgpack
import zmq

from ports import free_ports  # noqa: F401 (tests call gwtest.free_ports)

HEARTBEAT = "gateway.heartbeat"
LOG_TAIL_LINES = 60


# --- binaries and timeouts -------------------------------------------------

def bin_dir():
    """The folder holding gatewayd, gatewayctl, gateway-router, gateway-connector."""
    d = os.environ.get("GW_BIN_DIR")
    if not d:
        raise unittest.SkipTest("GW_BIN_DIR is not set (run through ctest)")
    return os.path.abspath(d)


def binary(name):
    path = os.path.join(bin_dir(), name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing or not executable: build the project first")
    return path


def _built_with_asan():
    try:
        with open(os.path.join(bin_dir(), "gateway-router"), "rb") as f:
            return b"__asan_init" in f.read()
    except (OSError, unittest.SkipTest):
        return False


def _timeout_scale():
    v = os.environ.get("GW_IT_TIMEOUT_SCALE")
    if v:
        return float(v)
    return 3.0 if _built_with_asan() else 1.0


TIMEOUT_SCALE = _timeout_scale()


def tmo(seconds):
    """A timeout in seconds, scaled for slow (sanitizer) builds."""
    return seconds * TIMEOUT_SCALE


# --- small helpers -----------------------------------------------------------

def read_json_file(path):
    """The JSON document at path, or None while it is missing or unreadable."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    if not pid or pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "r") as f:
            stat = f.read()
    except OSError:
        return False
    # A zombie has exited: it only waits for its parent to reap it.
    state = stat[stat.rfind(")") + 2:].split()[0]
    return state not in ("Z", "X")


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat", "r") as f:
            stat = f.read()
        return int(stat[stat.rfind(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _ppid(int(name)) == pid:
            out.append(int(name))
    return out


def wait_until(fn, timeout, what, interval=0.05, on_fail=None):
    """Polls fn() until it returns a true value (returned) or fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            extra = on_fail() if on_fail else ""
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}"
                                 + (f"\n{extra}" if extra else ""))
        time.sleep(interval)


def message_body(ext_id, sender="+15550001111", name="Ana", text=None, subject=None,
                 attachments=None):
    """A valid POST /v1/messages body as a dict."""
    body = {"id": ext_id, "from": {"id": sender, "name": name},
            "text": text if text is not None else f"text of {ext_id}"}
    if subject is not None:
        body["subject"] = subject
    if attachments is not None:
        body["attachments"] = attachments
    return body


# --- config --------------------------------------------------------------------

def _q(s):
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(s)


# Per-sender limits off (docs/security.md): most tests send many messages
# from one sender at once; test_limits.py sets its own.
NO_SENDER_LIMITS = ("sender_rate_per_minute: 0", "loop_repeats: 0",
                    "automated_rate_per_hour: 0")


def with_sender_limits_off(lines):
    """lines (a connector's YAML lines) plus NO_SENDER_LIMITS for the keys
    they do not set."""
    keys = {ln.split(":", 1)[0].strip() for ln in lines}
    return list(lines) + [ln for ln in NO_SENDER_LIMITS if ln.split(":", 1)[0] not in keys]


def write_config(path, state_dir, ports, connector_name="api", max_body_bytes=65536,
                 backoff_min_ms=50, heartbeat_ms=200, extra_connector_lines=(),
                 connectors=True, routing_lines=(), automation_lines=()):
    """
    Writes a config for one API connector; ports = dict ingest/publish/command/api.
    routing_lines: YAML lines of the `routing:` section's body, indented by
    two spaces already ("  scope: channel"); none: the routing defaults.
    automation_lines: the same for the `automation:` section.
    """
    lines = [
        "# integration test config",
        f"state_dir: {_q(state_dir)}",
        "log_level: info",
        "router:",
        f"  ingest: {_q('tcp://127.0.0.1:%d' % ports['ingest'])}",
        f"  publish: {_q('tcp://127.0.0.1:%d' % ports['publish'])}",
        f"  command: {_q('tcp://127.0.0.1:%d' % ports['command'])}",
        # Plain tcp on loopback: refused unless opted into (docs/security.md).
        "  plain_loopback: true",
        f"  heartbeat_ms: {heartbeat_ms}",
        "supervisor:",
        f"  backoff_min_ms: {backoff_min_ms}",
        "  backoff_max_ms: 1000",
    ]
    if routing_lines:
        lines += ["routing:"] + list(routing_lines)
    if automation_lines:
        lines += ["automation:"] + list(automation_lines)
    if connectors:
        lines += [
            "connectors:",
            f"  - name: {connector_name}",
            "    type: api",
            "    enabled: true",
            f"    listen: {_q('127.0.0.1:%d' % ports['api'])}",
            "    token: ${GATEWAY_API_TOKEN}",
            f"    max_body_bytes: {max_body_bytes}",
        ]
        lines += ["    " + ln for ln in with_sender_limits_off(extra_connector_lines)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


# --- HTTP ------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<HTTP {self.status} {self.body[:300]!r}>"


# Errors after which a request may be sent again on a new connection.
RETRYABLE = (ConnectionError, http.client.HTTPException, TimeoutError, socket.timeout, OSError)


class ApiClient:
    """One keep-alive HTTP/1.1 connection to the API connector (http.client)."""

    def __init__(self, port, token, timeout=None):
        self.port = port
        self.token = token
        self.timeout = timeout if timeout is not None else tmo(10)
        self.conn = None
        self.connects = 0

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.connects += 1
        return self.conn

    def local_port(self):
        """The client side port of the open connection, or None."""
        if self.conn is None or self.conn.sock is None:
            return None
        return self.conn.sock.getsockname()[1]

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, auth=True, encode_chunked=False):
        """One request on the kept-alive connection; no retry. Raises on I/O errors."""
        h = {}
        if auth:
            h["Authorization"] = f"Bearer {self.token}"
        if body is not None and not isinstance(body, (bytes, str)) and not encode_chunked:
            body = json.dumps(body).encode("utf-8")
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=h, encode_chunked=encode_chunked)
            r = conn.getresponse()
            data = r.read()
        except BaseException:
            self.close()
            raise
        return Response(r.status, r.getheaders(), data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post_message(self, msg, **kw):
        return self.request("POST", "/v1/messages", body=msg, **kw)

    def post_until_accepted(self, msg, deadline, stats=None):
        """
        Sends msg until it is answered 202: after a connection error or a 503
        the same message (same id) goes again on a new connection. Any other
        status is returned at once. Raises AssertionError at the deadline
        (a time.monotonic() value).
        """
        body = json.dumps(msg).encode("utf-8")
        attempt = 0
        last = None
        while True:
            attempt += 1
            try:
                r = self.request("POST", "/v1/messages", body=body)
                if r.status != 503:
                    if stats is not None:
                        stats.note(attempt, last)
                    return r
                last = r
                # Not durable: the connection may be fine, but start clean.
                self.close()
            except RETRYABLE as e:
                last = e
            if time.monotonic() >= deadline:
                raise AssertionError(f"message {msg['id']!r} not accepted after {attempt} "
                                     f"attempts; last: {last!r}")
            # Client backoff between attempts, as any well-behaved client.
            time.sleep(min(0.02 * (2 ** min(attempt, 5)), 0.5))


# --- command socket -------------------------------------------------------------

class CommandError(AssertionError):
    pass


# --- a connector's side of the ingest socket ------------------------------------

def inbound_event(channel, account, ext_id, sender, text, name=None, subject=None,
                  reply_to=None, email=None, **extra):
    """A message.received event as a connector makes it (no seq)."""
    frm = {"address": sender}
    if name:
        frm["name"] = name
    if email:
        frm["email"] = email
    ev = {"v": 1, "type": "message.received", "id": os.urandom(16).hex(),
          "ts": int(time.time() * 1000), "channel": channel, "account": account,
          "external_id": ext_id, "received_at": int(time.time() * 1000),
          "from": frm, "text": text}
    if subject is not None:
        ev["subject"] = subject
    if reply_to:
        ev["reply_to"] = list(reply_to)
    ev.update(extra)
    return ev


class IngestClient:
    """
    Talks to the router's ingest socket as a connector does (proto/wire.h):
    ["msg", key(8 bytes), event] answered by ["ack", key, result, reason].
    Use it to send messages of any channel without running its connector.
    """

    def __init__(self, endpoint, ctx=None):
        self._own = ctx is None
        self.ctx = ctx or zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.key = int(time.time() * 1000) << 16

    def close(self):
        self.sock.close(0)
        if self._own:
            self.ctx.term()

    def send(self, event, timeout=None):
        """Sends one event and waits for its ack; returns (result, reason)."""
        timeout = timeout if timeout is not None else tmo(10)
        self.key += 1
        key = self.key.to_bytes(8, "big")
        self.sock.send_multipart([b"msg", key, msgpack.packb(event)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.sock.poll(int(max(0.0, deadline - time.monotonic()) * 1000) + 1):
                continue
            frames = self.sock.recv_multipart()
            if frames[0] == b"ack" and frames[1] == key:
                return frames[2].decode(), frames[3].decode() if len(frames) > 3 else ""
        raise CommandError(f"no ack for {event.get('external_id')!r} within {timeout:.1f}s")

    def send_ok(self, event, timeout=None):
        result, reason = self.send(event, timeout)
        if result != "stored":
            raise CommandError(f"{event.get('external_id')!r} was {result}: {reason}")
        return result


def command(endpoint, name, args=None, timeout=None, ctx=None):
    """
    One request on the router's command socket (a fresh REQ socket, so a
    router restart never leaves it stuck). Returns (status, result, frames
    after the result). Raises CommandError when no reply came in time.
    """
    timeout = timeout if timeout is not None else tmo(5)
    own = ctx is None
    ctx = ctx or zmq.Context()
    sock = ctx.socket(zmq.REQ)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
        sock.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))
        sock.connect(endpoint)
        sock.send_multipart([name.encode(), msgpack.packb(args or {})])
        try:
            frames = sock.recv_multipart()
        except zmq.Again:
            raise CommandError(f"no reply to {name!r} from {endpoint} within {timeout:.1f}s")
    finally:
        sock.close(0)
        if own:
            ctx.term()
    if len(frames) < 2:
        raise CommandError(f"reply to {name!r} has {len(frames)} frames: {frames!r}")
    status = frames[0].decode()
    result = msgpack.unpackb(frames[1], raw=False)
    return status, result, frames[2:]


def command_ok(endpoint, name, args=None, **kw):
    status, result, rest = command(endpoint, name, args, **kw)
    if status != "ok":
        raise CommandError(f"{name} {args!r} answered {status}: {result!r}")
    return result, rest


def decode_pairs(frames, where):
    """[type, event, type, event...] -> list of (type, map); checks type == map type."""
    if len(frames) % 2:
        raise AssertionError(f"{where}: odd number of event frames ({len(frames)})")
    out = []
    for i in range(0, len(frames), 2):
        t = frames[i].decode()
        m = msgpack.unpackb(frames[i + 1], raw=False)
        if not isinstance(m, dict) or m.get("type") != t:
            raise AssertionError(f"{where}: frame type {t!r} but event {m!r}")
        out.append((t, m))
    return out


def replay_range(endpoint, from_seq, limit=1000, timeout=None, ctx=None):
    """One replay request: (reply map, [(seq, type, map)...]), seqs checked consecutive."""
    res, rest = command_ok(endpoint, "replay", {"from": from_seq, "limit": limit},
                           timeout=timeout, ctx=ctx)
    events = []
    for i, (t, m) in enumerate(decode_pairs(rest, f"replay from {from_seq}")):
        if m.get("seq") != from_seq + i:
            raise AssertionError(f"replay from {from_seq}: event {i} has seq {m.get('seq')} "
                                 f"instead of {from_seq + i}")
        events.append((m["seq"], t, m))
    if res.get("count") != len(events):
        raise AssertionError(f"replay from {from_seq}: count {res.get('count')} but "
                             f"{len(events)} events")
    return res, events


def replay_all(endpoint, from_seq=1, limit=1000, timeout=None):
    """Every event from from_seq to the head, checked gap-free, as [(seq, type, map)]."""
    deadline = time.monotonic() + (timeout if timeout is not None else tmo(60))
    out = []
    nxt = from_seq
    while True:
        res, events = replay_range(endpoint, nxt, limit)
        out.extend(events)
        if not events:
            break
        if res["next"] != events[-1][0] + 1:
            raise AssertionError(f"replay from {nxt}: next {res['next']} after seq "
                                 f"{events[-1][0]}")
        nxt = res["next"]
        if nxt > res["head"]:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"replay_all from {from_seq} still going at {nxt}")
    return out


def router_head(endpoint):
    """head_seq from the router's status command."""
    res, _ = command_ok(endpoint, "status", {})
    return res["head_seq"]


# --- bus consumer --------------------------------------------------------------------

class BusConsumer:
    """
    A downstream consumer as the docs describe one: a SUB thread keeps every
    event by seq, notices gaps (a seq jump, or a heartbeat head_seq above
    what it has) and fills them by replay on the command socket.

    Kept per seq: (type, map). Anomalies are recorded, not raised, so the
    test can assert on them: `conflicts` (one seq seen with two different
    events), `protocol_errors` (malformed frames).
    """

    def __init__(self, publish, command_ep, start_from=1):
        self.publish = publish
        self.command_ep = command_ep
        self.start_from = start_from
        self.cond = threading.Condition(threading.RLock())
        self.events = {}          # seq -> (type, map)
        self.by_ext = {}          # external_id -> [seq] (message.received only)
        self.contig = start_from - 1  # every seq in [start_from, contig] is here
        self.head_known = 0       # highest seq heard of (events or heartbeats)
        self.heartbeats = 0
        self.last_heartbeat_head = None
        self.from_bus = 0
        self.from_replay = 0
        self.bus_duplicates = 0
        self.replays = 0
        self.replay_failures = 0
        self.conflicts = []
        self.protocol_errors = []
        self._stop = threading.Event()
        self._ctx = zmq.Context()
        self._thread = threading.Thread(target=self._run, name="bus-consumer", daemon=True)
        self._next_fill = 0.0
        self._error = None

    # lifecycle

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=tmo(10))
        self._ctx.term()

    def wait_connected(self, timeout=None):
        """Waits for the first heartbeat: from then on, the SUB socket gets the bus."""
        self.wait_for(lambda c: c.heartbeats > 0, timeout or tmo(10), "a first heartbeat")

    # thread

    def _run(self):
        sub = self._ctx.socket(zmq.SUB)
        try:
            sub.setsockopt(zmq.LINGER, 0)
            sub.setsockopt(zmq.RCVHWM, 0)  # never drop on our side
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.connect(self.publish)
            poller = zmq.Poller()
            poller.register(sub, zmq.POLLIN)
            while not self._stop.is_set():
                if poller.poll(100):
                    for _ in range(5000):
                        try:
                            frames = sub.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        self._on_frames(frames)
                self._fill_gaps()
        except Exception as e:  # reported by wait_for
            with self.cond:
                self._error = repr(e)
                self.cond.notify_all()
        finally:
            sub.close(0)

    def _on_frames(self, frames):
        if len(frames) != 2:
            self._protocol_error(f"{len(frames)} frames: {frames[:3]!r}")
            return
        try:
            t = frames[0].decode()
            m = msgpack.unpackb(frames[1], raw=False)
        except Exception as e:
            self._protocol_error(f"undecodable frames: {e!r}")
            return
        if not isinstance(m, dict):
            self._protocol_error(f"{t}: body is not a map: {m!r}")
            return
        if t == HEARTBEAT:
            head = m.get("head_seq")
            if not isinstance(head, int):
                self._protocol_error(f"heartbeat without head_seq: {m!r}")
                return
            with self.cond:
                self.heartbeats += 1
                self.last_heartbeat_head = head
                self.head_known = max(self.head_known, head)
                self.cond.notify_all()
            return
        seq = m.get("seq")
        if m.get("type") != t or not isinstance(seq, int) or seq < 1:
            self._protocol_error(f"frame type {t!r} with event {m!r}")
            return
        self._store(seq, t, m, from_bus=True)

    def _protocol_error(self, what):
        with self.cond:
            self.protocol_errors.append(what)
            self.cond.notify_all()

    def _store(self, seq, t, m, from_bus):
        with self.cond:
            if from_bus:
                self.from_bus += 1
            else:
                self.from_replay += 1
            self.head_known = max(self.head_known, seq)
            if seq < self.start_from:
                return
            old = self.events.get(seq)
            if old is not None:
                if from_bus:
                    self.bus_duplicates += 1
                if old != (t, m):
                    self.conflicts.append((seq, old, (t, m)))
                return
            self.events[seq] = (t, m)
            if t == "message.received":
                self.by_ext.setdefault(m.get("external_id"), []).append(seq)
            while self.contig + 1 in self.events:
                self.contig += 1
            self.cond.notify_all()

    def _fill_gaps(self):
        with self.cond:
            want_from = self.contig + 1
            want_to = self.head_known
        if want_to < want_from or time.monotonic() < self._next_fill:
            return
        # Replay the lowest missing range; events we have are compared, not replaced.
        try:
            limit = min(1000, want_to - want_from + 1)
            _, events = replay_range(self.command_ep, want_from, limit, timeout=tmo(2),
                                     ctx=self._ctx)
            with self.cond:
                self.replays += 1
            for seq, t, m in events:
                self._store(seq, t, m, from_bus=False)
            if not events:
                self._next_fill = time.monotonic() + 0.2
        except (CommandError, zmq.ZMQError):
            with self.cond:
                self.replay_failures += 1
            # The router may be restarting: try again shortly.
            self._next_fill = time.monotonic() + 0.2

    # queries (call with or without the lock; the lock is reentrant)

    def describe(self):
        with self.cond:
            return (f"bus consumer: contiguous up to seq {self.contig}, highest known "
                    f"{self.head_known}, {len(self.events)} events ({self.from_bus} from bus, "
                    f"{self.from_replay} from replay, {self.replays} replays, "
                    f"{self.replay_failures} failed), {self.heartbeats} heartbeats "
                    f"(last head {self.last_heartbeat_head}), {len(self.conflicts)} conflicts, "
                    f"{len(self.protocol_errors)} protocol errors, thread error {self._error}")

    def complete_to(self, seq):
        """True when every event up to seq is here."""
        return self.contig >= seq

    def caught_up(self):
        """Has everything up to the last heartbeat head."""
        with self.cond:
            return (self.last_heartbeat_head is not None
                    and self.contig >= self.last_heartbeat_head)

    def seqs_of(self, ext_id):
        with self.cond:
            return list(self.by_ext.get(ext_id, []))

    def has(self, ext_id):
        with self.cond:
            return ext_id in self.by_ext

    def event(self, seq):
        with self.cond:
            return self.events.get(seq)

    def snapshot(self):
        """The contiguous events as [(seq, type, map)], in seq order."""
        with self.cond:
            return [(s,) + self.events[s] for s in range(self.start_from, self.contig + 1)]

    def received(self, ext_id):
        """The message.received map for ext_id (the first one), or None."""
        with self.cond:
            seqs = self.by_ext.get(ext_id)
            return self.events[seqs[0]][1] if seqs else None

    def wait_for(self, pred, timeout, what):
        """Waits until pred(self) is true (checked under the lock) or fails."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if self._error:
                    raise AssertionError(f"bus consumer failed: {self._error}")
                if pred(self):
                    return
                rem = deadline - time.monotonic()
                if rem <= 0:
                    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}; "
                                         f"{self.describe()}")
                self.cond.wait(min(rem, 0.5))

    def wait_message(self, ext_id, timeout=None):
        """Waits for message.received of ext_id (gap-filled) and returns its map."""
        self.wait_for(lambda c: ext_id in c.by_ext, timeout or tmo(10),
                      f"message.received with external_id {ext_id!r}")
        return self.received(ext_id)

    def wait_heartbeat(self, timeout=None):
        """Waits for a heartbeat (received from now on) and returns its head_seq."""
        with self.cond:
            n = self.heartbeats
        self.wait_for(lambda c: c.heartbeats > n, timeout or tmo(10), "a new heartbeat")
        return self.last_heartbeat_head


# --- the gateway -----------------------------------------------------------------------

# Gateways started and not cleaned up yet: killed if the test run itself is
# terminated (e.g. by a ctest timeout), when no cleanup would run.
_LIVE = set()
_TMPDIRS = set()


def _on_terminate(signum, frame):
    for gw in list(_LIVE):
        try:
            gw.kill()
        except Exception:
            pass
    for d in list(_TMPDIRS):
        shutil.rmtree(d, ignore_errors=True)
    os._exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_terminate)


class Gateway:
    """One gatewayd with its config and state folder inside `root`."""

    def __init__(self, root, connector_name="api", token=None, **config_kw):
        self.root = root
        self.state_dir = os.path.join(root, "state")
        self.config_path = os.path.join(root, "gateway.yaml")
        p = free_ports(4)
        self.ports = {"ingest": p[0], "publish": p[1], "command": p[2], "api": p[3]}
        self.publish = f"tcp://127.0.0.1:{self.ports['publish']}"
        self.command_ep = f"tcp://127.0.0.1:{self.ports['command']}"
        self.api_port = self.ports["api"]
        self.connector_name = connector_name
        self.connectors = [connector_name] if config_kw.get("connectors", True) else []
        self.token = token or secrets.token_hex(16)
        write_config(self.config_path, self.state_dir, self.ports,
                     connector_name=connector_name, **config_kw)
        self.env = dict(os.environ)
        self.env["GATEWAY_API_TOKEN"] = self.token
        self.proc = None
        self.log_path = None
        self.runs = 0
        self.saved_log = ""
        self.final_status = None
        # Restarts a test causes on purpose (SIGKILL), per child; any other
        # restart is a crash the test did not ask for.
        self.allowed_restarts = {}

    # files

    def run_file(self, name):
        return os.path.join(self.state_dir, "run", name + ".json")

    def status(self):
        return read_json_file(self.run_file("gatewayd"))

    def child(self, name):
        st = self.status() or {}
        for c in st.get("children", []):
            if c.get("name") == name:
                return c
        return None

    def child_pid(self, name):
        """The pid of a running child according to gatewayd.json (fails otherwise)."""
        c = self.child(name)
        if not c or c.get("state") != "running" or not c.get("pid"):
            raise AssertionError(f"child {name!r} is not running: {c!r}")
        return c["pid"]

    def log_tail(self, n=LOG_TAIL_LINES):
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError:
            return ""
        return "".join(lines[-n:])

    # lifecycle

    def start(self, timeout=None):
        self.runs += 1
        self.log_path = os.path.join(self.root, f"gatewayd.{self.runs}.log")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [binary("gatewayd"), "--config", self.config_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env,
                start_new_session=True)
        finally:
            log.close()
        _LIVE.add(self)
        self.wait_ready(timeout or tmo(20))
        return self

    def _ready(self):
        """'' when ready, otherwise what is missing."""
        st = self.status()
        if not st or st.get("pid") != self.proc.pid:
            return "run/gatewayd.json of this gatewayd"
        names = ["router"] + self.connectors
        for name in names:
            c = self.child(name)
            if not c or c.get("state") != "running" or not pid_alive(c.get("pid")):
                return f"child {name} running in gatewayd.json (now {c!r})"
            f = read_json_file(self.run_file(name))
            if not f or f.get("pid") != c["pid"]:
                return f"run/{name}.json written by pid {c['pid']} (now {f!r})"
        if self.connectors:
            c = ApiClient(self.api_port, self.token, timeout=1)
            try:
                r = c.get("/healthz", auth=False)
            except RETRYABLE as e:
                return f"GET /healthz (error {e!r})"
            finally:
                c.close()
            if r.status != 200:
                return f"GET /healthz answering 200 (now {r!r})"
        return ""

    def wait_ready(self, timeout=None):
        timeout = timeout or tmo(20)
        deadline = time.monotonic() + timeout
        why = ""
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"gatewayd exited with {rc} before it was ready\n"
                                     f"--- gatewayd log ---\n{self.log_tail()}")
            why = self._ready()
            if not why:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"gatewayd not ready after {timeout:.1f}s: waiting for "
                                     f"{why}\n--- gatewayd log ---\n{self.log_tail()}")
            time.sleep(0.05)

    def wait_child_restarted(self, name, old_pid, timeout=None):
        """Waits until gatewayd.json shows `name` running again with another pid,
        and its status file comes from that pid. Returns the new pid."""
        def restarted():
            c = self.child(name)
            if not c or c.get("state") != "running" or c.get("pid") in (None, 0, old_pid):
                return None
            if not pid_alive(c["pid"]):
                return None
            f = read_json_file(self.run_file(name))
            if not f or f.get("pid") != c["pid"]:
                return None
            return c["pid"]
        return wait_until(restarted, timeout or tmo(15), f"{name} restarted (old pid {old_pid})",
                          on_fail=lambda: f"gatewayd.json: {self.status()!r}\n{self.log_tail()}")

    def _known_children(self):
        pids = set()
        if self.proc is not None and self.proc.poll() is None:
            pids.update(children_of(self.proc.pid))
        st = self.status() or {}
        for c in st.get("children", []):
            if c.get("pid"):
                pids.add(c["pid"])
        bindir = os.fsencode(bin_dir())
        # Only processes that run our binaries (a pid could have been reused).
        return [p for p in pids if _cmdline(p) and _cmdline(p)[0].startswith(bindir)]

    def stop(self, timeout=None):
        """SIGTERM to gatewayd, waits for it and its children; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        timeout = timeout or tmo(20)
        kids = self._known_children()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"gatewayd did not stop within {timeout:.1f}s of SIGTERM\n"
                                 f"{self.log_tail()}")
        wait_until(lambda: not any(pid_alive(p) for p in kids), tmo(10),
                   f"children {kids} to exit after gatewayd stopped")
        return rc

    def kill(self):
        """SIGKILL to gatewayd and every child it started (for cleanup)."""
        if self.proc is None:
            return
        kids = self._known_children()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in kids:
            try:
                # Children run in their own process group (pgid == pid).
                os.killpg(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.proc.wait(tmo(10))
        except subprocess.TimeoutExpired:
            pass

    def cleanup(self):
        """Stops everything (gently, then not) and keeps the log tail for a report."""
        self.final_status = self.status() if self.proc is not None else None
        try:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.stop(timeout=tmo(10))
                except AssertionError:
                    pass
        finally:
            self.kill()
            _LIVE.discard(self)
            self.saved_log = self.log_tail()

    def log_paths(self):
        return [os.path.join(self.root, f"gatewayd.{i}.log") for i in range(1, self.runs + 1)]

    def sanitizer_reports(self):
        """Lines of every run's log where a sanitizer reported an error."""
        marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                 "WARNING: AddressSanitizer", "ERROR: UndefinedBehaviorSanitizer")
        found = []
        for p in self.log_paths():
            try:
                with open(p, "r", encoding="utf-8", errors="replace") as f:
                    for i, ln in enumerate(f, 1):
                        if any(m in ln for m in marks):
                            found.append(f"{os.path.basename(p)}:{i}: {ln.rstrip()}")
            except OSError:
                pass
        return found

    def unexpected_restarts(self):
        """Children of the last run restarted more often than the test allowed."""
        st = self.final_status or {}
        out = []
        for c in st.get("children", []):
            allowed = self.allowed_restarts.get(c.get("name"), 0)
            if allowed is not None and c.get("restarts", 0) > allowed:
                out.append(f"{c.get('name')}: {c.get('restarts')} restarts (allowed {allowed}), "
                           f"last exit {c.get('last_exit')}")
        return out

    def check_health(self):
        """Raises when a sanitizer reported something or a child crashed unasked."""
        problems = self.sanitizer_reports() + self.unexpected_restarts()
        if problems:
            raise AssertionError("the gateway was not healthy:\n  " + "\n  ".join(problems[:20])
                                 + f"\n--- log tail ---\n{self.saved_log}")

    # clients

    def client(self, token=None):
        return ApiClient(self.api_port, token if token is not None else self.token)

    def consumer(self, start_from=1):
        return BusConsumer(self.publish, self.command_ep, start_from).start()

    def ctl(self, *args, timeout=None, check=True):
        """Runs gatewayctl --config <ours> args...; returns CompletedProcess (text)."""
        cmd = [binary("gatewayctl"), "--config", self.config_path] + list(args)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=self.env, timeout=timeout or tmo(20))
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout: {p.stdout}\n"
                                 f"stderr: {p.stderr}")
        return p

    def replay_all(self, from_seq=1):
        return replay_all(self.command_ep, from_seq)

    def head(self):
        return router_head(self.command_ep)


# --- test case base ----------------------------------------------------------------------

class GatewayTestCase(unittest.TestCase):
    """
    Gives each test a temporary folder and gateways that are stopped and
    removed afterwards; when the test fails, prints the tail of each
    gateway's log to stderr.
    """

    class_gateway = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gwit-")
        self._gateways = []
        _TMPDIRS.add(self.tmp)
        self.addCleanup(_TMPDIRS.discard, self.tmp)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def start_gateway(self, sub="gw", **kw):
        root = os.path.join(self.tmp, sub)
        os.makedirs(root, exist_ok=True)
        return self.run_gateway(Gateway(root, **kw))

    def run_gateway(self, gw):
        """Starts gw (already configured); it is stopped and its logs checked
        when the test ends."""
        self._gateways.append(gw)
        # Cleanups run last-in first-out: stop first, then check the logs.
        self.addCleanup(gw.check_health)
        self.addCleanup(gw.cleanup)
        return gw.start()

    def start_consumer(self, gw, start_from=1, wait=True):
        c = gw.consumer(start_from)
        self.addCleanup(c.stop)
        if wait:
            c.wait_connected()
        return c

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            self._print_logs()
        return result

    def _print_logs(self):
        out = []
        for gw in getattr(self, "_gateways", []):
            tail = gw.saved_log or gw.log_tail()
            out.append(f"--- tail of {gw.log_path} ---\n{tail}")
        cg = type(self).class_gateway
        if cg is not None:
            out.append(f"--- tail of {cg.log_path} (class gateway) ---\n{cg.log_tail()}")
        if out:
            sys.stderr.write("\n" + "\n".join(out) + "\n")
            sys.stderr.flush()
