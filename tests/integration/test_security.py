"""
Who may talk to the gateway (docs/security.md):

- by default the router's sockets are Unix sockets in the state directory's
  owner-only sock/ folder: the gateway's own user (and gatewayctl run as it)
  gets answers, another local user cannot even connect;
- on tcp:// with router.curve_key, only CURVE clients whose public key is
  allowed connect, with the rights of their list: a consumer key reads
  (replay, status) but is refused commands, a command key sends them, a
  stranger's key and a plain client get nothing and are logged;
- the gateway's own programs prove router.curve_client_key when set, and a
  gatewayctl elsewhere its --curve-key (or GATEWAY_CURVE_KEY) with only
  router.curve_server_public: a consumer key tails and replays but its
  commands are refused, a command key sends them, a consumer key on ingest
  is refused and logged; the ipc sockets (command, ingest, publish) reach
  no other local user; no key's secret half shows in a log, a status file
  or `gatewayctl status`;
- a tcp:// endpoint other hosts can reach is refused without curve_key, one
  on loopback too unless router.plain_loopback opts in;
- started as root with `user:`, every process runs as that user and the
  state is that user's alone; after a scenario (API messages and a wrong
  token, a signed Meta webhook, a kept one and a forged one, a live-chat
  visitor with a site identity and a reply) no secret (tokens, app secret,
  verify token, the live chat's secret and identity_secret) shows in a log
  line, a status file, `gatewayctl status` or `quarantine list|show`.
"""

import hashlib
import hmac
import http.client
import json
import os
import pwd
import random
import stat
import subprocess
import unittest

import msgpack
import zmq

import gwtest
import ports
from gwtest import GatewayTestCase, binary, message_body, tmo
from test_meta import WA, read_fixture, unique_wa

try:
    import websocket  # Debian's python3-websocket
except ImportError:  # pragma: no cover - scripts/setup.sh installs it
    websocket = None

NOBODY = "nobody"


