"""
The Meta channel end to end: the real gatewayd with an API and a Meta
connector, webhooks signed as Meta signs them sent over HTTP, events watched
on the bus and the router's counters.

Covers the subscription handshake, signature checks (bad, missing, escaped
non-ASCII bodies), every kind of body (WhatsApp, Messenger, Instagram),
batches, redelivery, refusals (truncated JSON, body over the limit, a
batch the full spool cannot take whole) and
media download against a fake Graph API on loopback.
"""

import hashlib
import hmac
import http.client
import http.server
import json
import os
import secrets
import signal
import threading
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, tmo

FIXTURES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "..", "fixtures", "meta"))
WA = os.path.join(FIXTURES, "whatsapp", "pywa")
MS = os.path.join(FIXTURES, "messenger", "messenger4j")
IG = os.path.join(FIXTURES, "instagram", "chatwoot")
SIG = os.path.join(FIXTURES, "signatures")

INSTANCE = "meta-acme"
PATH = "/webhooks/meta"
MAX_BODY = 65536
SIG_SECRET = "meta-test-app-secret"  # the secret of tests/fixtures/meta/signatures/whatsapp-*


def read_fixture(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class MetaClient:
    """One keep-alive connection to the Meta connector."""

    def __init__(self, port, secret):
        self.port = port
        self.secret = secret
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=tmo(20))
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()
        except BaseException:
            self.close()
            raise
        return gwtest.Response(r.status, r.getheaders(), data)

    def post(self, body, signature=True, headers=None):
        """POST body (bytes); signature: True signs it, a string is sent as is, None omits it."""
        h = {"Content-Type": "application/json"}
        if signature is True:
            h["X-Hub-Signature-256"] = sign(self.secret, body)
        elif signature is not None:
            h["X-Hub-Signature-256"] = signature
        h.update(headers or {})
        return self.request("POST", PATH, body=body, headers=h)

    def verify(self, query):
        return self.request("GET", PATH + ("?" + query if query else ""))


class FakeGraph:
    """
    The two Graph API calls of a media download, as Meta documents them:
      GET /v21.0/<media id>   -> {"messaging_product", "url", "mime_type", "sha256",
                                  "file_size", "id"}
      GET /files/<media id>   -> the bytes
    Both require "Authorization: Bearer <token>". Unknown ids are 404.
    """

    def __init__(self, token):
        self.token = token
        self.media = {}    # id -> (mime, bytes)
        self.delay = 0.0   # seconds before each answer
        self.requests = []  # (path, authorized)
        self.lock = threading.Lock()
        graph = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                graph.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}/v21.0"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def add(self, media_id, mime, data):
        self.media[media_id] = (mime, data)

    def _send(self, h, status, ctype, data):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h):
        authorized = h.headers.get("Authorization") == f"Bearer {self.token}"
        with self.lock:
            self.requests.append((h.path, authorized))
        if self.delay:
            time.sleep(self.delay)
        if not authorized:
            return self._send(h, 401, "application/json", b'{"error":{"code":190}}')
        parts = h.path.split("/")
        if len(parts) == 3 and parts[1] == "v21.0" and parts[2] in self.media:
            mime, data = self.media[parts[2]]
            doc = {"messaging_product": "whatsapp",
                   "url": f"http://127.0.0.1:{self.port}/files/{parts[2]}",
                   "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(),
                   "file_size": len(data), "id": parts[2]}
            return self._send(h, 200, "application/json", json.dumps(doc).encode())
        if len(parts) == 3 and parts[1] == "files" and parts[2] in self.media:
            mime, data = self.media[parts[2]]
            return self._send(h, 200, mime, data)
        return self._send(h, 404, "application/json", b'{"error":{"code":100}}')


