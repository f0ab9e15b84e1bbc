"""
The SMS channel (type: sms, Twilio's wire format) end to end: the real
gatewayd with an SMS connector, webhooks signed as Twilio signs them
(X-Twilio-Signature: HMAC-SHA1 of the public URL and the sorted parameters)
sent over HTTP, and a local stand-in of Twilio's REST API that answers
POST /2010-04-01/Accounts/{AccountSid}/Messages.json as documented (basic
auth checked, 201 with the message's JSON, error bodies {"code",
"message", "more_info", "status"}).

  - an incoming message becomes message.received (TwiML answer once
    durable); a reply goes out From the number the customer wrote to, To
    the customer, with its Body and StatusCallback; Twilio's sid comes back
    as the `sent` status's provider_id; a 503 first is retried; status
    callbacks (sent, delivered; undelivered with ErrorCode) become
    message.status of the reply; the segment count is logged and counted
    (sms.segments in gatewayctl status)
  - STOP: ingested, then a reply fails at once without any request, also
    after the connector was SIGKILLed; START allows replies again, also
    after a SIGKILL of the router (an instance's own account is announced)
  - refusals: a bad, missing or replayed (another URL) signature -> 403 and
    nothing stored, another account's AccountSid -> 403, wrong method,
    path and Content-Type; Twilio errors 21211 and 20003 fail the reply
    with Twilio's code and words
  - a signed form that makes no event (a message without From, a status
    callback with an id over its limit): kept byte for byte, TwiML once
    durable, reingest reads it again as its path does (still unreadable);
    a number over sender_burst is held (TwiML all the same) and released
  - SIGKILL of the connector during a burst of replies: every reply reaches
    the stand-in, duplicates counted and printed, at most send_concurrency
    per kill
  - the shipped example config keeps the SMS connector off, saying why,
    until its variables are set (on the example's port 8088, taken with
    ports.hold_fixed as integration.example does)
"""

import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import secrets
import shutil
import threading
import time
import unittest
import urllib.parse

import gwtest
import integ
import ports
from gwtest import GatewayTestCase, tmo

INSTANCE = "twilio-main"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
PUBLIC_URL = "https://gateway.example.test/omnigate"
PATH = "/webhooks/sms"
STATUS_PATH = "/webhooks/sms/status"
CUSTOMER = "+15550001111"
OUR_NUMBER = "+15550009999"
OTHER_NUMBER = "+15550008888"
CONCURRENCY = 4
SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def twilio_signature(token, url, params):
    """X-Twilio-Signature as Twilio computes it: the URL, then each name and
    value, sorted by name and then by value, a repeated pair once."""
    s = url
    for name in sorted({n for n, _ in params}):
        for value in sorted({v for n, v in params if n == name}):
            s += name + value
    return base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()


