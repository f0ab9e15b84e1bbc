"""
The Debian package: packaging/build-deb.sh builds it from this source tree
with dpkg-buildpackage -us -uc -b; its files land in their FHS places (the
programs, /etc/omnigate/gateway.yaml as a conffile with the packaged state
directory and user, the unit, the man pages, the widget); its maintainer
scripts create the user and the state directory; and a gateway started from
the package's files, unpacked into a fresh root, takes a message.

Built once per run of the normal build (the sanitizer build skips it: the
package is built without sanitizers, from the same sources).
"""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo, wait_until

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FILES = ("usr/bin/gatewayd", "usr/bin/gateway-router", "usr/bin/gateway-connector",
         "usr/bin/gatewayctl", "etc/omnigate/gateway.yaml",
         "lib/systemd/system/gatewayd.service", "usr/share/man/man8/gatewayd.8.gz",
         "usr/share/man/man8/gatewayctl.8.gz", "usr/share/omnigate/livechat/widget.js")


class Package(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        if gwtest._built_with_asan():
            raise unittest.SkipTest("the package is checked by the normal build's run")
        for tool in ("dpkg-buildpackage", "dh"):
            if not shutil.which(tool):
                raise unittest.SkipTest(f"{tool} is not installed (scripts/setup-tests.sh)")
        cls.out = tempfile.mkdtemp(prefix="gwdeb-")
        # No -dbgsym package: nothing here reads it.
        env = dict(os.environ, DEB_BUILD_OPTIONS="noautodbgsym")
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
        self.assertIn("chmod 0700 /var/lib/omnigate", postinst)
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


if __name__ == "__main__":
    unittest.main()