class MetaTestCase(GatewayTestCase):
    """A gatewayd with the API connector and one Meta connector."""

    meta_lines = ()

    def start_meta_gateway(self, extra_lines=(), env=None, secret=None, expect_running=True):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = gwtest.Gateway(root)
        self.meta_port = gwtest.free_ports(1)[0]
        self.secret = secret or secrets.token_hex(16)
        self.verify_token = secrets.token_hex(8)
        lines = [f"  - name: {INSTANCE}", "    type: meta", "    enabled: true",
                 f"    listen: \"127.0.0.1:{self.meta_port}\"", f"    path: {PATH}",
                 "    app_secret: ${GATEWAY_META_APP_SECRET}",
                 "    verify_token: ${GATEWAY_META_VERIFY_TOKEN}",
                 f"    max_body_bytes: {MAX_BODY}"]
        lines += ["    " + ln for ln in extra_lines]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        gw.env["GATEWAY_META_APP_SECRET"] = self.secret
        gw.env["GATEWAY_META_VERIFY_TOKEN"] = self.verify_token
        gw.env.update(env or {})
        for k, v in (env or {}).items():
            if v is None:
                del gw.env[k]
        if expect_running:
            gw.connectors.append(INSTANCE)
        self._gateways.append(gw)
        self.addCleanup(gw.check_health)
        self.addCleanup(gw.cleanup)
        gw.start()
        self.gw = gw
        self.client = MetaClient(self.meta_port, self.secret)
        self.addCleanup(self.client.close)
        if expect_running:
            gwtest.wait_until(self._meta_healthy, tmo(10), "GET /healthz of the Meta connector")
        return gw

    def _meta_healthy(self):
        c = MetaClient(self.meta_port, self.secret)
        try:
            return c.request("GET", "/healthz").status == 200
        except gwtest.RETRYABLE:
            return False
        finally:
            c.close()

    # helpers

    def router(self):
        """The router's counters and head_seq, from its status command."""
        res, _ = gwtest.command_ok(self.gw.command_ep, "status", {})
        return dict(res["counters"], head_seq=res["head_seq"])

    def wait_received(self, n):
        """Waits until the router has received n events in all."""
        return gwtest.wait_until(lambda: self.router()["received"] >= n, tmo(15),
                                 f"router received >= {n} (now {self.router()})")

    def accept(self, body, events=None):
        """Posts a signed body and checks the 200; returns the event count it reports."""
        r = self.client.post(body)
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual(j.get("status"), "accepted", j)
        if events is not None:
            self.assertEqual(j.get("events"), events, j)
        return j["events"]

    def counters(self):
        """The Meta connector's counters, from its status file ({} before it is written)."""
        f = gwtest.read_json_file(self.gw.run_file(INSTANCE)) or {}
        return f.get("counters", {})

    def meta_counters(self, want):
        """Waits until the Meta connector's status file shows the counters in want."""
        def matches():
            c = self.counters()
            return all(c.get(k) == v for k, v in want.items()) and c

        return gwtest.wait_until(matches, tmo(5), f"counters {want} (now {self.counters()})")

    def assert_refused(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"),
                        r.headers)
        self.assertEqual(r.json().get("error"), code, r)

    def assert_log(self, needle):
        gwtest.wait_until(lambda: needle in self.gw.log_tail(400), tmo(5),
                          f"log line with {needle!r}", on_fail=self.gw.log_tail)


def unique_wa(body, tag):
    """pywa reuses wamid.xyzxyz everywhere: give this copy its own ids."""
    return body.replace(b"wamid.xyzxyz", f"wamid.it-{tag}".encode())


def wa_batch(ids, sender="15550003333"):
    """One WhatsApp change carrying a text message for each id, as Meta
    batches them: one entry, one change, a messages array."""
    msgs = [{"from": sender, "id": i, "timestamp": "1700000100", "type": "text",
             "text": {"body": f"text of {i}"}} for i in ids]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550001111",
                          "phone_number_id": "2233445566778"},
             "contacts": [{"profile": {"name": "Dana"}, "wa_id": sender}],
             "messages": msgs}
    doc = {"object": "whatsapp_business_account",
           "entry": [{"id": "2234567890987654321",
                      "changes": [{"value": value, "field": "messages"}]}]}
    return json.dumps(doc, separators=(",", ":")).encode()