def inbound(sid, body, frm=CUSTOMER, to=OUR_NUMBER, extra=()):
    """The parameters of Twilio's incoming-message webhook."""
    return [("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid), ("NumMedia", "0"),
            ("ToCity", "SAN FRANCISCO"), ("FromZip", "94105"), ("SmsSid", sid),
            ("FromState", "CA"), ("SmsStatus", "received"), ("FromCity", "SAN FRANCISCO"),
            ("Body", body), ("FromCountry", "US"), ("To", to), ("ToZip", "94105"),
            ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", ACCOUNT_SID),
            ("From", frm), ("ApiVersion", "2010-04-01")] + list(extra)


def status_callback(sid, status, error_code=None, to=CUSTOMER, frm=OUR_NUMBER):
    """The parameters of Twilio's status callback of an outbound message."""
    p = [("SmsSid", sid), ("SmsStatus", status), ("MessageStatus", status), ("To", to),
         ("MessageSid", sid), ("AccountSid", ACCOUNT_SID), ("From", frm),
         ("ApiVersion", "2010-04-01")]
    if error_code is not None:
        p.append(("ErrorCode", str(error_code)))
    return p


class TwilioStandIn:
    """
    Twilio's Messages resource on loopback. Every request is recorded when
    read (before any delay); one without the account's basic auth is
    answered 401 / 20003; others by the next scripted answer, else 201 with
    the message's JSON and a fresh sid.
    """

    def __init__(self, token):
        self.token = token
        self.cond = threading.Condition()
        self.requests = []
        self.script = []  # (status, dict body, headers)
        self.delay = 0.0
        # MMS files: path -> (media type, bytes); each GET as (path, with
        # the account's credentials or not).
        self.media = {}
        self.media_gets = []
        stand = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                stand._serve(self)

            def do_GET(self):
                stand._serve_media(self)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a connection the killed connector left half-way

        self.server = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _authorized(self, h):
        want = base64.b64encode(f"{ACCOUNT_SID}:{self.token}".encode()).decode()
        return h.headers.get("Authorization", "") == "Basic " + want

    @staticmethod
    def _segments(text):
        return 1 if len(text) <= 160 else -(-len(text) // 153)

    def _created(self, form, sid):
        return {"account_sid": ACCOUNT_SID, "api_version": "2010-04-01",
                "body": form.get("Body", [""])[0], "direction": "outbound-api",
                "error_code": None, "error_message": None, "from": form.get("From", [""])[0],
                "messaging_service_sid": None, "num_media": str(len(form.get("MediaUrl", []))),
                "num_segments": str(self._segments(form.get("Body", [""])[0])),
                "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
                "to": form.get("To", [""])[0],
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"}

    def _answer(self, h, form, ok_path, authorized):
        if not ok_path:
            return 404, {"code": 20404, "message": "The requested resource was not found",
                         "more_info": "https://www.twilio.com/docs/errors/20404",
                         "status": 404}, {}
        if not authorized:
            return 401, {"code": 20003, "message": "Authenticate",
                         "more_info": "https://www.twilio.com/docs/errors/20003",
                         "status": 401}, {}
        if self.script:
            return self.script.pop(0)
        return 201, self._created(form, "SM" + secrets.token_hex(16)), {}

    def _serve(self, h):
        raw = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        form = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
        ok_path = h.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        with self.cond:
            status, doc, headers = self._answer(h, form, ok_path, self._authorized(h))
            self.requests.append({"form": form, "status": status, "doc": doc,
                                  "content_type": h.headers.get("Content-Type"),
                                  "path": h.path, "at": time.monotonic()})
            delay = self.delay
            self.cond.notify_all()
        body = json.dumps(doc).encode()
        try:
            if delay:
                time.sleep(delay)
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass  # the connector went away (killed): it sends the reply again

    def _serve_media(self, h):
        """A file of an MMS: Twilio's Media resource answers the bytes to the
        account's credentials (401 / 20003 without), a deleted one 404 /
        20404; any other path serves without credentials, as a store
        elsewhere would."""
        twilio = h.path.startswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/")
        with self.cond:
            self.media_gets.append((h.path, "Authorization" in h.headers))
            self.cond.notify_all()
        if twilio and not self._authorized(h):
            status, ctype, body = 401, "application/json", json.dumps(
                {"code": 20003, "message": "Authenticate", "status": 401}).encode()
        elif h.path in self.media:
            status, (ctype, body) = 200, self.media[h.path]
        else:
            status, ctype, body = 404, "application/json", json.dumps(
                {"code": 20404, "message": "The requested resource was not found",
                 "more_info": "https://www.twilio.com/docs/errors/20404",
                 "status": 404}).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}; "
                                         f"{len(self.requests)} requests")
                self.cond.wait(min(left, 0.2))

    def count(self):
        with self.cond:
            return len(self.requests)


class SmsCase(GatewayTestCase):

    def start_sms_gateway(self, stand=None, extra=(), token=None, local_url=False,
                          integration=False):
        """An SMS connector beside the API one; local_url: its public_url is
        its own loopback address (what a client that signs the URL it calls,
        such as bench-sms, needs), else PUBLIC_URL; integration: with the
        integration API (integ.IntegGateway)."""
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = integ.IntegGateway(root) if integration else gwtest.Gateway(root)
        self.sms_port = gwtest.free_ports(1)[0]
        self.token = token or secrets.token_hex(16)
        url = f"http://127.0.0.1:{self.sms_port}" if local_url else PUBLIC_URL
        lines = [f"  - name: {INSTANCE}", "    type: sms", "    enabled: true",
                 f"    listen: \"127.0.0.1:{self.sms_port}\"", f"    public_url: {url}",
                 "    account_sid: ${GATEWAY_TWILIO_ACCOUNT_SID}",
                 "    auth_token: ${GATEWAY_TWILIO_AUTH_TOKEN}", "    send_rate_per_s: 0",
                 f"    send_concurrency: {CONCURRENCY}"]
        if stand:
            lines.append(f"    api_base: \"{stand.base}\"")
        lines += ["    " + ln for ln in extra]
        integ.add_connector_lines(gw, lines)
        gw.env["GATEWAY_TWILIO_ACCOUNT_SID"] = ACCOUNT_SID
        gw.env["GATEWAY_TWILIO_AUTH_TOKEN"] = self.token
        gw.connectors.append(INSTANCE)
        self.gw = self.run_gateway(gw)
        gwtest.wait_until(self._healthy, tmo(10), "GET /healthz of the SMS connector")
        return gw

    def stand_in(self, token=None):
        s = TwilioStandIn(token or self.token)
        self.addCleanup(s.close)
        return s

    def _healthy(self):
        try:
            return self.request("GET", "/healthz")[0] == 200
        except gwtest.RETRYABLE:
            return False

    def request(self, method, path, body=b"", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.sms_port, timeout=tmo(10))
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read(), r.getheader("Content-Type")
        finally:
            c.close()

    def webhook(self, params, path=PATH, signature=True, signed_url=None):
        """POSTs the form as Twilio does; signature True signs it over
        public_url + path (or signed_url), a string is sent as is, None
        sends none. Returns (status, body, content type)."""
        body = urllib.parse.urlencode(params).encode()
        h = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
             "I-Twilio-Idempotency-Token": secrets.token_hex(8)}
        if signature is True:
            h["X-Twilio-Signature"] = twilio_signature(self.token, signed_url or
                                                       PUBLIC_URL + path, params)
        elif signature is not None:
            h["X-Twilio-Signature"] = signature
        return self.request("POST", path, body, h)

    def incoming(self, bus, sid, text, **kw):
        st, body, ctype = self.webhook(inbound(sid, text, **kw))
        self.assertEqual((st, body, ctype), (200, b'<?xml version="1.0" encoding="UTF-8"?>'
                                             b'<Response/>', "text/xml"))
        return bus.wait_message(sid)

    def send(self, ticket, text):
        """gatewayctl send --wait: (exit code, output)."""
        p = self.gw.ctl("send", str(ticket), text, "--wait", check=False, timeout=tmo(60))
        return p.returncode, p.stdout + p.stderr

    def sms_counters(self, want):
        """Waits until the connector's own counters (its status file, as
        `gatewayctl status` shows them: sms.<name>) include `want`."""
        def own():
            doc = gwtest.read_json_file(self.gw.run_file(INSTANCE)) or {}
            return doc.get("counters", {}).get("sms", {})
        gwtest.wait_until(lambda: want.items() <= own().items(), tmo(10),
                          f"sms counters {want}", on_fail=lambda: repr(own()))

    def router_counters(self):
        return gwtest.command_ok(self.gw.command_ep, "status", {})[0]["counters"]

    @staticmethod
    def sent_events(bus):
        return [m for _, t, m in bus.snapshot() if t == "message.sent"]

    @staticmethod
    def statuses(bus, seq=None, status=None):
        return [m for _, t, m in bus.snapshot() if t == "message.status" and
                m.get("status") != "queued" and (seq is None or m.get("message_seq") == seq)
                and (status is None or m.get("status") == status)]

    def wait_status(self, bus, seq, status):
        bus.wait_for(lambda c: self.statuses(c, seq, status), tmo(15),
                     f"message.status {status} of the reply at seq {seq}")
        return self.statuses(bus, seq, status)


