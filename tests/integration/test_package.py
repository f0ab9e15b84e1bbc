"""
The Debian package: packaging/build-deb.sh builds it from this source tree
with dpkg-buildpackage -us -uc -b; its files land in their FHS places (the
programs, /etc/omnigate/gateway.yaml as a conffile with the packaged state
directory and user, the unit, the man pages, the widget); its maintainer
scripts create the user and the state directory; and a gateway started from
the package's files, unpacked into a fresh root, takes a message. Installed
for real with dpkg into a fresh root (its maintainer scripts honour
DPKG_ROOT), the packaged gatewayd runs there with the packaged config.

Built once per run of the normal build (the sanitizer build skips it: the
package is built without sanitizers, from the same sources).
"""

import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo, wait_until

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FILES = ("usr/bin/gatewayd", "usr/bin/gateway-router", "usr/bin/gateway-connector",
         "usr/bin/gateway-integration", "usr/bin/gateway-metrics", "usr/bin/gateway-nats",
         "usr/bin/gatewayctl", "etc/omnigate/gateway.yaml",
         "lib/systemd/system/gatewayd.service", "usr/share/man/man8/gatewayd.8.gz",
         "usr/share/man/man8/gatewayctl.8.gz", "usr/share/omnigate/livechat/widget.js")

# What the packaged gatewayd needs of the running system inside its root:
# the shared libraries, the time zones, the language models, /dev (bind mounts in a private mount
# namespace, gone with it).
SYSTEM_BINDS = ("usr/lib", "lib/x86_64-linux-gnu", "lib64", "usr/share/zoneinfo",
                "usr/share/libexttextcat", "dev")

# Runs the packaged gatewayd as systemd would: in the root, the env file's
# variables set, the packaged config (its ports on the loopback of a private
# network namespace, so no other test sees them).
RUN_IN_ROOT = r"""
set -e
R="$1"
for d in $2; do
    mkdir -p "$R/$d"
    mount --bind "/$d" "$R/$d"
done
mkdir -p "$R/proc" "$R/tmp"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"     # the unit's PrivateTmp
ip link set lo up
set -a
. "$R/etc/omnigate/gateway.env"
set +a
exec chroot "$R" /usr/bin/gatewayd
"""


def can_use_namespaces():
    # debhelper's start snippet in the postinst does not look at DPKG_ROOT:
    # on a machine run by systemd it would start the unit of that machine.
    if os.path.isdir("/run/systemd/system"):
        return False
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "nsenter", "ip",
                                                               "chroot", "curl", "useradd")):
        return False
    return subprocess.run(["unshare", "--mount", "--net", "--fork", "true"],
                          capture_output=True).returncode == 0