class MetaWebhook(MetaTestCase):

    def setUp(self):
        super().setUp()
        self.start_meta_gateway()

    def test_verification_handshake(self):
        ok = self.client.verify("hub.mode=subscribe&hub.verify_token=%s&hub.challenge=1158201444"
                                % self.verify_token)
        self.assertEqual(ok.status, 200, ok)
        self.assertEqual(ok.body, b"1158201444")
        self.assertTrue((ok.header("Content-Type") or "").startswith("text/plain"), ok.headers)

        bad = self.client.verify("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
        self.assert_refused(bad, 403, "forbidden")
        self.assertNotIn(b"1158201444", bad.body)
        self.assert_log(f"meta/{INSTANCE}: 403")
        self.assertNotIn(self.verify_token, self.gw.log_tail(400))

        for q in ("", "hub.mode=subscribe&hub.challenge=1",
                  "hub.mode=subscribe&hub.verify_token=%s" % self.verify_token,
                  "hub.verify_token=%s&hub.challenge=1" % self.verify_token,
                  "hub.mode=unsubscribe&hub.verify_token=%s&hub.challenge=1" % self.verify_token):
            with self.subTest(query=q):
                self.assert_refused(self.client.verify(q), 400, "invalid_request")

    def test_signed_text_reaches_the_bus(self):
        bus = self.start_consumer(self.gw)
        body = unique_wa(read_fixture(WA, "message__text.json"), "text-1")
        self.accept(body, events=1)
        m = bus.wait_message("wamid.it-text-1")
        self.assertEqual(m["type"], "message.received")
        self.assertEqual(m["channel"], "whatsapp")
        self.assertEqual(m["account"], "1122334455667")
        self.assertEqual(m["text"], "Body Text")
        self.assertEqual(m["from"]["address"], "972987654321")
        self.meta_counters({"requests": 1, "accepted": 1, "rejected": 0, "failed": 0})

    def test_every_kind_of_body(self):
        bodies = [
            (WA, "message__text.json"), (WA, "message__image.json"),
            (WA, "message__reaction.json"), (WA, "message__current_location.json"),
            (WA, "message__contacts.json"), (WA, "callback_button__button.json"),
            (WA, "callback_selection__callback.json"), (WA, "message__order.json"),
            (WA, "message__referral.json"), (WA, "message__unsupported.json"),
            (WA, "message_status__read.json"), (WA, "message_status__failed.json"),
            (WA, "edited_message__image.json"), (WA, "deleted_message__revoke.json"),
            (WA, "outgoing_message__text.json"),
            (MS, "WebhookTest.shouldHandleTextMessageEvent.json"),
            (MS, "WebhookTest.shouldHandleAttachmentMessageEvent.json"),
            (MS, "WebhookTest.shouldHandleQuickReplyMessageEvent.json"),
            (MS, "WebhookTest.shouldHandlePostbackEvent.json"),
            (MS, "WebhookTest.shouldHandleTextEchoMessageEvent.json"),
            (MS, "WebhookTest.shouldHandleMessageReadEvent.json"),
            (MS, "WebhookTest.shouldHandleMessageDeliveredEventWithMids.json"),
            (IG, "instagram_message_create_event.json"),
            (IG, "instagram_message_attachment_event.json"),
            (IG, "instagram_story_reply_event.json"),
            (IG, "instagram_message_unsend_event.json"),
            (IG, "messaging_seen_event.json"),
        ]
        bus = self.start_consumer(self.gw)
        total = 0
        for folder, name in bodies:
            with self.subTest(fixture=name):
                body = unique_wa(read_fixture(folder, name), name.replace(".json", ""))
                n = self.accept(body)
                self.assertGreaterEqual(n, 1, name)
                total += n
        # Every accepted event was committed once and reached the router,
        # none rejected (received may count resends after a slow router).
        c = self.meta_counters({"accepted": len(bodies)})
        self.assertEqual(c["outbox"]["committed"], total, c)
        self.wait_received(total)
        st = self.router()
        self.assertEqual(st["rejected"], 0, st)
        self.assertEqual(st["stored"] + st["duplicates"], st["received"], st)
        bus.wait_for(lambda c: c.complete_to(st["head_seq"]), tmo(10), "every event on the bus")
        types = {t for _, t, _ in bus.snapshot()}
        for t in ("message.received", "message.sent", "message.status", "message.edited",
                  "message.deleted"):
            self.assertIn(t, types)
        channels = {m.get("channel") for _, t, m in bus.snapshot() if t == "message.received"}
        self.assertEqual(channels, {"whatsapp", "messenger", "instagram"})

    def test_multi_entry_batch(self):
        bus = self.start_consumer(self.gw)
        self.accept(read_fixture(FIXTURES, "whatsapp", "batch_two_entries.json"), events=4)
        self.wait_received(4)
        bus.wait_message("wamid.batch-1")
        bus.wait_message("wamid.batch-2")

    def test_redelivery_adds_no_message(self):
        bus = self.start_consumer(self.gw)
        body = unique_wa(read_fixture(WA, "message__text.json"), "again")
        self.accept(body, events=1)
        bus.wait_message("wamid.it-again")
        head = self.router()["head_seq"]
        self.accept(body, events=1)
        self.wait_received(2)
        st = self.router()
        self.assertGreaterEqual(st["duplicates"], 1, st)
        self.assertEqual(st["head_seq"], head, st)
        self.assertEqual(bus.seqs_of("wamid.it-again"), [bus.seqs_of("wamid.it-again")[0]])

    def test_bad_and_missing_signature_store_nothing(self):
        body = unique_wa(read_fixture(WA, "message__text.json"), "unsigned")
        wrong = sign("not-the-secret", body)
        flipped = sign(self.secret, body)[:-1] + ("0" if sign(self.secret, body)[-1] != "0"
                                                  else "1")
        cases = (("missing", None), ("mismatch", wrong), ("mismatch", flipped),
                 ("malformed", "sha1=3daa41999293ff66c3eb313e04bcf77861bb0276"),
                 ("malformed", "sha256=xyz"))
        for cause, sig in cases:
            with self.subTest(cause=cause, sig=sig):
                r = self.client.post(body, signature=sig)
                self.assert_refused(r, 401, "unauthorized")
                self.assertIn(cause, r.json()["message"])
        self.assert_log(f"meta/{INSTANCE}: 401 unauthorized from 127.0.0.1: "
                        "X-Hub-Signature-256 missing")
        self.assertNotIn(self.secret, self.gw.log_tail(400))
        c = self.meta_counters({"requests": len(cases), "rejected": len(cases)})
        self.assertEqual(c["outbox"]["committed"], 0, c)
        st = self.router()
        self.assertEqual((st["head_seq"], st["received"]), (0, 0), st)
        # The connection stays usable, and the signed body goes through.
        self.accept(body, events=1)
        self.wait_received(1)

    def test_truncated_json(self):
        body = read_fixture(WA, "message__text.json")
        r = self.client.post(body[:len(body) // 2])
        self.assert_refused(r, 400, "invalid_request")
        self.assertEqual(self.router()["received"], 0)

    def test_body_over_the_limit(self):
        body = b'{"object":"page","entry":[],"pad":"' + b"x" * MAX_BODY + b'"}'
        r = self.client.post(body)
        self.assert_refused(r, 413, "too_large")
        self.assertEqual(r.header("Connection"), "close")
        self.assertEqual(self.router()["received"], 0)

    def test_body_without_events(self):
        body = read_fixture(WA, "account_update__account_deleted.json")
        self.accept(body, events=0)

    def test_escaped_non_ascii_signed_over_raw_bytes(self):
        bus = self.start_consumer(self.gw)
        body = read_fixture(SIG, "whatsapp-escaped-unicode.body")
        self.assertIn(b"\\u00e9", body)
        self.accept(body, events=1)
        m = bus.wait_message("wamid.sig-escaped-1")
        self.assertEqual(m["text"], "Caf\u00e9 \u00e0 10h? \U0001F600 \u4f60\u597d")
        self.assertEqual(m["from"]["name"], "Jos\u00e9 M\u00fcller")
        # Signed over a re-serialization (raw UTF-8) instead: refused.
        flat = read_fixture(SIG, "whatsapp-unescaped-utf8.body")
        self.assert_refused(self.client.post(body, signature=sign(self.secret, flat)), 401,
                            "unauthorized")

    def test_unknown_path_and_method(self):
        self.assert_refused(self.client.request("GET", "/webhooks/other"), 404, "not_found")
        r = self.client.request("PUT", PATH, body=b"{}", headers={"Content-Length": "2"})
        self.assert_refused(r, 405, "method_not_allowed")
        self.assertIn("POST", r.header("Allow") or "")


class MetaSignatureFixture(MetaTestCase):
    """The escaped-unicode fixture with the very secret it was signed with."""

    def test_fixture_signature_accepted(self):
        self.start_meta_gateway(secret=SIG_SECRET)
        body = read_fixture(SIG, "whatsapp-escaped-unicode.body")
        with open(os.path.join(SIG, "vectors.json"), encoding="utf-8") as f:
            vectors = {v["id"]: v for v in json.load(f)["vectors"]}
        r = self.client.post(body, signature=vectors["escaped-unicode-raw-bytes"]["header"])
        self.assertEqual(r.status, 200, r)
        r = self.client.post(body, signature=vectors["escaped-unicode-signed-reserialized"]
                             ["header"])
        self.assert_refused(r, 401, "unauthorized")
        self.wait_received(1)


class MetaDisabled(MetaTestCase):
    """Without its secrets the connector stays off, and gatewayctl says why."""

    def test_status_names_the_missing_variable(self):
        gw = self.start_meta_gateway(env={"GATEWAY_META_VERIFY_TOKEN": None},
                                     expect_running=False)
        want = "verify_token: environment variable GATEWAY_META_VERIFY_TOKEN is not set"
        gwtest.wait_until(lambda: want in gw.ctl("status").stdout, tmo(10),
                          "the reason in gatewayctl status",
                          on_fail=lambda: gw.ctl("status").stdout)
        c = gw.child(INSTANCE)
        self.assertEqual(c.get("state"), "disabled", c)
        self.assertFalse(self._meta_healthy())

    def test_media_download_needs_an_access_token(self):
        gw = self.start_meta_gateway(extra_lines=["media_download: true"], expect_running=False)
        want = "access_token: required when media_download is on"
        gwtest.wait_until(lambda: want in gw.ctl("status").stdout, tmo(10),
                          "the reason in gatewayctl status",
                          on_fail=lambda: gw.ctl("status").stdout)


class MetaMedia(MetaTestCase):

    def setUp(self):
        super().setUp()
        self.graph_token = secrets.token_hex(12)
        self.graph = FakeGraph(self.graph_token).start()
        self.addCleanup(self.graph.stop)
        self.media_dir = os.path.join(self.tmp, "media")
        self.start_meta_gateway(
            extra_lines=["media_download: true", f"graph_url: \"{self.graph.base}\"",
                         "access_token: ${GATEWAY_META_ACCESS_TOKEN}",
                         f"media_dir: \"{self.media_dir}\"", "media_max_bytes: 100000"],
            env={"GATEWAY_META_ACCESS_TOKEN": self.graph_token})

    def test_image_is_downloaded_and_named_by_its_sha256(self):
        data = os.urandom(20000)
        self.graph.add("65463453", "image/jpeg", data)
        self.graph.delay = 0.3  # the answer waits for the download, others do not
        bus = self.start_consumer(self.gw)
        body = unique_wa(read_fixture(WA, "message__image.json"), "img-1")
        self.accept(body, events=1)
        m = bus.wait_message("wamid.it-img-1")
        att = m["attachments"][0]
        digest = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.media_dir, digest)
        self.assertEqual(att["ref"], "file:" + path)
        self.assertEqual(att["size"], len(data))
        self.assertEqual(att["type"], "image/jpeg")
        with open(path, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest)
        self.assertIn("65463453", m.get("raw", ""))
        self.assertTrue(self.graph.requests)
        self.assertTrue(all(ok for _, ok in self.graph.requests), self.graph.requests)
        self.assertNotIn(self.graph_token, self.gw.log_tail(400))

    def test_failed_download_keeps_the_media_id(self):
        bus = self.start_consumer(self.gw)
        body = unique_wa(read_fixture(WA, "message__video.json"), "vid-1")
        self.accept(body, events=1)
        m = bus.wait_message("wamid.it-vid-1")
        ref = m["attachments"][0]["ref"]
        self.assertTrue(ref.startswith("whatsapp-media:"), ref)
        self.assert_log("not downloaded")

    def test_media_over_the_limit_is_not_downloaded(self):
        self.graph.add("65463453", "image/jpeg", os.urandom(150000))
        bus = self.start_consumer(self.gw)
        self.accept(unique_wa(read_fixture(WA, "message__image.json"), "big-1"), events=1)
        m = bus.wait_message("wamid.it-big-1")
        self.assertEqual(m["attachments"][0]["ref"], "whatsapp-media:65463453")
        self.assertEqual(os.listdir(self.media_dir), [])


class MetaFullSpool(MetaTestCase):
    """A batch the spool cannot take whole is refused whole, and its retry
    doubles nothing, not even the message of it that was stored before."""

    SPOOL_MAX = 1000  # the smallest spool_max the config accepts

    def outbox(self):
        return self.counters().get("outbox", {})

    def test_batch_refused_whole_then_retried_once(self):
        self.start_meta_gateway(extra_lines=[f"spool_max: {self.SPOOL_MAX}"])
        bus = self.start_consumer(self.gw)
        self.accept(wa_batch(["wamid.full-stored"]), events=1)
        bus.wait_message("wamid.full-stored")
        router = self.gw.child_pid("router")
        os.kill(router, signal.SIGSTOP)
        try:
            # The router takes nothing: the spool fills to one short of full.
            fill = [f"wamid.full-fill-{i}" for i in range(self.SPOOL_MAX - 1)]
            for k in range(0, len(fill), 111):
                self.accept(wa_batch(fill[k:k + 111]), events=len(fill[k:k + 111]))
            gwtest.wait_until(lambda: self.outbox().get("spooled") == len(fill), tmo(5),
                              f"{len(fill)} spooled (now {self.outbox()})")
            batch = wa_batch(["wamid.full-stored", "wamid.full-new-1", "wamid.full-new-2"])
            r = self.client.post(batch)
            self.assert_refused(r, 503, "unavailable")
            self.assertIn("spool is full", r.json()["message"])
            self.assert_log(f"meta/{INSTANCE}: 503")
            self.assertEqual(self.outbox().get("spooled"), len(fill), self.outbox())
        finally:
            os.kill(router, signal.SIGCONT)
        gwtest.wait_until(lambda: self.outbox().get("spooled") == 0, tmo(30),
                          f"the spool drained (now {self.outbox()})")
        # Meta's retry of the refused batch: accepted whole.
        self.accept(batch, events=3)
        for ext in ("wamid.full-new-1", "wamid.full-new-2"):
            bus.wait_message(ext)
        for ext in ("wamid.full-stored", "wamid.full-new-1", "wamid.full-new-2",
                    fill[0], fill[-1]):
            self.assertEqual(len(bus.seqs_of(ext)), 1, (ext, bus.seqs_of(ext)))
        gwtest.wait_until(lambda: self.router()["duplicates"] >= 1, tmo(10),
                          "the stored message counted as a duplicate")
        self.assertEqual(self.router()["stored"], 1 + len(fill) + 2, self.router())


if __name__ == "__main__":
    unittest.main()