class Conversation(SmsCase):

    def test_inbound_reply_and_statuses(self):
        self.token = secrets.token_hex(16)
        stand = self.stand_in()
        stand.script = [(503, {"code": 20500, "message": "Internal Server Error",
                               "more_info": "https://www.twilio.com/docs/errors/20500",
                               "status": 503}, {})]
        self.start_sms_gateway(stand, token=self.token)
        bus = self.start_consumer(self.gw)
        m = self.incoming(bus, "SM" + "a" * 32, "Where is my order?")
        self.assertEqual((m["channel"], m["account"]), ("sms", INSTANCE))
        self.assertEqual(m["from"]["address"], CUSTOMER)
        self.assertEqual(m["text"], "Where is my order?")
        self.assertEqual(m["recipients"], [{"address": OUR_NUMBER, "role": "to"}])
        self.assertEqual(json.loads(m["raw"])["FromCity"], "SAN FRANCISCO")
        # The reply: retried after the 503, From the number written to.
        rc, out = self.send(m["ticket_id"], "We are on it")
        self.assertEqual(rc, 0, out)
        self.assertIn("delivery sent", out)
        self.assertEqual([r["status"] for r in stand.requests], [503, 201])
        req = stand.requests[1]
        self.assertEqual(req["content_type"], "application/x-www-form-urlencoded")
        self.assertEqual(req["form"], {"To": [CUSTOMER], "From": [OUR_NUMBER],
                                       "Body": ["We are on it"],
                                       "StatusCallback": [PUBLIC_URL + STATUS_PATH]})
        sid = req["doc"]["sid"]
        sent, = self.sent_events(bus)
        st, = self.wait_status(bus, sent["seq"], "sent")
        self.assertEqual(st["provider_id"], sid)
        # Twilio's callbacks: its "sent" is no news; "delivered" is.
        for status in ("sent", "delivered"):
            self.assertEqual(self.webhook(status_callback(sid, status), STATUS_PATH)[0], 200)
        st, = self.wait_status(bus, sent["seq"], "delivered")
        self.assertEqual((st["external_id"], st["channel"], st["account"]),
                         (sid, "sms", INSTANCE))
        self.assertEqual((st["status_id"], st["recipient"]), (sid + ":delivered", CUSTOMER))
        self.assertEqual(st["ticket_id"], m["ticket_id"])
        self.assertEqual(len(self.statuses(bus, sent["seq"], "sent")), 1)
        self.sms_counters({"messages": 1, "statuses": 2, "refused": 0, "segments": 1})
        self.undelivered_with_code(bus, stand, m)
        self.from_the_number_written_to(bus, stand, m)

    def undelivered_with_code(self, bus, stand, m):
        """A long reply: Twilio counts 2 segments (logged); then its
        callback says undelivered, 30003: failed with Twilio's code."""
        text = "Your parcel left our warehouse today. " * 5
        rc, out = self.send(m["ticket_id"], text)
        self.assertEqual(rc, 0, out)
        sid = stand.requests[-1]["doc"]["sid"]
        self.assertEqual(stand.requests[-1]["doc"]["num_segments"], "2")
        gwtest.wait_until(lambda: f"Twilio took it as {sid}, 2 segments" in
                          self.gw.log_tail(400), tmo(10), "the segments in the log")
        # Outside the log too: sms.segments in gatewayctl status (1 + 2).
        self.sms_counters({"segments": 3})
        self.assertRegex(self.gw.ctl("status").stdout, r"segments[ =:]+3")
        sent = self.sent_events(bus)[-1]
        self.assertEqual(self.webhook(status_callback(sid, "undelivered", 30003),
                                      STATUS_PATH)[0], 200)
        st, = self.wait_status(bus, sent["seq"], "failed")
        self.assertEqual(st["errors"][0]["code"], 30003)
        self.assertEqual(st["errors"][0]["title"], "Unreachable destination handset")

    def from_the_number_written_to(self, bus, stand, m):
        """The customer writes to another of the account's numbers: the
        next reply goes out from that one, on the same ticket."""
        m2 = self.incoming(bus, "SM" + "b" * 32, "Any news?", to=OTHER_NUMBER)
        self.assertEqual(m2["ticket_id"], m["ticket_id"])
        rc, out = self.send(m["ticket_id"], "Tomorrow")
        self.assertEqual(rc, 0, out)
        self.assertEqual(stand.requests[-1]["form"]["From"], [OTHER_NUMBER])
        self.assertNotIn(self.token, self.gw.log_tail(1000))