class Package(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        if gwtest._built_with_asan():
            raise unittest.SkipTest("the package is checked by the normal build's run")
        for tool in ("dpkg-buildpackage", "dh"):
            if not shutil.which(tool):
                raise unittest.SkipTest(f"{tool} is not installed (scripts/setup-tests.sh)")
        cls.out = tempfile.mkdtemp(prefix="gwdeb-")
        # No -dbgsym package: nothing here reads it. Built without
        # optimization, debug information or stripping (noopt, -g0,
        # nostrip) and compressed with gzip -1 rather than xz: what is
        # checked here (files, scripts, installing, running) depends on none
        # of them, and it takes a third off the package's CPU time. The
        # optimized build's own warnings (_FORTIFY_SOURCE included) fail
        # the normal build (CMakeLists.txt), which is the package's
        # compiler and flags but for Debian's hardening.
        env = dict(os.environ, DEB_BUILD_OPTIONS="noautodbgsym noopt nostrip",
                   DEB_CFLAGS_APPEND="-g0", DEB_CXXFLAGS_APPEND="-g0",
                   DPKG_DEB_COMPRESSOR_TYPE="gzip", DPKG_DEB_COMPRESSOR_LEVEL="1")
        p = subprocess.run([os.path.join(SRC, "packaging", "build-deb.sh"), cls.out],
                           capture_output=True, text=True, timeout=tmo(1500), env=env)
        if p.returncode != 0:
            raise AssertionError(f"build-deb.sh failed:\n{p.stdout}\n{p.stderr}")
        debs = [f for f in os.listdir(cls.out) if f.startswith("omnigate_")]
        cls.deb = os.path.join(cls.out, debs[0])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def unpack(self):
        root = os.path.join(self.tmp, "root")
        subprocess.run(["dpkg-deb", "-x", self.deb, root], check=True, timeout=tmo(60))
        return root

    def test_contents_and_scripts(self):
        root = self.unpack()
        for f in FILES:
            self.assertTrue(os.path.exists(os.path.join(root, f)), f)
        with open(os.path.join(root, "etc/omnigate/gateway.yaml"), encoding="utf-8") as f:
            config = f.read()
        self.assertIn("\nstate_dir: /var/lib/omnigate\n", config)
        self.assertIn("\nuser: omnigate\n", config)
        control = os.path.join(self.tmp, "control")
        subprocess.run(["dpkg-deb", "-e", self.deb, control], check=True, timeout=tmo(60))
        with open(os.path.join(control, "conffiles"), encoding="utf-8") as f:
            self.assertIn("/etc/omnigate/gateway.yaml", f.read().split())
        with open(os.path.join(control, "postinst"), encoding="utf-8") as f:
            postinst = f.read()
        self.assertIn("adduser --system --group", postinst)
        self.assertIn('chmod 0700 "$root/var/lib/omnigate"', postinst)
        self.assertIn("deb-systemd-helper", postinst)  # the unit enabled by debhelper
        info = subprocess.run(["dpkg-deb", "-f", self.deb, "Depends"], capture_output=True,
                              text=True, check=True).stdout
        for dep in ("adduser", "libzmq5", "liblmdb0", "libsystemd0"):
            self.assertIn(dep, info)
        # The installed programs find the installed config on their own.
        p = subprocess.run([os.path.join(root, "usr/bin/gatewayd"), "--help"],
                           capture_output=True, text=True, timeout=tmo(10))
        self.assertIn("/etc/omnigate/gateway.yaml", p.stdout)

    def test_gateway_runs_from_the_package(self):
        root = self.unpack()
        old = os.environ.get("GW_BIN_DIR")
        os.environ["GW_BIN_DIR"] = os.path.join(root, "usr", "bin")
        self.addCleanup(os.environ.__setitem__, "GW_BIN_DIR", old)
        # The packaged config is valid as shipped (its connectors wait for
        # their secrets).
        p = subprocess.run([os.path.join(root, "usr/bin/gatewayd"), "--check-config",
                            os.path.join(root, "etc/omnigate/gateway.yaml"), "--state-dir",
                            os.path.join(self.tmp, "check")],
                           capture_output=True, text=True, timeout=tmo(20))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        gw = self.start_gateway()
        c = gw.client()
        self.addCleanup(c.close)
        r = c.post_until_accepted(message_body("pkg-1"), time.monotonic() + tmo(15))
        self.assertEqual(r.status, 202, r)
        wait_until(lambda: gw.head() >= 3, tmo(15), "the message stored by the packaged router")


    def fresh_root(self):
        """An empty system root: its users and groups and an empty dpkg database."""
        root = os.path.join(self.tmp, "sysroot")
        for d in ("etc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
                  "var/log"):
            os.makedirs(os.path.join(root, d))
        for name, text, mode in (("passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
                                 ("group", "root:x:0:\n", 0o644),
                                 ("shadow", "root:*:20000:0:99999:7:::\n", 0o640),
                                 ("gshadow", "root:*::\n", 0o640)):
            with open(os.path.join(root, "etc", name), "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(os.path.join(root, "etc", name), mode)
        open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
        return root

    def dpkg_install(self, root):
        """dpkg -i into `root`, the maintainer scripts run with DPKG_ROOT."""
        with open("/etc/passwd", encoding="utf-8") as f:
            host_passwd = f.read()
        p = subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless",
                            "--force-not-root", "--force-depends", "--log=/dev/null",
                            "-i", self.deb], capture_output=True, text=True, timeout=tmo(120))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open("/etc/passwd", encoding="utf-8") as f:
            self.assertEqual(f.read(), host_passwd)  # the running system is left alone
        p = subprocess.run(["dpkg", f"--root={root}", "-s", "omnigate"], capture_output=True,
                           text=True, timeout=tmo(30))
        self.assertIn("Status: install ok installed", p.stdout)

    def check_installed(self, root):
        """The user, its 0700 state directory and the root-only env file."""
        with open(os.path.join(root, "etc/passwd"), encoding="utf-8") as f:
            users = {ln.split(":")[0]: ln.split(":") for ln in f.read().splitlines()}
        self.assertIn("omnigate", users)
        uid, gid = int(users["omnigate"][2]), int(users["omnigate"][3])
        self.assertLess(uid, 1000)  # a system user
        self.assertEqual(users["omnigate"][5], "/var/lib/omnigate")
        with open(os.path.join(root, "etc/group"), encoding="utf-8") as f:
            self.assertIn(f"omnigate:x:{gid}:", f.read())
        st = os.stat(os.path.join(root, "var/lib/omnigate"))
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o700, uid, gid))
        st = os.stat(os.path.join(root, "etc/omnigate/gateway.env"))
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_size), (0o600, 0, 0))
        wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants/gatewayd.service")
        self.assertTrue(os.path.islink(wants), "the unit enabled in the root")
        return uid

    def start_in_root(self, root, token):
        """The packaged gatewayd with the packaged config and env file."""
        with open(os.path.join(root, "etc/omnigate/gateway.env"), "a", encoding="utf-8") as f:
            f.write(f"GATEWAY_API_TOKEN={token}\n")
        log = open(os.path.join(self.tmp, "root-gatewayd.log"), "wb")
        proc = subprocess.Popen(["unshare", "--mount", "--net", "--fork", "sh", "-c", RUN_IN_ROOT,
                                 "sh", root, " ".join(SYSTEM_BINDS)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
        log.close()
        self.addCleanup(self.stop_in_root, proc)
        run = os.path.join(root, "var/lib/omnigate/run")

        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"gatewayd exited {proc.returncode}\n{self.root_log()}")
            st = gwtest.read_json_file(os.path.join(run, "gatewayd.json")) or {}
            kids = {c.get("name"): c for c in st.get("children", [])}
            for name in ("router", "api"):  # running, and its status file written
                own = gwtest.read_json_file(os.path.join(run, name + ".json")) or {}
                if (kids.get(name, {}).get("state") != "running"
                        or own.get("pid") != kids[name].get("pid")):
                    return False
            return True
        wait_until(ready, tmo(30), "the packaged gatewayd, its router and api connector running")
        return proc

    def root_log(self):
        with open(os.path.join(self.tmp, "root-gatewayd.log"), encoding="utf-8",
                  errors="replace") as f:
            return "--- the packaged gatewayd's log ---\n" + f.read()[-6000:]

    def stop_in_root(self, proc):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(tmo(20))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(tmo(10))

    def post_in_root(self, proc, token, body):
        """POST /v1/messages to the packaged config's listener (127.0.0.1:8088
        in the namespace); the status code."""
        p = subprocess.run(["nsenter", f"--target={proc.pid}", "--net", "curl", "-s", "-o",
                            "/dev/null", "-w", "%{http_code}", "--retry", "20",
                            "--retry-connrefused", "--retry-delay", "1", "-H",
                            f"Authorization: Bearer {token}", "-H",
                            "Content-Type: application/json", "--data-binary", json.dumps(body),
                            "http://127.0.0.1:8088/v1/messages"],
                           capture_output=True, text=True, timeout=tmo(60))
        return p.stdout

    @unittest.skipUnless(can_use_namespaces(), "needs root, unshare, nsenter, ip and curl, "
                         "and no systemd running the machine")
    def test_installed_into_a_root(self):
        """dpkg -i into a fresh root runs the maintainer scripts (DPKG_ROOT):
        the user, its 0700 state directory, the env file, the unit enabled;
        then the packaged gatewayd runs in that root (chroot, private mount
        and network namespaces) with the packaged config and env file, drops
        to the package's user and takes a message."""
        root = self.fresh_root()
        self.dpkg_install(root)
        uid = self.check_installed(root)
        token = "tok" + os.urandom(12).hex()
        proc = self.start_in_root(root, token)
        st = gwtest.read_json_file(os.path.join(root, "var/lib/omnigate/run/gatewayd.json"))
        self.assertEqual(self.post_in_root(proc, token, message_body("pkg-root-1")), "202", st)
        # gatewayd became the package's user: what it made is that user's.
        state = os.path.join(root, "var/lib/omnigate")
        self.assertEqual({os.stat(os.path.join(state, n)).st_uid for n in os.listdir(state)},
                         {uid}, os.listdir(state))
        # The packaged gatewayctl, as the package's user (the sockets are
        # that user's alone), finds everything from the packaged config.
        ctl = ["nsenter", f"--target={proc.pid}", "--mount", "--net", "chroot",
               f"--userspec={uid}:{uid}", root, "/usr/bin/gatewayctl"]
        events, errors = [], []

        def stored():
            p = subprocess.run(ctl + ["replay", "--from", "1", "--json"], capture_output=True,
                               text=True, timeout=tmo(30))
            events[:] = [json.loads(ln) for ln in p.stdout.splitlines()]
            errors[:] = [p.stderr]
            return [e for e in events if e["type"] == "message.received"]
        wait_until(stored, tmo(15), "the message stored by the installed gateway",
                   on_fail=lambda: f"{errors}\n{self.root_log()}")
        self.assertEqual(stored()[0]["external_id"], "pkg-root-1")
        self.assertIn("ticket.created", [e["type"] for e in events])
        self.assertEqual(self.post_in_root(proc, "wrong" + token, message_body("x")), "401")


if __name__ == "__main__":
    unittest.main()
