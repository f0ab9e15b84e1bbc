"""
Who may talk to the gateway (docs/security.md):

- by default the router's sockets are Unix sockets in the state directory's
  owner-only sock/ folder: the gateway's own user (and gatewayctl run as it)
  gets answers, another local user cannot even connect;
- on tcp:// with router.curve_key, only CURVE clients whose public key is
  allowed connect, with the rights of their list: a consumer key reads
  (replay, status) but is refused commands, a command key sends them, a
  stranger's key and a plain client get nothing and are logged;
- a tcp:// endpoint other hosts can reach is refused without curve_key, one
  on loopback too unless router.plain_loopback opts in;
- started as root with `user:`, every process runs as that user and the
  state is that user's alone; no secret shows in a log line, a status file
  or gatewayctl's output.
"""

import json
import os
import pwd
import stat
import subprocess
import unittest

import msgpack
import zmq

import gwtest
from gwtest import GatewayTestCase, binary, message_body, tmo

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
        # ... another user is not: it cannot connect, so no answer comes.
        probe = ("import sys, zmq, msgpack\n"
                 "c = zmq.Context(); s = c.socket(zmq.REQ); s.setsockopt(zmq.LINGER, 0)\n"
                 "s.connect(sys.argv[1]); s.send_multipart([b'status', msgpack.packb({})])\n"
                 "sys.exit(0 if s.poll(1500) else 3)\n")
        nobody = pwd.getpwnam(NOBODY)
        p = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                            "--clear-groups", "/usr/bin/python3", "-c", probe, gw.command_ep],
                           capture_output=True, text=True, timeout=tmo(20))
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)


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
        gw = gwtest.Gateway(root, extra_connector_lines=())
        with open(gw.config_path, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("router:", f"user: {NOBODY}\nrouter:", 1)
        meta_port = gwtest.free_ports(1)[0]
        text += ("  - name: meta\n    type: meta\n"
                 f"    listen: 127.0.0.1:{meta_port}\n"
                 "    app_secret: ${GATEWAY_META_APP_SECRET}\n"
                 "    verify_token: ${GATEWAY_META_VERIFY_TOKEN}\n")
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(gw.config_path, 0o644)
        gw.env.update(GATEWAY_META_APP_SECRET=app_secret, GATEWAY_META_VERIFY_TOKEN=verify)
        gw.connectors = ["api", "meta"]
        self.run_gateway(gw)
        uid = pwd.getpwnam(NOBODY).pw_uid
        for name in ("router", "api", "meta"):
            with open(f"/proc/{gw.child_pid(name)}/status") as f:
                uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
            self.assertEqual({int(u) for u in uids}, {uid}, name)
        self.assertEqual(os.stat(gw.state_dir).st_uid, uid)
        self.assertEqual(os.stat(os.path.join(gw.state_dir, "store", "data.mdb")).st_uid, uid)
        # A scenario, then look for the secrets everywhere an operator looks.
        client = gw.client()
        self.addCleanup(client.close)
        self.assertEqual(client.post_message(message_body("priv-1")).status, 202)
        r = client.post_message(message_body("priv-2"), headers={
            "Authorization": "Bearer wrong-" + gw.token})
        self.assertEqual(r.status, 401)
        gwtest.wait_until(lambda: (gw.head() or 0) >= 3, tmo(10), "the message routed")
        outputs = [gw.log_tail(2000), gw.ctl("status").stdout, gw.ctl("status", "--json").stdout]
        run = os.path.join(gw.state_dir, "run")
        for f in os.listdir(run):
            with open(os.path.join(run, f), errors="replace") as fh:
                outputs.append(fh.read())
        for secret in (gw.token, app_secret, verify):
            for text in outputs:
                self.assertNotIn(secret, text)


if __name__ == "__main__":
    unittest.main()