class Media(SmsCase):

    def test_mms_files_are_kept(self):
        """MediaUrl<i> downloaded before Twilio is answered: the event names
        the stored bytes; the account's credentials go to Twilio's URLs only;
        a deleted file keeps its URL and says why."""
        self.token = secrets.token_hex(16)
        stand = self.stand_in()
        self.start_sms_gateway(stand, token=self.token, integration=True)
        bus = self.start_consumer(self.gw)
        sid = "MM" + "a" * 32
        base = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media"
        png = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
        stand.media[base + "/ME1"] = ("image/png", png)
        stand.media["/store/ME2"] = ("text/plain", b"hello")
        port = stand.server.server_address[1]
        urls = [stand.base + base + "/ME1", f"http://localhost:{port}/store/ME2",
                stand.base + base + "/ME3"]
        extra = [("MediaUrl0", urls[0]), ("MediaContentType0", "image/png"),
                 ("MediaUrl1", urls[1]), ("MediaContentType1", "text/plain"),
                 ("MediaUrl2", urls[2]), ("MediaContentType2", "image/jpeg")]
        params = [(k, "3" if k == "NumMedia" else v) for k, v in inbound(sid, "look")] + extra
        st, body, _ = self.webhook(params)
        self.assertEqual(st, 200, body)
        m = bus.wait_message(sid)
        a = m["attachments"]
        self.assertEqual(len(a), 3, a)
        self.assertEqual((a[0]["ref"], a[0]["size"], a[0]["type"]),
                         ("sha256:" + hashlib.sha256(png).hexdigest(), len(png), "image/png"))
        self.assertEqual(a[1]["ref"], "sha256:" + hashlib.sha256(b"hello").hexdigest())
        for x in a[:2]:
            hexd = x["ref"][len("sha256:"):]
            self.assertTrue(os.path.exists(os.path.join(self.gw.state_dir, "attachments",
                                                        hexd[:2], hexd)), x)
            self.assertNotIn("download_error", x)
        # Served with the declared types (no guess reads "text/plain").
        integ.assert_served(self, self.gw, a[0]["ref"], png, "image/png")
        integ.assert_served(self, self.gw, a[1]["ref"], b"hello", "text/plain")
        self.assertEqual(a[2]["ref"], urls[2])
        self.assertIn("404", a[2]["download_error"])
        gets = dict(stand.media_gets)
        self.assertTrue(gets[base + "/ME1"], "Twilio's URL gets the credentials")
        self.assertFalse(gets["/store/ME2"], "another host gets no credentials")
        self.sms_counters({"messages": 1, "media_stored": 2, "media_failed": 1})

    def test_media_download_off(self):
        self.token = secrets.token_hex(16)
        stand = self.stand_in()
        self.start_sms_gateway(stand, token=self.token, extra=("media_download: false",))
        bus = self.start_consumer(self.gw)
        sid = "MM" + "b" * 32
        url = stand.base + f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media/ME1"
        params = [(k, "1" if k == "NumMedia" else v) for k, v in inbound(sid, "")] + [
            ("MediaUrl0", url), ("MediaContentType0", "image/jpeg")]
        self.assertEqual(self.webhook(params)[0], 200)
        a = bus.wait_message(sid)["attachments"]
        self.assertEqual(a[0]["ref"], url)
        self.assertEqual(stand.media_gets, [])


