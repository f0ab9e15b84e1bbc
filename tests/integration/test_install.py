"""
The installed layout (`cmake --install BUILD --prefix P`): the programs in
P/bin, the example config as P/etc/omnigate/gateway.yaml, the live-chat
widget in P/share/omnigate/livechat. An installed program finds the config
and the widget relative to its own folder, so the installed copy is used,
not the source tree the build came from.
"""

import filecmp
import os
import re
import subprocess
import unittest
import urllib.request

import gwtest
from gwtest import GatewayTestCase, tmo

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLE = os.path.join(SRC, "gateway", "gateway.example.yaml")
WEB = os.path.join(SRC, "connectors", "livechat", "web")
PROGRAMS = ("gatewayd", "gateway-router", "gateway-connector", "gateway-integration",
            "gateway-metrics", "gatewayctl", "gateway-parse-email", "gateway-telegram",
            "gateway-nats")
MARKER = b"\n/* the installed copy */\n"


class Installed(GatewayTestCase):

    def setUp(self):
        super().setUp()
        build = os.path.dirname(gwtest.bin_dir())
        self.prefix = os.path.join(self.tmp, "prefix")
        subprocess.run(["cmake", "--install", build, "--prefix", self.prefix], check=True,
                       capture_output=True, timeout=tmo(120))
        self.bin = os.path.join(self.prefix, "bin")
        self.share = os.path.join(self.prefix, "share", "omnigate", "livechat")
        self.config = os.path.join(self.prefix, "etc", "omnigate", "gateway.yaml")
        # The gateways of this test run the installed programs.
        old = os.environ.get("GW_BIN_DIR")
        os.environ["GW_BIN_DIR"] = self.bin
        self.addCleanup(os.environ.__setitem__, "GW_BIN_DIR", old)

    def test_layout(self):
        for name in PROGRAMS:
            self.assertTrue(os.access(os.path.join(self.bin, name), os.X_OK), name)
        self.assertTrue(filecmp.cmp(self.config, EXAMPLE, shallow=False))
        for name in ("widget.js", "index.html"):
            self.assertTrue(filecmp.cmp(os.path.join(self.share, name),
                                        os.path.join(WEB, name), shallow=False), name)
        # Without --config, an installed gatewayd reads the installed config.
        out = subprocess.run([os.path.join(self.bin, "gatewayd"), "--help"],
                             capture_output=True, text=True, timeout=tmo(10)).stdout
        m = re.search(r"--config FILE\s+config file \(default (\S+)\)", out)
        self.assertIsNotNone(m, out)
        self.assertTrue(os.path.samefile(m.group(1), self.config), m.group(1))

    def test_livechat_serves_the_installed_widget(self):
        with open(os.path.join(self.share, "widget.js"), "ab") as f:
            f.write(MARKER)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        port = gwtest.free_ports(1)[0]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(["  - name: chat", "    type: livechat", "    enabled: true",
                               f"    listen: \"127.0.0.1:{port}\"",
                               "    secret: ${GATEWAY_LIVECHAT_SECRET}"]) + "\n")
        gw.env["GATEWAY_LIVECHAT_SECRET"] = "install-test-secret-0123456789"
        gw.connectors.append("chat")
        self.run_gateway(gw)

        def widget():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/widget.js",
                                            timeout=tmo(5)) as r:
                    return r.read()
            except OSError:
                return None
        gwtest.wait_until(lambda: widget() is not None, tmo(20), "the widget served")
        self.assertTrue(widget().endswith(MARKER))


if __name__ == "__main__":
    unittest.main()
