"""
ports.py - loopback TCP ports for tests that run side by side (ctest -j).

Ports are taken below the kernel's ephemeral range, where no client
connection of a parallel test can take them between the pick and the
daemon's bind, and reserved across every test process running at once
with a lock file per port (flock), held until the process exits. The unit
tests' C helper (tests/unit/testutil.c, test_free_port) reserves the same
way, in the same folder.

Used by gwtest.free_ports, and by tests in other languages as a program:

    python3 ports.py N

prints N reserved ports on one line, separated by spaces, then holds them
until its standard input is closed (the test ends or dies). It needs no
module beyond Python's own.
"""

import atexit
import fcntl
import os
import random
import socket
import sys
import tempfile
import time

PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), f"omnigate-test-ports-{os.getuid()}")
PORT_FLOOR = 20000
_port_locks = {}  # port -> open lock file, for the life of the process


@atexit.register
def _release_all():
    """Closes the lock files when the process ends (the kernel would too;
    closing them here keeps unittest's ResourceWarnings out of the logs)."""
    for f in _port_locks.values():
        f.close()
    _port_locks.clear()


def _port_range():
    """[lo, hi): ports no ephemeral (client) socket of this machine takes."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", "r") as f:
            ephemeral_lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_lo = 32768
    if ephemeral_lo - PORT_FLOOR >= 1000:
        return PORT_FLOOR, ephemeral_lo
    return 10000, PORT_FLOOR  # an unusual range: at least apart from the floor's


def _bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _reserve_port(port):
    """Takes port for this process if no other test process holds it and
    nothing listens on it; True when taken."""
    if port in _port_locks:
        return False
    os.makedirs(PORT_LOCK_DIR, mode=0o700, exist_ok=True)
    f = open(os.path.join(PORT_LOCK_DIR, str(port)), "a")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return False
    if not _bindable(port):
        f.close()  # closing releases the lock
        return False
    _port_locks[port] = f
    return True


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1, reserved for this process
    against every other test process (see PORT_LOCK_DIR)."""
    lo, hi = _port_range()
    span = hi - lo
    start = random.randrange(span)
    out = []
    for i in range(span):
        port = lo + (start + i) % span
        if _reserve_port(port):
            out.append(port)
            if len(out) == n:
                return out
    raise AssertionError(f"no {n} free ports in {lo}..{hi - 1} ({len(out)} found)")


def hold_fixed(wanted, timeout):
    """Takes the fixed ports `wanted` (a test of a shipped config that names
    them) for this process: waits, up to timeout seconds in all, until no
    other test process holds their lock files (another checkout's suite on
    the same machine may run the same test) and nothing listens on them.
    Raises AssertionError when they stay taken."""
    os.makedirs(PORT_LOCK_DIR, mode=0o700, exist_ok=True)
    deadline = time.monotonic() + timeout
    for port in wanted:
        if port in _port_locks:
            continue
        f = open(os.path.join(PORT_LOCK_DIR, str(port)), "a")
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _bindable(port):
                    break
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            except OSError:
                pass
            if time.monotonic() >= deadline:
                f.close()
                raise AssertionError(f"port {port} stayed taken for {timeout:.0f} s")
            time.sleep(0.2)  # another test holds it: poll its lock
        _port_locks[port] = f


def main(argv):
    if len(argv) != 2 or not argv[1].isdigit() or not 1 <= int(argv[1]) <= 64:
        sys.stderr.write("usage: ports.py N (1..64): prints N reserved ports, holds them "
                         "until stdin closes\n")
        return 2
    print(" ".join(str(p) for p in free_ports(int(argv[1]))), flush=True)
    sys.stdin.read()  # until the test closes it or exits
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