class OptOut(SmsCase):

    def test_stop_then_start(self):
        self.token = secrets.token_hex(16)
        stand = self.stand_in()
        # An account of its own: announced to the router, so that the
        # last reply, after a SIGKILL of the router, finds the connector.
        self.start_sms_gateway(stand, token=self.token, extra=("account: acme-sms",))
        self.gw.allowed_restarts[INSTANCE] = 1
        self.gw.allowed_restarts["router"] = 1
        bus = self.start_consumer(self.gw)
        m = self.incoming(bus, "SM" + "1" * 32, "hello")
        self.assertEqual(m["account"], "acme-sms")
        stop = self.incoming(bus, "SM" + "2" * 32, " Stop ")
        self.assertEqual((stop["kind"], stop["text"]), ("opt_out", " Stop "))
        # The STOP survives a SIGKILL of the connector.
        pid = self.gw.child_pid(INSTANCE)
        os.kill(pid, 9)
        self.gw.wait_child_restarted(INSTANCE, pid)
        gwtest.wait_until(self._healthy, tmo(10), "the SMS connector back")
        rc, out = self.send(m["ticket_id"], "Are you still there?")
        self.assertEqual(rc, 1, out)
        self.assertIn("delivery failed: the customer opted out of SMS (STOP)", out)
        self.assertEqual(stand.count(), 0, "no request to Twilio after STOP")
        st, = self.wait_status(bus, self.sent_events(bus)[-1]["seq"], "failed")
        self.assertEqual(st["errors"][0]["title"], "the customer opted out of SMS (STOP)")
        start = self.incoming(bus, "SM" + "3" * 32, "START")
        self.assertEqual(start["kind"], "opt_in")
        # Counted since the restart: the reply stopped, the START.
        self.sms_counters({"messages": 1, "opt_ins": 1, "opt_outs": 0, "stopped": 1})
        self.assertIn("sms.stopped=1", self.gw.ctl("status").stdout)
        pid = self.gw.child_pid("router")
        os.kill(pid, 9)
        self.gw.wait_child_restarted("router", pid)
        rc, out = self.send(m["ticket_id"], "Welcome back")
        self.assertEqual(rc, 0, out)
        self.assertEqual(stand.count(), 1)
        self.assertEqual(stand.requests[0]["form"]["Body"], ["Welcome back"])


