"""
dovecot - a throw-away Dovecot IMAP server for the email tests.

Starts Debian's /usr/sbin/dovecot in the foreground with a self-contained
config in a temporary folder: IMAP only, on a free loopback port, users in
a passwd-file, each with a Maildir under the folder, every runtime file
(base_dir, state_dir, logs) inside it. Nothing of the system's Dovecot
(/etc/dovecot, its service) is used or touched.

Plain IMAP on loopback by default; tls=True adds an implicit-TLS port and
STARTTLS with a self-signed certificate made by openssl. lmtp=True adds an
LMTP listener (Debian's dovecot-lmtpd) that delivers to the users'
Maildirs (the recipient's local part names the user, whatever the domain),
and an authentication listener that an SMTP server (smtp.py) checks its
SASL logins against, so that one passwd-file serves IMAP and SMTP.
oauth_url="http://127.0.0.1:PORT/introspect" adds OAuth 2.0 logins (SASL
XOAUTH2 and OAUTHBEARER, for IMAP and for that SMTP server alike): Dovecot's
oauth2 passdb asks that introspection endpoint (RFC 7662, POST token=...)
about each token and takes the login when it answers {"active": true,
"username": USER}.

Dovecot refuses to run mail processes as root: started by root (as in CI),
mail processes run as the system user "mail" and own the Maildirs, login
and internal processes use the dovenull and dovecot accounts the Debian
package creates; started by another user, every process runs as that user.
"""

import grp
import imaplib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
import unittest

import gwtest
from gwtest import tmo

DOVECOT = "/usr/sbin/dovecot"
LMTP = "/usr/lib/dovecot/lmtp"


def available(lmtp=False):
    """'' when Dovecot can run here, else why not."""
    if not os.access(DOVECOT, os.X_OK):
        return f"{DOVECOT} is missing (scripts/setup-tests.sh installs dovecot-imapd)"
    if lmtp and not os.access(LMTP, os.X_OK):
        return f"{LMTP} is missing (scripts/setup-tests.sh installs dovecot-lmtpd)"
    for user in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"the system user {user} is missing (the dovecot-core package creates it)"
    return ""


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(1)
            return s.recv(64).startswith(b"* OK")
    except OSError:
        return False