def set_endpoints(gw, lines):
    """Replaces the router's three endpoint lines of gw's config by `lines`."""
    with open(gw.config_path, encoding="utf-8") as f:
        text = f.read().splitlines()
    out = [ln for ln in text if not ln.startswith(("  ingest:", "  publish:", "  command:"))]
    i = out.index("router:") + 1
    out[i:i] = ["  " + ln for ln in lines]
    with open(gw.config_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def command(endpoint, name, args, key=None, server=None, timeout_ms=3000):
    """[name, args] on `endpoint`, as a REQ client with an optional CURVE key
    (a dict with public/secret Z85); the decoded answer, or None when none
    came in time."""
    ctx = zmq.Context()
    s = ctx.socket(zmq.REQ)
    try:
        s.setsockopt(zmq.LINGER, 0)
        if key:
            s.curve_publickey = key["public"].encode()
            s.curve_secretkey = key["secret"].encode()
            s.curve_serverkey = server.encode()
        s.connect(endpoint)
        s.send_multipart([name.encode(), msgpack.packb(args)])
        if not s.poll(timeout_ms):
            return None
        frames = s.recv_multipart()
        return [frames[0].decode(), msgpack.unpackb(frames[1], raw=False)] + frames[2:]
    finally:
        s.close()
        ctx.term()


# Connects to one of the router's sockets (argv: name, endpoint) as its
# clients do; exit 0 when the router answers (a command's answer, an
# ingest ack, a heartbeat on publish), 3 when nothing comes in 1.5 s.
IPC_PROBE = """
import sys, zmq, msgpack
name, ep = sys.argv[1], sys.argv[2]
kind = {"command": zmq.REQ, "ingest": zmq.DEALER, "publish": zmq.SUB}[name]
c = zmq.Context(); s = c.socket(kind); s.setsockopt(zmq.LINGER, 0)
if name == "publish":
    s.setsockopt(zmq.SUBSCRIBE, b"")
s.connect(ep)
if name == "command":
    s.send_multipart([b"status", msgpack.packb({})])
if name == "ingest":
    s.send_multipart([b"msg", b"\\0" * 8, msgpack.packb({"type": "message.received"})])
sys.exit(0 if s.poll(1500) else 3)
"""


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def curve_ingest(port, key, server):
    """An IngestClient on tcp://127.0.0.1:port proving `key`."""
    ctx = zmq.Context()
    c = gwtest.IngestClient.__new__(gwtest.IngestClient)
    c._own, c.ctx = True, ctx
    c.sock = ctx.socket(zmq.DEALER)
    c.sock.setsockopt(zmq.LINGER, 0)
    c.sock.curve_publickey = key["public"].encode()
    c.sock.curve_secretkey = key["secret"].encode()
    c.sock.curve_serverkey = server.encode()
    c.sock.connect(f"tcp://127.0.0.1:{port}")
    c.key = 1 << 40
    return c


def read_key(path):
    """{public, secret} from a gatewayctl keys file."""
    k = {}
    with open(path, encoding="utf-8") as f:
        for ln in f:
            ln = ln.strip()
            for name in ("public", "secret"):
                if ln.startswith(name + "-key"):
                    k[name] = ln.split('"')[1]
    return k


class DefaultIpc(GatewayTestCase):
    """The default: Unix sockets only the gateway's user can reach."""

    def test_sockets_are_owner_only(self):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        set_endpoints(gw, [])
        sock = os.path.join(gw.state_dir, "sock")
        gw.publish = f"ipc://{sock}/publish"
        gw.command_ep = f"ipc://{sock}/command"
        self.run_gateway(gw)
        # The folder and the state are the owner's alone.
        self.assertEqual(stat.S_IMODE(os.stat(sock).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(gw.state_dir).st_mode), 0o700)
        for name in ("ingest", "publish", "command"):
            self.assertTrue(stat.S_ISSOCK(os.stat(os.path.join(sock, name)).st_mode), name)
        for f in ("store/data.mdb", "run/router.json", "spool/api/data.mdb"):
            mode = stat.S_IMODE(os.stat(os.path.join(gw.state_dir, f)).st_mode)
            self.assertEqual(mode & 0o077, 0, f"{f}: {oct(mode)}")
        # The owner (and gatewayctl, from the config) is answered ...
        ans = command(gw.command_ep, "status", {})
        self.assertEqual(ans[0], "ok", ans)
        self.assertIn("head_seq", gw.ctl("status", "--json").stdout)
        client = gw.client()
        self.addCleanup(client.close)
        r = client.post_message(message_body("ipc-1"))
        self.assertEqual(r.status, 202, r)
        # ... another user is not, on any of the three sockets: it cannot
        # connect, so no answer (command, ingest) and no heartbeat (publish)
        # comes. The same probe as the owner gets them.
        nobody = pwd.getpwnam(NOBODY)
        as_nobody = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                     "--clear-groups"]
        for name in ("command", "ingest", "publish"):
            ep = f"ipc://{sock}/{name}"
            p = subprocess.run(["/usr/bin/python3", "-c", IPC_PROBE, name, ep],
                               capture_output=True, text=True, timeout=tmo(20))
            self.assertEqual(p.returncode, 0, (name, p.stdout + p.stderr))
            p = subprocess.run(as_nobody + ["/usr/bin/python3", "-c", IPC_PROBE, name, ep],
                               capture_output=True, text=True, timeout=tmo(20))
            self.assertEqual(p.returncode, 3, (name, p.stdout + p.stderr))