class Refusals(SmsCase):

    def test_signatures_and_requests(self):
        self.start_sms_gateway(None)
        bus = self.start_consumer(self.gw)
        head = self.gw.head()
        p = inbound("SM" + "c" * 32, "hi")
        good = twilio_signature(self.token, PUBLIC_URL + PATH, p)
        for sig, what in ((twilio_signature("wrong-token", PUBLIC_URL + PATH, p), "mismatch"),
                          (None, "missing"), ("abc", "malformed"),
                          (twilio_signature(self.token, "https://other.example/" + PATH, p),
                           "mismatch"),
                          (twilio_signature(self.token, PUBLIC_URL + STATUS_PATH, p),
                           "mismatch")):
            st, body, _ = self.webhook(p, signature=sig)
            self.assertEqual(st, 403, body)
            self.assertIn(f"X-Twilio-Signature {what}", json.loads(body)["message"])
        # A correct signature for a changed body, and for another path.
        self.assertEqual(self.webhook(p + [("Body", "x")], signature=good)[0], 403)
        self.assertEqual(self.webhook(p, path=STATUS_PATH, signature=good)[0], 403)
        # Another account's webhook, signed: refused.
        other = [(k, "AC" + "f" * 32 if k == "AccountSid" else v) for k, v in p]
        self.assertEqual(self.webhook(other)[0], 403)
        self.assertEqual(self.request("GET", PATH)[0], 405)
        self.assertEqual(self.request("POST", "/other", b"a=1", {
            "Content-Type": "application/x-www-form-urlencoded"})[0], 404)
        self.assertEqual(self.request("POST", PATH, b"{}", {
            "Content-Type": "application/json"})[0], 415)
        self.assertEqual(self.gw.head(), head, "nothing stored")
        self.sms_counters({"refused": 8, "messages": 0})
        self.assertEqual(self.gw.ctl("quarantine", "list", "--json").stdout.strip(), "[]",
                         "a refused webhook is never kept")
        # The same webhook, signed right: stored once, a repeat deduplicated.
        self.assertEqual(self.webhook(p, signature=good)[0], 200)
        self.assertEqual(self.webhook(p, signature=good)[0], 200)
        bus.wait_message(p[2][1])
        gwtest.wait_until(lambda: self.router_counters().get("duplicates", 0) >= 1, tmo(10),
                          "the repeat routed as a duplicate")
        self.assertEqual(len([1 for _, t, x in bus.snapshot() if t == "message.received"]), 1)

    def test_twilio_errors(self):
        self.token = secrets.token_hex(16)
        stand = self.stand_in()
        self.start_sms_gateway(stand, token=self.token)
        bus = self.start_consumer(self.gw)
        m = self.incoming(bus, "SM" + "d" * 32, "hi")
        stand.script = [(400, {"code": 21211, "message": "The 'To' number +15550001111 is not "
                               "a valid phone number.", "more_info":
                               "https://www.twilio.com/docs/errors/21211", "status": 400}, {})]
        rc, out = self.send(m["ticket_id"], "one")
        self.assertEqual(rc, 1, out)
        self.assertIn("delivery failed: Twilio error 21211 (HTTP 400): The 'To' number "
                      "+15550001111 is not a valid phone number.", out)
        stand.token = "another-token"  # the account's token changed: 401 / 20003
        rc, out = self.send(m["ticket_id"], "two")
        self.assertEqual(rc, 1, out)
        self.assertIn("Twilio error 20003 (HTTP 401): Authenticate (check account_sid and "
                      "auth_token)", out)
        gwtest.wait_until(lambda: "replies fail: Twilio error 20003" in
                          self.gw.ctl("status").stdout, tmo(10), "replies fail in status",
                          on_fail=lambda: self.gw.ctl("status").stdout)
        self.assertEqual(len(stand.requests), 2, "refusals are not retried")

    def test_unsubscribed_number_is_marked_opted_out(self):
        """Twilio's 21610 (the number replied STOP to Twilio): the reply
        fails, and the customer is opted out as if we had read the STOP."""
        self.token = secrets.token_hex(16)
        stand = self.stand_in()
        self.start_sms_gateway(stand, token=self.token)
        bus = self.start_consumer(self.gw)
        m = self.incoming(bus, "SM" + "9" * 32, "hi")
        stand.script = [(400, {"code": 21610, "message": "Attempt to send to unsubscribed "
                               "recipient", "more_info":
                               "https://www.twilio.com/docs/errors/21610", "status": 400}, {})]
        rc, out = self.send(m["ticket_id"], "one")
        self.assertEqual(rc, 1, out)
        self.assertIn("Twilio error 21610 (HTTP 400): Attempt to send to unsubscribed "
                      "recipient", out)
        self.sms_counters({"opt_outs": 1})
        rc, out = self.send(m["ticket_id"], "two")
        self.assertEqual(rc, 1, out)
        self.assertIn("delivery failed: the customer opted out of SMS (STOP)", out)
        self.assertEqual(len(stand.requests), 1, "no request after the opt-out")
        start = self.incoming(bus, "SM" + "8" * 32, "START")
        self.assertEqual(start["kind"], "opt_in")
        rc, out = self.send(m["ticket_id"], "three")
        self.assertEqual(rc, 0, out)
        self.assertEqual(len(stand.requests), 2)