class Dovecot:
    """One server. users: {name: password}. Call start(), then stop()."""

    def __init__(self, root, users, tls=False, lmtp=False, oauth_url=None):
        self.root = root
        self.oauth_url = oauth_url
        self.users = dict(users)
        self.tls = tls
        self.lmtp = lmtp
        ports = gwtest.free_ports(4)
        self.port = ports[0]
        self.tls_port = ports[1] if tls else 0
        self.lmtp_port = ports[2] if lmtp else 0
        self.auth_port = ports[3] if lmtp else 0
        self.proc = None
        # Dovecot never runs mail processes as root: as root, mail belongs to
        # the system user "mail"; as anyone else, every process is that user.
        if os.getuid() == 0:
            self.mail_user, self.internal_user, self.login_user = "mail", "dovecot", "dovenull"
            self.internal_group = "dovecot"
        else:
            me = pwd.getpwuid(os.getuid()).pw_name
            self.mail_user = self.internal_user = self.login_user = me
            self.internal_group = grp.getgrgid(os.getgid()).gr_name
        self.conf = os.path.join(root, "dovecot.conf")
        self.log = os.path.join(root, "dovecot.log")
        self.cert = os.path.join(root, "cert.pem")
        self.key = os.path.join(root, "key.pem")

    def _own(self, path):
        """Gives path to the mail user (the test runs as root, mail does not)."""
        if os.getuid() == 0:
            pw = pwd.getpwnam(self.mail_user)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def maildir(self, user):
        return os.path.join(self.root, "home", user, "Maildir")

    # config

    def _write_certificate(self):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", self.key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=tmo(60))

    def _open_path(self):
        """Lets the mail user walk down to its home: o+x on root and every
        parent that lacks it (mkdtemp's folders are 0700)."""
        d = os.path.abspath(self.root)
        while d != "/":
            st = os.stat(d)
            if not st.st_mode & stat.S_IXOTH:
                os.chmod(d, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
            d = os.path.dirname(d)

    def _write_config(self):
        mail = pwd.getpwnam(self.mail_user)
        self._open_path()
        passwd = os.path.join(self.root, "passwd")
        with open(passwd, "w", encoding="utf-8") as f:
            for user, pw in self.users.items():
                home = os.path.join(self.root, "home", user)
                os.makedirs(home, exist_ok=True)
                self._own(home)
                # uid/gid come from userdb's override_fields: passwd-file
                # refuses uid 0 in the file itself.
                f.write(f"{user}:{{PLAIN}}{pw}::::{home}::\n")
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        ssl = "no"
        extra = ""
        if self.tls:
            self._write_certificate()
            ssl = "yes"
            extra = (f"ssl_cert = <{self.cert}\nssl_key = <{self.key}\n")
        imaps = (f"  inet_listener imaps {{\n    address = 127.0.0.1\n"
                 f"    port = {self.tls_port}\n    ssl = yes\n  }}\n") if self.tls else \
            "  inet_listener imaps {\n    port = 0\n  }\n"
        lmtp = (f"service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n"
                f"    port = {self.lmtp_port}\n  }}\n}}\n"
                f"service auth {{\n  inet_listener {{\n    address = 127.0.0.1\n"
                f"    port = {self.auth_port}\n  }}\n}}\n"
                "protocol lmtp {\n  postmaster_address = postmaster@localhost\n}\n"
                # A refused SMTP login is answered at once, not after 2 s.
                "auth_failure_delay = 0\n"
                ) if self.lmtp else ""
        mechs, oauth = self._oauth_config()
        text = f"""# generated by tests/integration/dovecot.py
protocols = imap{" lmtp" if self.lmtp else ""}
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log}
info_log_path = {self.log}
ssl = {ssl}
{extra}disable_plaintext_auth = no
auth_mechanisms = {mechs}
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {self.internal_user}
default_internal_group = {self.internal_group}
default_login_user = {self.login_user}
mail_location = maildir:~/Maildir
mail_privileged_group =
# Dovecot's default (imap_idle_notify_interval 2 min) and IDLE work as shipped.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
  mechanisms = plain login
}}
{oauth}
# The user is the local part: LMTP's recipients are addresses.
userdb {{
  driver = passwd-file
  args = username_format=%n {passwd}
  override_fields = uid={mail.pw_uid} gid={mail.pw_gid}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Archive {{
    auto = create
  }}
  mailbox Sent {{
    auto = create
    special_use = \\Sent
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
{imaps}}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
{lmtp}"""
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)

    def _oauth_config(self):
        """auth_mechanisms and the oauth2 passdb (none without oauth_url)."""
        if not self.oauth_url:
            return "plain login", ""
        ext = os.path.join(self.root, "dovecot-oauth2.conf.ext")
        with open(ext, "w", encoding="utf-8") as f:
            f.write(f"introspection_mode = post\nintrospection_url = {self.oauth_url}\n"
                    "force_introspection = yes\nusername_attribute = username\n"
                    "active_attribute = active\nactive_value = true\n")
        return ("plain login xoauth2 oauthbearer",
                f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {ext}\n}}\n")

    # lifecycle

    def start(self):
        self._write_config()
        logf = open(os.path.join(self.root, "dovecot.stderr"), "wb")
        try:
            self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         start_new_session=True)
        finally:
            logf.close()
        deadline = time.monotonic() + tmo(20)
        while not _port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise AssertionError(f"dovecot did not answer on 127.0.0.1:{self.port}\n{tail}")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(tmo(10))
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(tmo(10))
        # The master's children leave with it; make sure none stays behind.
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None

    def log_tail(self, n=40):
        out = []
        for p in (self.log, os.path.join(self.root, "dovecot.stderr")):
            try:
                with open(p, "r", encoding="utf-8", errors="replace") as f:
                    out += f.readlines()[-n:]
            except OSError:
                pass
        return "".join(out)

    # clients

    def imap(self, user):
        """A logged-in imaplib client (plain, loopback)."""
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=tmo(20))
        c.login(user, self.users[user])
        return c

    def append(self, user, raw, mailbox="INBOX", flags=""):
        """Appends raw bytes to mailbox over IMAP; returns the new UID."""
        c = self.imap(user)
        try:
            typ, data = c.append(mailbox, flags, None, raw)
            if typ != "OK":
                raise AssertionError(f"APPEND to {mailbox} answered {typ} {data!r}")
            # APPENDUID validity uid
            text = data[0].decode() if data and data[0] else ""
            if "APPENDUID" in text:
                return int(text.split("APPENDUID", 1)[1].split("]")[0].split()[1])
            return None
        finally:
            c.logout()

    def create_mailbox(self, user, name):
        c = self.imap(user)
        try:
            c.create(name)
        finally:
            c.logout()

    def flags(self, user, mailbox="INBOX"):
        """{uid: set of flags} of every message of mailbox."""
        c = self.imap(user)
        try:
            typ, _ = c.select(mailbox, readonly=True)
            if typ != "OK":
                raise AssertionError(f"cannot select {mailbox}")
            typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
            out = {}
            for item in data or []:
                if not item:
                    continue
                s = item.decode() if isinstance(item, bytes) else item[0].decode()
                if "UID " not in s:
                    continue
                uid = int(s.split("UID ", 1)[1].split()[0].rstrip(")"))
                fl = s.split("FLAGS (", 1)[1].split(")", 1)[0] if "FLAGS (" in s else ""
                out[uid] = set(fl.split())
            return out
        finally:
            c.logout()

    def count(self, user, mailbox="INBOX"):
        c = self.imap(user)
        try:
            typ, data = c.select(mailbox, readonly=True)
            return int(data[0])
        finally:
            c.logout()

    def uidvalidity(self, user, mailbox="INBOX"):
        c = self.imap(user)
        try:
            typ, data = c.status(mailbox, "(UIDVALIDITY)")
            return int(data[0].decode().split("UIDVALIDITY", 1)[1].strip(" )"))
        finally:
            c.logout()

    def drop(self, user, name, raw, mailbox=""):
        """Writes a message straight into the Maildir's new/ (no IMAP)."""
        base = self.maildir(user) if not mailbox else os.path.join(self.maildir(user),
                                                                  "." + mailbox)
        for d in ("", "tmp", "new", "cur"):
            p = os.path.join(base, d)
            if not os.path.isdir(p):
                os.makedirs(p)
                self._own(p)
        tmp = os.path.join(base, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        self._own(tmp)
        os.rename(tmp, os.path.join(base, "new", name))

    def wipe_mailbox_index(self, user):
        """Forgets INBOX's UIDs: the next session sees a new UIDVALIDITY."""
        md = self.maildir(user)
        for name in os.listdir(md):
            if name.startswith("dovecot-uidlist") or name.startswith("dovecot.index"):
                os.unlink(os.path.join(md, name))


def skip_unless_available():
    why = available()
    if why:
        raise unittest.SkipTest(why)


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