class Curve(GatewayTestCase):
    """tcp:// endpoints with CURVE: allow-lists and rights."""

    def keys(self, *names):
        kdir = os.path.join(self.tmp, "keys")
        os.makedirs(kdir, exist_ok=True)
        out = {}
        for n in names:
            subprocess.run([binary("gatewayctl"), "keys", "generate", n, "--dir", kdir],
                           check=True, capture_output=True)
            out[n] = read_key(os.path.join(kdir, n + ".key"))
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(kdir, n + ".key")).st_mode),
                             0o600)
            self.assertNotIn("secret", open(os.path.join(kdir, n + ".pub")).read().replace(
                "public", ""))
        return kdir, out

    def test_allow_lists_and_rights(self):
        kdir, k = self.keys("router", "reader", "agent", "stranger")
        with open(os.path.join(kdir, "consumers"), "w") as f:
            f.write("# dashboards\n" + open(os.path.join(kdir, "reader.pub")).read())
        with open(os.path.join(kdir, "commanders"), "w") as f:
            f.write(k["agent"]["public"] + " helpdesk\n")
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        p = gw.ports
        set_endpoints(gw, [f"ingest: tcp://127.0.0.1:{p['ingest']}",
                           f"publish: tcp://127.0.0.1:{p['publish']}",
                           f"command: tcp://127.0.0.1:{p['command']}",
                           f"curve_key: {kdir}/router.key",
                           f"curve_consumers: {kdir}/consumers",
                           f"curve_commanders: {kdir}/commanders"])
        self.run_gateway(gw)
        server = k["router"]["public"]
        ep = gw.command_ep
        # The API connector hands over with the router's key: messages flow.
        client = gw.client()
        self.addCleanup(client.close)
        r = client.post_message(message_body("curve-1"))
        self.assertEqual(r.status, 202, r)
        gwtest.wait_until(lambda: (command(ep, "status", {}, k["reader"], server) or
                                   [None, {}])[1].get("head_seq", 0) >= 3,
                          tmo(10), "the message routed")
        # A reader replays and reads, but may not command.
        ans = command(ep, "replay", {"from": 1, "limit": 10}, k["reader"], server)
        self.assertEqual(ans[0], "ok", ans)
        self.assertGreaterEqual(ans[1]["count"], 3)
        send = {"command_id": "c1", "ticket_id": 1, "text": "hi"}
        ans = command(ep, "message.send", send, k["reader"], server)
        self.assertEqual(ans[0], "error", ans)
        self.assertEqual(ans[1]["code"], "GW_EPERM", ans)
        # A command key may.
        ans = command(ep, "message.send", send, k["agent"], server)
        self.assertEqual(ans[0], "ok", ans)
        # A stranger's key and a plain client get nothing; the refusal is logged.
        self.assertIsNone(command(ep, "status", {}, k["stranger"], server, 1500))
        self.assertIsNone(command(ep, "status", {}, None, None, 1500))
        gwtest.wait_until(lambda: "refused a client on command" in gw.log_tail(400), tmo(5),
                          "the refusal in the log")
        self.assertIn(k["stranger"]["public"], gw.log_tail(400))
        # A reader subscribes to the bus; gatewayctl (the router's key) works.
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.curve_publickey = k["reader"]["public"].encode()
        sub.curve_secretkey = k["reader"]["secret"].encode()
        sub.curve_serverkey = server.encode()
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(gw.publish)
        self.assertTrue(sub.poll(tmo(5) * 1000), "no heartbeat for the reader")
        sub.close(0)
        ctx.term()
        self.assertIn("head_seq", gw.ctl("status", "--json").stdout)
        self.assertNotIn(k["router"]["secret"], gw.log_tail(1000))

    def curve_gateway(self, kdir):
        """A gateway on tcp:// with CURVE: reader.pub may read, agent.pub may
        command, conn.pub may hand messages over."""
        with open(os.path.join(kdir, "consumers"), "w") as f:
            f.write(read_text(os.path.join(kdir, "reader.pub")))
        with open(os.path.join(kdir, "commanders"), "w") as f:
            f.write(read_text(os.path.join(kdir, "agent.pub")))
        with open(os.path.join(kdir, "connectors"), "w") as f:
            f.write(read_text(os.path.join(kdir, "conn.pub")))
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        p = gw.ports
        set_endpoints(gw, [f"ingest: tcp://127.0.0.1:{p['ingest']}",
                           f"publish: tcp://127.0.0.1:{p['publish']}",
                           f"command: tcp://127.0.0.1:{p['command']}",
                           f"curve_key: {kdir}/router.key",
                           f"curve_consumers: {kdir}/consumers",
                           f"curve_commanders: {kdir}/commanders",
                           f"curve_connectors: {kdir}/connectors"])
        return gw

    def remote_config(self, gw, kdir):
        """The config of a gatewayctl on another host: the router's
        endpoints and public key, no router.key."""
        path = os.path.join(self.tmp, "remote.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"state_dir: {self.tmp}/remote\nrouter:\n"
                    f"  publish: tcp://127.0.0.1:{gw.ports['publish']}\n"
                    f"  command: tcp://127.0.0.1:{gw.ports['command']}\n"
                    f"  curve_server_public: {kdir}/router.pub\n")
        return path

    def remote_ctl(self, conf, key, *args, env=None):
        cmd = [binary("gatewayctl"), "--config", conf]
        cmd += ["--curve-key", key] if key else []
        return subprocess.run(cmd + list(args), capture_output=True, text=True,
                              timeout=tmo(30), env=env)

    def test_client_keys_have_their_rights(self):
        """A gatewayctl elsewhere proves its own key (--curve-key or
        GATEWAY_CURVE_KEY) and gets that key's rights: a consumer key reads
        (replay, tail) but its commands are refused, a command key sends
        them. The gateway's connectors prove router.curve_client_key; a
        consumer key on ingest is refused and logged (a forged message)."""
        kdir, k = self.keys("router", "reader", "agent", "conn")
        gw = self.curve_gateway(kdir)
        with open(gw.config_path, encoding="utf-8") as f:
            text = f.read()
        # The connectors (and the harness's gatewayctl) use a key of their own.
        with open(os.path.join(kdir, "commanders"), "a") as f:
            f.write(k["conn"]["public"] + "\n")
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(text.replace("router:\n", f"router:\n  curve_client_key: {kdir}/conn.key\n", 1))
        self.run_gateway(gw)
        client = gw.client()
        self.addCleanup(client.close)
        self.assertEqual(client.post_message(message_body("ck-1")).status, 202)
        remote = self.remote_config(gw, kdir)
        reader, agent = os.path.join(kdir, "reader.key"), os.path.join(kdir, "agent.key")
        gwtest.wait_until(lambda: '"ck-1"' in self.remote_ctl(
            remote, reader, "replay", "--from", "1", "--json").stdout, tmo(15),
            "the message replayed with the consumer key",
            on_fail=lambda: repr(self.remote_ctl(remote, reader, "replay", "--from", "1",
                                                 "--json")))
        tail = subprocess.Popen([binary("gatewayctl"), "--config", remote, "--curve-key",
                                 reader, "tail", "--from", "1", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = tail.stdout.readline()
        finally:
            tail.terminate()
            tail.communicate(timeout=tmo(10))
        self.assertIn('"seq"', line)
        out = self.remote_ctl(remote, reader, "replay", "--from", "1", "--json").stdout
        ticket = next(e["ticket_id"] for e in map(json.loads, out.splitlines())
                      if e.get("ticket_id"))
        p = self.remote_ctl(remote, reader, "send", str(ticket), "hi")
        self.assertNotEqual(p.returncode, 0, p)
        self.assertIn("this client's key may only read", p.stdout + p.stderr)
        env = dict(gw.env, GATEWAY_CURVE_KEY=agent)
        p = self.remote_ctl(remote, None, "send", str(ticket), "hi", env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # No client key and no router.key: the remote config says what is missing.
        p = self.remote_ctl(remote, None, "replay", "--from", "1")
        self.assertEqual(p.returncode, 2, p)
        # A consumer key on ingest: no ack, refused and logged.
        ing = curve_ingest(gw.ports["ingest"], k["reader"], k["router"]["public"])
        self.addCleanup(ing.close)
        with self.assertRaises(gwtest.CommandError):
            ing.send(gwtest.inbound_event("api", "api", "forged-1", "+15550001111", "x"),
                     timeout=1.5)
        gwtest.wait_until(lambda: "refused a client on ingest" in gw.log_tail(400), tmo(5),
                          "the refusal on ingest logged")
        self.assertIn(k["reader"]["public"], gw.log_tail(400))
        # No secret half of any key shows where an operator looks.
        outputs = [gw.log_tail(5000), gw.ctl("status").stdout, gw.ctl("status", "--json").stdout]
        run = os.path.join(gw.state_dir, "run")
        for f in os.listdir(run):
            outputs.append(read_text(os.path.join(run, f)))
        for name in ("router", "conn", "reader", "agent"):
            for text in outputs:
                self.assertNotIn(k[name]["secret"], text, name)

    def test_reachable_tcp_needs_curve(self):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        set_endpoints(gw, ["publish: tcp://0.0.0.0:5570"])
        p = subprocess.run([binary("gatewayd"), "--check-config", gw.config_path],
                           capture_output=True, text=True, env=gw.env)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("router.publish: tcp://0.0.0.0:5570 can be reached from other hosts",
                      p.stderr)

    def test_loopback_tcp_needs_opt_in(self):
        """Plain tcp:// on loopback: any local user could command the router,
        so it is refused, by --check-config and at start, unless
        router.plain_loopback says the operator accepts that."""
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        with open(gw.config_path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("  plain_loopback: true\n", text)
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(text.replace("  plain_loopback: true\n", ""))
        want = (f"router.ingest: tcp://127.0.0.1:{gw.ports['ingest']} has no CURVE: any "
                "local user could connect to it; use ipc:// (the default), set "
                "router.curve_key, or set router.plain_loopback: true")
        p = subprocess.run([binary("gatewayd"), "--check-config", gw.config_path],
                           capture_output=True, text=True, env=gw.env, timeout=tmo(20))
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn(want, p.stderr)
        p = subprocess.run([binary("gatewayd"), "--config", gw.config_path],
                           capture_output=True, text=True, env=gw.env, timeout=tmo(20))
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(want, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(gw.run_file("router")), "nothing started")
        # The opt-in: accepted, and said at start.
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(text)
        p = subprocess.run([binary("gatewayd"), "--check-config", gw.config_path],
                           capture_output=True, text=True, env=gw.env, timeout=tmo(20))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.run_gateway(gw)
        gwtest.wait_until(lambda: "has no CURVE: any local user can connect" in
                          gw.log_tail(400), tmo(5), "the warning at start")


class LeastPrivilege(GatewayTestCase):
    """Root with `user:` runs everything as that user; secrets stay out."""

    def test_runs_as_user_and_keeps_secrets(self):
        os.chmod(self.tmp, 0o755)  # nobody must reach its state directory
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, mode=0o755)
        app_secret, verify = "app-secret-" + "b" * 24, "verify-" + "c" * 20
        chat_secret, site_secret = "chat-secret-" + "d" * 24, "site-secret-" + "e" * 24
        gw = gwtest.Gateway(root, extra_connector_lines=())
        with open(gw.config_path, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("router:", f"user: {NOBODY}\nrouter:", 1)
        meta_port, chat_port = gwtest.free_ports(2)
        text += ("  - name: meta\n    type: meta\n"
                 f"    listen: 127.0.0.1:{meta_port}\n"
                 "    app_secret: ${GATEWAY_META_APP_SECRET}\n"
                 "    verify_token: ${GATEWAY_META_VERIFY_TOKEN}\n"
                 "  - name: chat\n    type: livechat\n"
                 f"    listen: 127.0.0.1:{chat_port}\n"
                 "    secret: ${GATEWAY_LIVECHAT_SECRET}\n"
                 "    identity_secret: ${GATEWAY_LIVECHAT_IDENTITY_SECRET}\n")
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(gw.config_path, 0o644)
        gw.env.update(GATEWAY_META_APP_SECRET=app_secret, GATEWAY_META_VERIFY_TOKEN=verify,
                      GATEWAY_LIVECHAT_SECRET=chat_secret,
                      GATEWAY_LIVECHAT_IDENTITY_SECRET=site_secret)
        gw.connectors = ["api", "meta", "chat"]
        self.run_gateway(gw)
        uid = pwd.getpwnam(NOBODY).pw_uid
        for name in ("router", "api", "meta", "chat"):
            with open(f"/proc/{gw.child_pid(name)}/status") as f:
                uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
            self.assertEqual({int(u) for u in uids}, {uid}, name)
        self.assertEqual(os.stat(gw.state_dir).st_uid, uid)
        self.assertEqual(os.stat(os.path.join(gw.state_dir, "store", "data.mdb")).st_uid, uid)
        kept = self.scenario(gw, meta_port, chat_port, app_secret, site_secret)
        # Look for the secrets everywhere an operator looks.
        outputs = [gw.log_tail(5000), gw.ctl("status").stdout, gw.ctl("status", "--json").stdout,
                   gw.ctl("quarantine", "list").stdout,
                   gw.ctl("quarantine", "list", "--json").stdout,
                   gw.ctl("quarantine", "show", kept).stdout,
                   gw.ctl("quarantine", "show", kept, "--json").stdout]
        run = os.path.join(gw.state_dir, "run")
        for f in os.listdir(run):
            with open(os.path.join(run, f), errors="replace") as fh:
                outputs.append(fh.read())
        for secret in (gw.token, app_secret, verify, chat_secret, site_secret):
            for text in outputs:
                self.assertNotIn(secret, text)

    def test_low_port_keeps_only_bind_capability(self):
        """A listener under 1024: started as root with `user:`, the
        connector runs as that user with CAP_NET_BIND_SERVICE alone (an
        ambient capability) and serves on the low port. --check-config warns
        while the user cannot read the config."""
        if os.geteuid() != 0:
            self.skipTest("needs root")
        os.chmod(self.tmp, 0o755)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, mode=0o755)
        gw = gwtest.Gateway(root)
        low = next(p for p in random.sample(range(600, 1000), 400) if ports._reserve_port(p))
        with open(gw.config_path, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("router:", f"user: {NOBODY}\nrouter:", 1).replace(
            f"127.0.0.1:{gw.api_port}", f"127.0.0.1:{low}")
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(text)
        gw.api_port = gw.ports["api"] = low
        os.chmod(gw.config_path, 0o600)  # root's alone: nobody cannot read it
        p = subprocess.run([binary("gatewayd"), "--check-config", gw.config_path],
                           capture_output=True, text=True, env=gw.env, timeout=tmo(20))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"warning: user {NOBODY} cannot read {gw.config_path}", p.stderr)
        os.chmod(gw.config_path, 0o644)
        p = subprocess.run([binary("gatewayd"), "--check-config", gw.config_path],
                           capture_output=True, text=True, env=gw.env, timeout=tmo(20))
        self.assertNotIn("cannot read", p.stderr)
        self.run_gateway(gw)
        with open(f"/proc/{gw.child_pid('api')}/status") as f:
            st = dict(ln.split(":", 1) for ln in f if ":" in ln)
        self.assertEqual({int(u) for u in st["Uid"].split()}, {pwd.getpwnam(NOBODY).pw_uid})
        bind = 1 << 10  # CAP_NET_BIND_SERVICE
        for field in ("CapEff", "CapPrm", "CapAmb"):
            self.assertEqual(int(st[field], 16), bind, (field, st[field]))
        client = gw.client()
        self.addCleanup(client.close)
        self.assertEqual(client.post_message(message_body("low-1")).status, 202)
        self.assertIn("with CAP_NET_BIND_SERVICE alone", gw.log_tail(400))

    def scenario(self, gw, meta_port, chat_port, app_secret, site_secret):
        """API messages (one with a wrong token), a signed Meta webhook and a
        signed unreadable one (kept), a forged one, a live-chat visitor with a
        site identity, and a reply to them; the kept entry's id."""
        bus = self.start_consumer(gw)
        client = gw.client()
        self.addCleanup(client.close)
        self.assertEqual(client.post_message(message_body("priv-1")).status, 202)
        r = client.post_message(message_body("priv-2"), headers={
            "Authorization": "Bearer wrong-" + gw.token})
        self.assertEqual(r.status, 401)
        wa = unique_wa(read_fixture(WA, "message__text.json"), "priv")
        for body, sig, want in ((wa, meta_sign(app_secret, wa), 200),
                                (b"{not json", meta_sign(app_secret, b"{not json"), 200),
                                (wa, meta_sign("wrong-" + app_secret, wa), 401)):
            st = meta_post(meta_port, body, sig)
            self.assertEqual(st, want, body[:40])
        bus.wait_message("wamid.it-priv")
        if websocket is None:
            self.skipTest("python3-websocket is missing (scripts/setup.sh installs it)")
        uid, email, name = "u-77", "ana@example.com", "Ana"
        sig = hmac.new(site_secret.encode(), f"{uid}|{email}|{name}".encode(),
                       hashlib.sha256).hexdigest()
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{chat_port}/chat", subprotocols=["gateway-chat"],
            origin=f"http://127.0.0.1:{chat_port}", timeout=tmo(10))
        self.addCleanup(ws.close)
        ws.send(json.dumps({"type": "hello", "token": None, "last_seen": None,
                            "identity": {"id": uid, "email": email, "name": name,
                                         "sig": sig}}))
        welcome = next_frame(ws, "welcome")
        self.assertEqual(welcome["conversation"], "site:u-77")
        ws.send(json.dumps({"type": "message", "client_id": "c-1", "text": "hello there"}))
        next_frame(ws, "ack")
        m = bus.wait_message(f"{welcome['visitor']}:c-1")
        p = gw.ctl("send", str(m["ticket_id"]), "Hi Ana", "--wait", timeout=tmo(60))
        self.assertIn("delivery sent", p.stdout + p.stderr)
        self.assertEqual(next_frame(ws, "message")["text"], "Hi Ana")
        kept = [e for e in json.loads(gw.ctl("quarantine", "list", "--json").stdout)
                if e.get("instance") == "meta"]
        self.assertEqual(len(kept), 1, kept)
        return kept[0]["id"]


def next_frame(ws, kind):
    """The next live-chat frame of type `kind` (errors fail)."""
    while True:
        f = json.loads(ws.recv())
        if f.get("type") == "error":
            raise AssertionError(f"error frame while waiting for {kind}: {f}")
        if f.get("type") == kind:
            return f


def meta_sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def meta_post(port, body, sig):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=tmo(10))
    try:
        c.request("POST", "/webhooks/meta", body=body,
                  headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


if __name__ == "__main__":
    unittest.main()