class Quarantine(SmsCase):

    def test_unreadable_body_kept_and_reingested(self):
        """A signed form that makes no event (a message without From, a
        status callback whose MessageSid is over its limit) is kept byte for
        byte, Twilio gets its TwiML once it is durable; reingest reads it
        again as the path it came to (still unreadable: kept, with the
        reason); an unsigned one is refused and not kept."""
        self.start_sms_gateway(None)
        head = self.gw.head()
        sid = "SM" + "e" * 32
        no_from = [(k, v) for k, v in inbound(sid, "hi") if k != "From"]
        long_sid = status_callback("SM" + "f" * 300, "delivered")
        bodies = [urllib.parse.urlencode(no_from).encode(),
                  urllib.parse.urlencode(long_sid).encode()]
        for params, path in ((no_from, PATH), (long_sid, STATUS_PATH)):
            self.assertEqual(self.webhook(params, path=path),
                             (200, b'<?xml version="1.0" encoding="UTF-8"?><Response/>',
                              "text/xml"))
        kept = json.loads(self.gw.ctl("quarantine", "list", "--json").stdout)
        self.assertEqual(sorted(e["size"] for e in kept), sorted(len(b) for b in bodies))
        by_size = {e["size"]: e for e in kept}
        msg, st = by_size[len(bodies[0])], by_size[len(bodies[1])]
        self.assertEqual(msg["content_type"], "application/x-www-form-urlencoded")
        self.assertIn("From: required", msg["reason"])
        self.assertEqual(st["content_type"], "application/x-www-form-urlencoded; "
                                             "webhook=status")
        self.assertIn("MessageSid: longer than", st["reason"])
        shown = json.loads(self.gw.ctl("quarantine", "show", msg["id"], "--json").stdout)
        self.assertEqual(shown["text"].encode(), bodies[0])
        for e in (msg, st):
            p = self.gw.ctl("quarantine", "reingest", e["id"], check=False)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn("quarantined", p.stdout)
        self.assertEqual(self.gw.head(), head, "nothing routed")
        self.assertEqual(len(json.loads(self.gw.ctl("quarantine", "list", "--json").stdout)), 2)
        # An unsigned form is refused, not kept.
        self.assertEqual(self.webhook(no_from, signature=None)[0], 403)
        self.assertEqual(len(json.loads(self.gw.ctl("quarantine", "list", "--json").stdout)), 2)

    def test_sender_over_its_limit_is_held_then_released(self):
        """A number over sender_burst: Twilio still gets its TwiML once the
        message is durable, the message is held (not routed), listed, and
        `reingest` releases it into the customer's ticket."""
        self.start_sms_gateway(None, extra=("sender_rate_per_minute: 1", "sender_burst: 2"))
        bus = self.start_consumer(self.gw)
        sids = ["SM" + c * 32 for c in "uvw"]
        first = [self.incoming(bus, sid, f"message {i}") for i, sid in enumerate(sids[:2])]
        st, body, _ = self.webhook(inbound(sids[2], "message 2"))
        self.assertEqual((st, body), (200, b'<?xml version="1.0" encoding="UTF-8"?><Response/>'))
        held = []
        gwtest.wait_until(lambda: held.extend(
            e for e in json.loads(self.gw.ctl("quarantine", "list", "--json").stdout)
            if e["kind"] == "held") or held, tmo(10), "the held message listed")
        self.assertEqual((held[0]["external_id"], held[0]["channel"]), (sids[2], "sms"), held)
        self.assertTrue(held[0]["reason"].startswith("rate_limited"), held)
        self.assertIsNone(bus.received(sids[2]))
        self.assertIn("released", self.gw.ctl("quarantine", "reingest", held[0]["id"]).stdout)
        m = bus.wait_message(sids[2])
        self.assertEqual(m["ticket_id"], first[0]["ticket_id"])


