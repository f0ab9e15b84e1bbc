#!/usr/bin/env python3
"""
test_style_check.py - scripts/style-check.py finds what it must: a 61-line
function with its brace alone on a line and one with its brace on the
signature line (K&R), a banned call; and nothing in a clean file (60-line
functions in both styles, an initializer, a macro, banned names in a
comment and a string). The fixtures (*.c.in beside this file) are copied
out of the tree as .c files: the checker skips the length rule under tests/.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "..", "..", "scripts", "style-check.py")


class StyleCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gw-test-style-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_on(self, fixture):
        path = os.path.join(self.dir, fixture + ".c")
        shutil.copy(os.path.join(HERE, fixture + ".c.in"), path)
        p = subprocess.run([sys.executable, CHECKER, path], capture_output=True, text=True)
        return p.returncode, p.stdout

    def test_long_allman(self):
        rc, out = self.run_on("long_allman")
        self.assertEqual(rc, 1, out)
        self.assertIn("function long_allman() is 61 lines", out)

    def test_long_kr(self):
        rc, out = self.run_on("long_kr")
        self.assertEqual(rc, 1, out)
        self.assertIn("function long_kr() is 61 lines", out)

    def test_banned(self):
        rc, out = self.run_on("banned")
        self.assertEqual(rc, 1, out)
        self.assertIn("banned call sprintf()", out)

    def test_clean(self):
        rc, out = self.run_on("clean")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main()