class Crash(SmsCase):

    N = 30

    def test_sigkill_during_a_burst_of_replies(self):
        self.token = secrets.token_hex(16)
        stand = self.stand_in()
        stand.delay = 0.05
        self.start_sms_gateway(stand, token=self.token)
        self.gw.allowed_restarts[INSTANCE] = 2
        bus = self.start_consumer(self.gw)
        m = self.incoming(bus, "SM" + "e" * 32, "hello")
        for i in range(self.N):
            gwtest.command_ok(self.gw.command_ep, "message.send",
                              {"command_id": f"burst-{i}", "ticket_id": m["ticket_id"],
                               "text": f"burst reply {i}"})
        kills = 0
        for at in (8, 20):
            stand.wait(lambda s: len(s.requests) >= at, tmo(30), f"{at} requests")
            pid = self.gw.child_pid(INSTANCE)
            os.kill(pid, 9)
            kills += 1
            self.gw.wait_child_restarted(INSTANCE, pid)
        texts = {f"burst reply {i}" for i in range(self.N)}

        def taken(s):
            return {r["form"]["Body"][0] for r in s.requests if r["status"] == 201}
        stand.wait(lambda s: taken(s) >= texts, tmo(40), f"all {self.N} replies at Twilio")
        sent = self.sent_events(bus)
        self.assertEqual(len(sent), self.N)
        bus.wait_for(lambda c: all(self.statuses(c, e["seq"], "sent") for e in sent), tmo(30),
                     "message.status sent of every reply")
        for e in sent:
            self.assertEqual(len(self.statuses(bus, e["seq"])), 1, self.statuses(bus, e["seq"]))
        counts = {}
        for r in stand.requests:
            counts[r["form"]["Body"][0]] = counts.get(r["form"]["Body"][0], 0) + 1
        dups = {t: n - 1 for t, n in counts.items() if n > 1}
        print(f"\n{self.N} SMS replies, {kills} SIGKILLs of the connector: "
              f"{len(stand.requests)} requests to Twilio, {sum(dups.values())} duplicates "
              f"{sorted(dups.values())}")
        self.assertLessEqual(sum(dups.values()), kills * CONCURRENCY,
                             "duplicates beyond send_concurrency per kill")


class ShippedExample(GatewayTestCase):

    def test_sms_off_until_its_variables_are_set(self):
        # The example's API port, taken as integration.example takes it.
        ports.hold_fixed([8088], tmo(300))
        root = os.path.join(self.tmp, "example")
        os.makedirs(root, exist_ok=True)
        gw = gwtest.Gateway(root)
        shutil.copyfile(os.path.join(SRC, "gateway", "gateway.example.yaml"), gw.config_path)
        gw.ports.update(api=8088)
        gw.api_port = 8088
        gw.publish = f"ipc://{root}/state/sock/publish"
        gw.command_ep = f"ipc://{root}/state/sock/command"
        for k in list(gw.env):
            if k.startswith("GATEWAY_") and k != "GATEWAY_API_TOKEN":
                del gw.env[k]
        self.run_gateway(gw)
        want = "account_sid: environment variable GATEWAY_TWILIO_ACCOUNT_SID is not set"
        gwtest.wait_until(lambda: want in gw.ctl("status").stdout, tmo(10),
                          "the reason in gatewayctl status",
                          on_fail=lambda: gw.ctl("status").stdout)
        self.assertEqual(gw.child("sms").get("state"), "disabled", gw.child("sms"))


if __name__ == "__main__":
    unittest.main()
