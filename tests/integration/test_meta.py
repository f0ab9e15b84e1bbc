"""
The Meta channel end to end: the real gatewayd with an API and a Meta
connector, webhooks signed as Meta signs them sent over HTTP, events watched
on the bus and the router's counters.

Covers the subscription handshake, signature checks (bad, missing, escaped
non-ASCII bodies), every fixture body (WhatsApp, Messenger, Instagram: the
answer and the events each must give, FIXTURE_TABLE), a message type the
gateway does not know, statuses of unknown and of stored messages, batches,
redelivery, unreadable bodies kept (truncated JSON), refusals (body over the limit, a batch the full
spool cannot take whole) and media download against a fake Graph API on
loopback.
"""

import base64
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

    And Meta's CDN, where the payload.url of a Messenger or Instagram
    attachment points (signed URLs, no token):
      GET /cdn/<name>?oh=...&oe=...  -> the bytes; an expired URL is answered
                                        403 "URL signature expired", a file
                                        Meta deleted 404, as the CDN does
    """

    def __init__(self, token):
        self.token = token
        self.media = {}    # id -> (mime, bytes)
        self.delay = 0.0   # seconds before each answer
        self.meta_fields = {}  # id -> fields replacing those of its answer (None: left out)
        self.unsized = set()   # ids whose bytes come without Content-Length
        self.requests = []  # (path, authorized)
        self.cdn = {}       # name -> (status, mime, bytes)
        self.cdn_requests = []  # (path, Authorization header or None)
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

    def add_cdn(self, name, mime, data, status=200):
        """A file on the CDN; its signed URL. status 403: the URL expired,
        404: Meta deleted the file."""
        self.cdn[name] = (status, mime, data)
        return f"http://127.0.0.1:{self.port}/cdn/{name}?_nc_cat=1&oh=00_AfB{name}&oe=65F0A1B2"

    def _cdn(self, h):
        name = h.path.split("?", 1)[0][len("/cdn/"):]
        with self.lock:
            self.cdn_requests.append((h.path, h.headers.get("Authorization")))
        if self.delay:
            time.sleep(self.delay)
        status, mime, data = self.cdn.get(name, (404, "text/plain", b""))
        if status == 403:
            return self._send(h, 403, "text/plain", b"URL signature expired")
        if status != 200:
            return self._send(h, status, "text/plain", b"Not Found")
        return self._send(h, 200, mime, data)

    def _send(self, h, status, ctype, data):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h):
        if h.path.startswith("/cdn/"):
            return self._cdn(h)
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
            for k, v in self.meta_fields.get(parts[2], {}).items():
                if v is None:
                    doc.pop(k, None)
                else:
                    doc[k] = v
            return self._send(h, 200, "application/json", json.dumps(doc).encode())
        if len(parts) == 3 and parts[1] == "files" and parts[2] in self.media:
            mime, data = self.media[parts[2]]
            if parts[2] in self.unsized:
                # The length is known only at the end: the connection closes.
                h.send_response(200)
                h.send_header("Content-Type", mime)
                h.send_header("Connection", "close")
                h.end_headers()
                h.close_connection = True
                for k in range(0, len(data), 8192):
                    h.wfile.write(data[k:k + 8192])
                return None
            return self._send(h, 200, mime, data)
        return self._send(h, 404, "application/json", b'{"error":{"code":100}}')


class MetaTestCase(GatewayTestCase):
    """A gatewayd with the API connector and one Meta connector."""

    meta_lines = ()

    def start_meta_gateway(self, extra_lines=(), env=None, secret=None, expect_running=True,
                           gw=None):
        """gw: a gwtest.Gateway made by the caller (e.g. with the integration
        API); by default a plain one in <tmp>/gw."""
        if gw is None:
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
        lines += ["    " + ln for ln in gwtest.with_sender_limits_off(extra_lines)]
        # The instance joins `connectors:`, before a section that follows it.
        with open(gw.config_path, "r", encoding="utf-8") as f:
            head, sep, tail = f.read().partition("\nintegration:")
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(head.rstrip("\n") + "\n" + "\n".join(lines) + "\n" + sep.lstrip("\n")
                    + tail)
        gw.env["GATEWAY_META_APP_SECRET"] = self.secret
        gw.env["GATEWAY_META_VERIFY_TOKEN"] = self.verify_token
        gw.env.update(env or {})
        for k, v in (env or {}).items():
            if v is None:
                del gw.env[k]
        if expect_running:
            gw.connectors.append(INSTANCE)
        self.run_gateway(gw)
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

    def assert_event(self, got, want, what):
        """Fails with every field of `got` that does not match `want` (mismatches)."""
        diff = mismatches(got, want)
        if diff:
            self.fail(f"{what}:\n  " + "\n  ".join(diff) + f"\nevent: {got!r:.2000}")

    def assert_routed(self, m, what):
        """What the router adds to every message on the bus (docs/events.md):
        customer and thread always, a ticket for every message.received; a
        message.sent is outbound with its recipient."""
        if m["type"] not in ("message.received", "message.sent"):
            return
        want = {"customer_id": int, "thread_id": int, "received_at": int}
        if m["type"] == "message.received":
            want["ticket_id"] = int
        for k, t in want.items():
            self.assertIsInstance(m.get(k), t, f"{what}: {k} in {m!r:.1000}")
        if m["type"] == "message.sent":
            self.assertEqual(m.get("direction"), "outbound", what)
            self.assertIsInstance(m.get("to"), dict, what)

    def wait_event(self, bus, etype, **fields):
        """Waits for the first event of type etype whose fields have these
        values, and returns its map."""
        def find(c):
            for _, t, m in c.snapshot():
                if t == etype and all(m.get(k) == v for k, v in fields.items()):
                    return m
            return None
        bus.wait_for(find, tmo(10), f"{etype} with {fields}")
        return find(bus)

    def ticket(self, ticket_id):
        """ticket.get: {ticket, messages, trace}."""
        res, _ = gwtest.command_ok(self.gw.command_ep, "ticket.get", {"id": ticket_id})
        return res


def unique_wa(body, tag):
    """pywa reuses wamid.xyzxyz everywhere: give this copy its own ids."""
    return body.replace(b"wamid.xyzxyz", f"wamid.it-{tag}".encode())


def wa_status_body(status, ext, phone_number_id=None):
    """pywa's message_status__<status>.json about message `ext`, on another
    number when phone_number_id is given."""
    doc = json.loads(read_fixture(WA, f"message_status__{status}.json"))
    value = doc["entry"][0]["changes"][0]["value"]
    value["statuses"][0]["id"] = ext
    if phone_number_id:
        value["metadata"]["phone_number_id"] = phone_number_id
    return json.dumps(doc).encode()


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


# --- what each fixture must become ------------------------------------------
#
# The expectations below are those of docs/channels/whatsapp.md,
# messenger.md and instagram.md ("Events") and docs/events.md. An expected
# event is a map of the fields that must be there with these values (maps
# and lists compared member by member); ABSENT: the field must be left out;
# Raw(...): `raw` is JSON text holding at least these members; Contains(s):
# a string holding s.

class _Absent:
    def __repr__(self):
        return "ABSENT"


ABSENT = _Absent()


class Raw:
    """`raw`: JSON text of an object holding at least these members."""

    def __init__(self, **members):
        self.members = members

    def __repr__(self):
        return f"Raw({self.members!r})"


class Contains:
    """A string holding `part`."""

    def __init__(self, part):
        self.part = part

    def __repr__(self):
        return f"Contains({self.part!r})"


def mismatches(got, want, path="event"):
    """What differs between an event (or part of one) and its expectation,
    as a list of lines; [] when it matches. Types are compared too: a bool
    is not an int, an int not a float."""
    if isinstance(want, Raw):
        try:
            doc = json.loads(got) if isinstance(got, str) else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            return [f"{path}: {got!r:.200} is not the JSON text of an object"]
        return mismatches(doc, want.members, path)
    if isinstance(want, Contains):
        if isinstance(got, str) and want.part in got:
            return []
        return [f"{path}: {got!r:.200} does not hold {want.part!r}"]
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: {got!r:.200} is not a map"]
        out = []
        for k, v in want.items():
            if v is ABSENT:
                if k in got:
                    out.append(f"{path}.{k}: {got[k]!r:.200} present, expected absent")
            elif k not in got:
                out.append(f"{path}.{k}: absent, expected {v!r}")
            else:
                out += mismatches(got[k], v, f"{path}.{k}")
        return out
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: {got!r:.300}, expected {len(want)} entries: {want!r}"]
        out = []
        for i, (g, w) in enumerate(zip(got, want)):
            out += mismatches(g, w, f"{path}[{i}]")
        return out
    if type(got) is not type(want) or got != want:
        return [f"{path}: {got!r:.200}, expected {want!r}"]
    return []


class Kept:
    """A signed body that makes no event: kept in the quarantine with this
    reason and answered 200 {"status": "kept"} (docs/channels/whatsapp.md)."""

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return f"Kept({self.reason!r})"


class Refused:
    """The answer to a body that is refused whole: no event made."""

    def __init__(self, status, error, message):
        self.status, self.error, self.message = status, error, message

    def __repr__(self):
        return f"Refused({self.status}, {self.error!r}, {self.message!r})"


# Unlinked: a status or change about a message the gateway never stored
# (docs/events.md, message.status).
UNLINKED = {"message_seq": ABSENT, "customer_id": ABSENT, "ticket_id": ABSENT}

WA_CUSTOMER = {"address": "972987654321", "name": "Test Name"}
WA_BUSINESS = {"address": "972123456789", "name": ABSENT}
WA_ID = "wamid.xyzxyz"


def wa_in(raw_type, text, kind=None, ext=WA_ID, **fields):
    """A WhatsApp customer's message.received: `kind` and `raw_type` = the
    message type, `to` = the business number, `raw` = the message object."""
    ev = {"type": "message.received", "external_id": ext, "kind": kind or raw_type,
          "raw_type": raw_type, "text": text, "from": WA_CUSTOMER, "to": WA_BUSINESS,
          "direction": ABSENT, "unsupported": ABSENT,
          "raw": Raw(id=ext, type=raw_type, **fields.pop("raw_has", {}))}
    ev.update(fields)
    return ev


def wa_unknown(raw_type, **fields):
    """kind unknown: unsupported, the type in raw_type, text "", raw kept."""
    return wa_in(raw_type, "", kind="unknown", unsupported=True, attachments=ABSENT, **fields)


def wa_media(kind, media_id, mime, sha256, text="", name="", caption=ABSENT, **fields):
    """Image, audio, video, document, sticker: one attachment with the media id."""
    att = {"ref": "whatsapp-media:" + media_id, "type": mime, "kind": kind, "sha256": sha256,
           "name": name, "caption": caption, "size": ABSENT}
    return wa_in(kind, text, attachments=[att], **fields)


def wa_status(status, sent_as, at, ext=WA_ID, recipient="972987654321", **fields):
    """A WhatsApp statuses[] item: status_id = <id>:<status as sent>."""
    ev = {"type": "message.status", "external_id": ext, "status": status,
          "status_id": f"{ext}:{sent_as}", "status_at": at, "recipient": recipient,
          "watermark": ABSENT, "errors": ABSENT,
          "raw": Raw(id=ext, status=sent_as, **fields.pop("raw_has", {}))}
    ev.update(UNLINKED)
    ev.update(fields)
    return ev


def change(etype, ext, change_id, at, frm, **fields):
    """message.edited / message.deleted about a message never stored here."""
    ev = {"type": etype, "external_id": ext, "change_id": change_id, "changed_at": at,
          "from": frm}
    ev.update(UNLINKED)
    ev.update(fields)
    return ev


def ms_in(kind, text, ext, sender, **fields):
    """A Messenger / Instagram customer's message.received: from = sender.id,
    raw = the whole item."""
    ev = {"type": "message.received", "external_id": ext, "kind": kind, "text": text,
          "from": {"address": sender}, "direction": ABSENT,
          "unsupported": True if kind == "unknown" else ABSENT,
          "raw": Raw(sender={"id": sender})}
    ev.update(fields)
    return ev


def ms_sent(kind, text, ext, page, customer, **fields):
    """An echo: message.sent from the page (sender.id) to the customer."""
    ev = {"type": "message.sent", "external_id": ext, "kind": kind, "text": text,
          "direction": "outbound", "from": {"address": page}, "to": {"address": customer},
          "raw": Raw(sender={"id": page}, message={"is_echo": True})}
    ev.update(fields)
    return ev


def ms_unknown(member, sender, at, **fields):
    """Any other item: kind unknown, raw_type the member's name, an id derived
    from <sender>:<member>:<timestamp>."""
    return ms_in("unknown", "", f"{sender}:{member}:{at}", sender, raw_type=member, **fields)


def ms_referral(source, ref=ABSENT, ad_id=ABSENT):
    """A referral item of <USER_ID> at 1458692752478 (messenger4j)."""
    return ms_in("referral", "", "<USER_ID>:referral:1458692752478", "<USER_ID>",
                 referral={"source": source, "type": "OPEN_THREAD", "ref": ref, "id": ad_id})


def postback_id(sender, at, payload):
    return f"{sender}:postback:{at}:" + hashlib.sha256(payload.encode()).hexdigest()[:16]


MS_ATTACHMENTS = {  # messenger4j's image, fallback and location attachments
    "attachments": [
        {"ref": "http://image.url", "type": "image/*", "kind": "image", "name": ""},
        {"ref": "<URL_OF_THE_ATTACHMENT>", "type": "application/octet-stream",
         "kind": "fallback", "name": "<TITLE_OF_THE_URL_ATTACHMENT>"}],
    "location": {"latitude": 52.3765533, "longitude": 9.7389123},
}
MS_POSTBACK = {
    "choice": {"id": "<USER_DEFINED_PAYLOAD>", "title": "<TITLE_FOR_THE_CTA>"},
}
IG_STORY = {"ref": "https://www.example.com/test.jpeg", "type": "application/octet-stream",
            "kind": "story_mention", "name": ""}
TEMPLATE_ECHO_RAW = Raw(message={"attachments": [{"type": "template",
                                                   "payload": {"template_type": "receipt"}}]})

# folder, file, what the connector answers: [events] (200 with that many
# events, in body order) or Refused(...).
FIXTURE_TABLE = [
    # -- WhatsApp (pywa): changes of other fields carry no events
    (WA, "account_update__account_deleted.json", []),
    (WA, "call_status__call_status.json", []),
    (WA, "template_status_update__approved.json", []),
    (WA, "user_marketing_preferences__signup.json", []),
    # -- WhatsApp: customers' messages
    (WA, "message__text.json", [wa_in("text", "Body Text", reply_to=ABSENT)]),
    (WA, "message__forwarded.json",
     [wa_in("text", "forwarded text", raw_has={"context": {"forwarded": True}})]),
    (WA, "message__forwarded_many_times.json",
     [wa_in("text", "text forwarded many times",
            raw_has={"context": {"frequently_forwarded": True}})]),
    (WA, "message__reply.json", [wa_in("text", "replied text", reply_to=["wamid.xyzxyz=="])]),
    (WA, "message__referral.json",
     [wa_in("text", "BODY", ext="wamid.ID",
            referral={"type": "ad or post", "id": "ADID", "url": "AD_OR_POST_FB_URL",
                      "headline": "AD_TITLE", "body": "AD_DESCRIPTION"},
            raw_has={"referral": {"ctwa_clid": "CTWA_CLID", "image_url": "RAW_IMAGE_URL"}})]),
    (WA, "message__image.json",
     [wa_media("image", "65463453", "image/jpeg", "4654+8g=")]),
    (WA, "message__media_with_url.json",
     [wa_media("image", "65463453", "image/jpeg", "4654+8g=",
               raw_has={"image": {"url": Contains("lookaside.fbsbx.com")}})]),
    (WA, "message__video.json",
     [wa_media("video", "765756756", "video/mp4",
               "Jh+2ij6PzUv/J2y+grrtegr/ZMzRxkEPwc24Oyib4s03w9Jc=", text="caption",
               caption="caption")]),
    (WA, "message__document.json",
     [wa_media("document", "1234567890987654321", "application/pdf",
               "grwfwe/ZPx0wAbdfbdeFUNItPZ0RylL8gGUvdt3YFqc18SY=", text="caption",
               name="filename.pdf", caption="caption")]),
    (WA, "message__audio.json",
     [wa_media("audio", "1234567890987654321", "audio/ogg; codecs=opus",
               "E3dxS/PdYZE7ppA3pQ4mpCFaXBJ8pX4SRN/dsfvds/iPGA=",
               raw_has={"audio": {"voice": False}})]),
    (WA, "message__voice.json",
     [wa_media("audio", "1234567890987654321", "audio/ogg; codecs=opus",
               "m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=",
               raw_has={"audio": {"voice": True}})]),
    (WA, "message__static_sticker.json",
     [wa_media("sticker", "1234567890987654321", "image/webp",
               "OmT4nhjUhCMIPNmj7eeOZeCYjTXkLxoOv85OMCFwSuc=",
               raw_has={"sticker": {"animated": False}})]),
    (WA, "message__animated_sticker.json",
     [wa_media("sticker", "1234567890987654321", "image/webp",
               "HcwyCKrTKXHk0a00ms4HWIA76GY0Du6q4Z/iuwevw=",
               raw_has={"sticker": {"animated": True}})]),
    (WA, "message__chosen_location.json",
     [wa_in("location", "Facebook HQ\n1 Hacker Way, Menlo Park, CA 94025",
            location={"latitude": 37.4611978, "longitude": -122.2164385,
                      "name": "Facebook HQ", "address": "1 Hacker Way, Menlo Park, CA 94025",
                      "url": "https://maps.google.com/?cid=2000000000000000000"})]),
    (WA, "message__current_location.json",
     [wa_in("location", "", location={"latitude": 12.25089, "longitude": 43.90539,
                                      "name": ABSENT, "address": ABSENT, "url": ABSENT})]),
    (WA, "message__contacts.json",
     [wa_in("contacts", "Chandler Bing: +1 555-555-5555\nMonica: +1 666-666-6666\n"
            "Rachel Green: +1 777-777-7777",
            raw_has={"contacts": [{"name": {"formatted_name": "Chandler Bing"}},
                                  {"name": {"formatted_name": "Monica"}},
                                  {"name": {"formatted_name": "Rachel Green"}}]})]),
    (WA, "callback_button__button.json",
     [wa_in("interactive", "title", reply_to=["wamid.xyzxyz"],
            choice={"id": "callback_data", "title": "title", "description": ABSENT})]),
    (WA, "callback_selection__callback.json",
     [wa_in("interactive", "title", ext="wamid.zyzxyz", reply_to=["wamid.xyzxyz"],
            choice={"id": "callback_data", "title": "title", "description": ABSENT})]),
    (WA, "callback_selection__description.json",
     [wa_in("interactive", "title", ext="wamid.zyzxyz",
            choice={"id": "callback_data", "title": "title", "description": "description"})]),
    (WA, "flow_completion__completion.json",
     [wa_in("interactive", "Sent", ext="wamid.wegrchytvwcggt==", choice=ABSENT,
            raw_has={"interactive": {"nfm_reply": {
                "response_json": Contains('"flow_token":"AQAAAAACS5FpgQ_cAAAAAD0QI3s."')}}})]),
    (WA, "flow_completion__without_flow_token.json",
     [wa_in("interactive", "Sent", ext="wamid.wegrchytvwcggt==", choice=ABSENT,
            raw_has={"interactive": {"nfm_reply": {
                "response_json": Contains('"comment_text":"Comment Text"')}}})]),
    (WA, "callback_button__quick_reply.json",
     [wa_in("button", "title", ext="wamid.xsidjw", reply_to=["wamid.xyzxyz=="],
            choice={"id": "callback_data", "title": "title"})]),
    (WA, "callback_button__quick_reply_without_context.json",
     [wa_in("button", "title", ext="wamid.xsidjx", reply_to=ABSENT,
            choice={"id": "callback_data", "title": "title"})]),
    (WA, "message__reaction.json",
     [wa_in("reaction", "\U0001F62E", reply_to=["wamid.yzxyzx="],
            reaction={"message_id": "wamid.yzxyzx=", "emoji": "\U0001F62E"})]),
    (WA, "message__unreaction_empty.json",
     [wa_in("reaction", "", reply_to=["wamid.yzxyzx="],
            reaction={"message_id": "wamid.yzxyzx=", "emoji": ""})]),
    (WA, "message__unreaction_no_emoji.json",
     [wa_in("reaction", "", reply_to=["wamid.yzxyzx="],
            reaction={"message_id": "wamid.yzxyzx=", "emoji": ""})]),
    (WA, "message__order.json",
     [wa_in("order", "order: 3 items (catalog 354160437058781)",
            raw_has={"order": {"catalog_id": "354160437058781"}})]),
    (WA, "system__identity_change.json",
     [wa_in("system", "User identity changed",
            **{"from": {"address": "972987654321", "name": "User A"}})]),
    (WA, "system__phone_number_change.json",
     [wa_in("system", "User A changed from 972987654321 to 972912345678",
            ext="wamid.xyzxyz==", **{"from": {"address": "972987654321", "name": ABSENT}})]),
    # unknown content: kept, never dropped; the value's own errors[] make no event
    (WA, "message__unsupported.json",
     [wa_unknown("unsupported", raw_has={"errors": [{"code": 131051,
                                                     "title": "Message type unknown"}]})]),
    (WA, "message__unsupported_with_type.json",
     [wa_unknown("unsupported", raw_has={"unsupported": {"type": "pool"},
                                         "errors": [{"code": 131051}]})]),
    (WA, "message__interactive_message_with_err.json",
     [wa_unknown("interactive", ext="wamid.wegrchytvwcggt=", reply_to=["wamid.gvwegfretge=="])]),
    # A customer's answer to a request to call them: no choice to make of it
    # yet, kept whole and flagged.
    (WA, "call_permission_update__accept.json",
     [wa_unknown("interactive", ext="wamid.x", reply_to=["wamid.y=="],
                 raw_has={"interactive": {"type": "call_permission_reply",
                                          "call_permission_reply": {
                                              "response": "accept",
                                              "expiration_timestamp": 1753186982,
                                              "response_source": "user_action"}}})]),
    (WA, "call_permission_update__reject.json",
     [wa_unknown("interactive", ext="wamid.x", reply_to=["wamid.y=="],
                 raw_has={"interactive": {"type": "call_permission_reply",
                                          "call_permission_reply": {
                                              "response": "reject",
                                              "response_source": "user_action"}}})]),
    # edits and withdrawals
    (WA, "edited_message__image.json",
     [change("message.edited", "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
             "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=:edit:"
             "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
             1749854575000, {"address": "16505551234"}, text="Updated image caption")]),
    (WA, "deleted_message__revoke.json",
     [change("message.deleted", "<ORIGINAL_WHATSAPP_MESSAGE_ID>",
             "<ORIGINAL_WHATSAPP_MESSAGE_ID>:delete", 1697043223000,
             {"address": "<WHATSAPP_USER_PHONE_NUMBER>", "name": ABSENT}, text=ABSENT)]),
    # statuses of the business's messages
    (WA, "message_status__sent.json", [wa_status("sent", "sent", 1698266945000)]),
    (WA, "message_status__with_tracker.json",
     [wa_status("sent", "sent", 1698266945000,
                raw_has={"biz_opaque_callback_data": "some data"})]),
    (WA, "message_status__delivered.json",
     [wa_status("delivered", "delivered", 1698266945000,
                raw_has={"pricing": {"category": "service"}})]),
    (WA, "message_status__read.json", [wa_status("read", "read", 1689380458000)]),
    (WA, "message_status__played.json", [wa_status("read", "played", 1689380458000)]),
    (WA, "message_status__group.json",
     [wa_status("read", "read", 1698266945000, ext="<WHATSAPP_MESSAGE_ID>",
                recipient="fowefinoewcnw", raw_has={"recipient_type": "group"})]),
    (WA, "message_status__failed.json",
     [wa_status("failed", "failed", 1689380458000, errors=[
         {"code": 130472, "title": "User's number is part of an experiment",
          "message": "Failed to send message because this user's phone number is part of "
                     "an experiment"}])]),
    # smb_message_echoes: what the business sent from the WhatsApp Business app
    (WA, "outgoing_message__text.json",
     [{"type": "message.sent", "external_id": "<WHATSAPP_MESSAGE_ID>", "kind": "text",
       "raw_type": "text", "text": "Test message", "direction": "outbound",
       "from": {"address": "<BUSINESS_DISPLAY_PHONE_NUMBER>", "name": ABSENT},
       "to": {"address": "<WHATSAPP_USER_PHONE_NUMBER>"},
       "raw": Raw(id="<WHATSAPP_MESSAGE_ID>", to_user_id="<BSUID>")}]),
    (WA, "outgoing_message__edit.json",
     [change("message.edited", "wamid.zzzzzz", "wamid.zzzzzz:edit:wamid.yyyyyy",
             1697044968000, {"address": "972987654321", "name": ABSENT},
             text="Text was edited")]),
    (WA, "outgoing_message__delete.json",
     [change("message.deleted", "wamid.zzzzzz", "wamid.zzzzzz:delete", 1697044968000,
             {"address": "972987654321", "name": ABSENT})]),

    # -- Messenger (messenger4j)
    (MS, "WebhookTest.shouldHandleTextMessageEvent.json",
     [ms_in("text", "hello, text message world!", "mid.1457764197618:41d102a3e1ae206a38",
            "USER_ID")]),
    (MS, "WebhookTest.shouldHandleTextMessageEventWithNlp.json",
     [ms_in("text", "hello, text message world!", "mid.1457764197618:41d102a3e1ae206a38",
            "USER_ID", raw=Raw(message={"nlp": {"entities": {"greetings": [
                {"value": "true"}]}}}))]),
    (MS, "WebhookTest.shouldHandleTextMessageEventWithPriorMessage.json",
     [ms_in("text", "Thanks for messaging me!", "mid.1457744567618:41d102a3e1ae206a38",
            "<PSID>", raw=Raw(prior_message={"source": "checkbox_plugin"}))]),
    (MS, "DocumentationTest.shouldProcessReceivedEventsText.json",
     [ms_in("text", "34wrr3wr", "mid.1475942721728:3b9e3646712f9bed52",
            "1256217357730577")]),
    # not an echo despite its name: no is_echo, sent by the customer
    (MS, "DocumentationTest.echoExample.json",
     [ms_in("text", "Hello Chatbot", "mid.1475942721728:3b9e3646712f9bed52",
            "1256217357730577")]),
    (MS, "WebhookTest.shouldHandleAttachmentMessageEvent.json",
     [ms_in("image", "", "mid.1458696618141:b4ef9d19ec21086067", "USER_ID",
            **MS_ATTACHMENTS)]),
    (MS, "DocumentationTest.shouldProcessReceivedEventsAttachments.json",
     [ms_in("image", "", "mid.1458696618141:b4ef9d19ec21086067", "USER_ID",
            **MS_ATTACHMENTS)]),
    (MS, "WebhookTest.shouldHandleQuickReplyMessageEvent.json",
     [ms_in("quick_reply", "hello, world!", "mid.1457764197618:41d102a3e1ae206a38", "USER_ID",
            choice={"id": "DEVELOPER_DEFINED_PAYLOAD", "title": "hello, world!"})]),
    (MS, "WebhookTest.shouldHandlePostbackEvent.json",
     [ms_in("postback", "<TITLE_FOR_THE_CTA>",
            postback_id("<PSID>", 1458692752478, "<USER_DEFINED_PAYLOAD>"), "<PSID>",
            referral={"ref": "<REF DATA IF SPECIFIED IN THE AD>", "id": "<ID OF THE AD>",
                      "source": "<SHORTLINK>", "type": "OPEN_THREAD"}, **MS_POSTBACK)]),
    (MS, "WebhookTest.shouldHandlePostbackEventWithoutReferral.json",
     [ms_in("postback", "<TITLE_FOR_THE_CTA>",
            postback_id("<PSID>", 1458692752478, "<USER_DEFINED_PAYLOAD>"), "<PSID>",
            referral=ABSENT, **MS_POSTBACK)]),
    (MS, "WebhookTest.shouldHandleAdReferralEvent.json",
     [ms_referral("ADS", ref="<REF DATA IF SPECIFIED IN THE AD>", ad_id="<ID OF THE AD>")]),
    (MS, "WebhookTest.shouldHandleMeLinkReferralEvent.json",
     [ms_referral("SHORTLINK", ref="<REF DATA PASSED IN M.ME PARAM>")]),
    (MS, "WebhookTest.shouldHandleParametricMessengerCodeReferralEvent.json",
     [ms_referral("MESSENGER_CODE", ref="<REF DATA PASSED IN CODE>")]),
    (MS, "WebhookTest.shouldHandleDiscoverTabReferralEvent.json", [ms_referral("DISCOVER_TAB")]),
    (MS, "WebhookTest.shouldHandleTextEchoMessageEvent.json",
     [ms_sent("text", "hello, text message world!", "mid.1457764197618:41d102a3e1ae206a38",
              "PAGE_ID", "USER_ID")]),
    # a template has no URL: no attachment, the payload in raw
    (MS, "WebhookTest.shouldHandleTemplateEchoMessageEvent.json",
     [ms_sent("template", "", "mid.1480199999925:83392d9f65", "17175299999834678",
              "1256299999730577", attachments=ABSENT, raw=TEMPLATE_ECHO_RAW)]),
    (MS, "WebhookTest.shouldHandleMessageReadEvent.json",
     [{"type": "message.status", "status": "read", "external_id": ABSENT,
       "status_id": "USER_ID:read:1458668856253", "watermark": 1458668856253,
       "status_at": 1458668856463, "recipient": "USER_ID", **UNLINKED}]),
    # no timestamp: the entry's time
    (MS, "WebhookTest.shouldHandleMessageDeliveredEventWithMids.json",
     [{"type": "message.status", "status": "delivered",
       "external_id": "mid.1458668856218:ed81099e15d3f4f233",
       "status_id": "mid.1458668856218:ed81099e15d3f4f233:delivered",
       "watermark": 1458668856253, "status_at": 1458692752478, **UNLINKED}]),
    (MS, "WebhookTest.shouldHandleMessageDeliveredEventWithoutMids.json",
     [{"type": "message.status", "status": "delivered", "external_id": ABSENT,
       "status_id": "USER_ID:delivered:1458668856253", "watermark": 1458668856253,
       "status_at": 1458692752478, **UNLINKED}]),
    # any other item: kept as kind unknown
    (MS, "WebhookTest.shouldHandleOptInEventWithSenderId.json",
     [ms_unknown("optin", "USER_ID", 1234567890)]),
    (MS, "WebhookTest.shouldHandleOptInEventWithUserRef.json",
     [ms_unknown("optin", "REF_FROM_CHECKBOX_PLUGIN", 1234567890,
                 raw=Raw(optin={"user_ref": "REF_FROM_CHECKBOX_PLUGIN"}))]),
    (MS, "WebhookTest.shouldHandleAccountLinkingEventWithStatusLinked.json",
     [ms_unknown("account_linking", "USER_ID", 1234567890,
                 raw=Raw(account_linking={"status": "linked"}))]),
    (MS, "WebhookTest.shouldHandleAccountLinkingEventWithStatusUnlinked.json",
     [ms_unknown("account_linking", "USER_ID", 1234567890,
                 raw=Raw(account_linking={"status": "unlinked"}))]),
    (MS, "WebhookTest.shouldHandleInstantGameEvent.json",
     [ms_unknown("game_play", "USER_ID", 1458668856463,
                 raw=Raw(game_play={"game_id": "<GAME-APP-ID>"}))]),
    (MS, "WebhookTest.shouldHandleEventTypeThatIsUnsupported.json",
     [ms_unknown("EVENT_TYPE_THAT_IS_UNSUPPORTED", "USER_ID", 1458692752478)]),
    (MS, "WebhookTest.shouldThrowExceptionIfObjectTypeIsNotPage.json",
     Kept('object: "testValue" is not handled')),

    # -- Instagram (chatwoot)
    (IG, "instagram_message_create_event.json",
     [ms_in("text", "This is the first message from the customer", "message-id-1",
            "Sender-id-1")]),
    (IG, "instagram_message_standby_event.json",
     [ms_in("text", "This is the first standby message from the customer, after 24 hours.",
            "message-id-1", "Sender-id-1")]),
    (IG, "instagram_test_text_event.json", [ms_in("text", "random_text", "random_mid", "12334")]),
    (IG, "instagram_message_attachment_event.json",
     [ms_in("share", "", "message-id-1", "Sender-id-1", attachments=[
         {"ref": "https://www.example.com/test.jpeg", "type": "application/octet-stream",
          "kind": "share", "name": ""}])]),
    (IG, "instagram_story_mention_event.json",
     [ms_in("story_mention", "", "message-id-1", "Sender-id-1", attachments=[IG_STORY])]),
    (IG, "instagram_story_mention_event_with_echo.json",
     [ms_sent("story_mention", "", "message-id-1", "Sender-id-1", "chatwoot-app-user-id-1",
              attachments=[IG_STORY])]),
    # a story is not a message: no reply_to, the story in raw
    (IG, "instagram_story_reply_event.json",
     [ms_in("text", "This is the story reply", "message-id-1", "Sender-id-1", reply_to=ABSENT,
            raw=Raw(message={"reply_to": {"story": {
                "url": "https://chatwoot-assets.local/sample.png"}}}))]),
    (IG, "instagram_message_unsend_event.json",
     [change("message.deleted", "message-id-to-delete", "message-id-to-delete:delete",
             1631082844000, {"address": "Sender-id-1"})]),
    (IG, "messaging_seen_event.json",
     [{"type": "message.status", "status": "read", "external_id": "message-id-1",
       "status_id": "message-id-1:read", "recipient": "Sender-id-1",
       "status_at": 1631082844000, "watermark": ABSENT, **UNLINKED}]),
]

CHANNELS = {WA: "whatsapp", MS: "messenger", IG: "instagram"}


def account_of(doc):
    """The account of a fixture's events: the phone_number_id of its first
    WhatsApp value with one, else its first entry's id."""
    for entry in doc.get("entry") or []:
        for ch in entry.get("changes") or []:
            md = (ch.get("value") or {}).get("metadata") or {}
            if "phone_number_id" in md:
                return md["phone_number_id"]
    entries = doc.get("entry") or [{}]
    return entries[0].get("id")


def own_account(body, suffix):
    """
    The body with `suffix` added to its accounts (every WhatsApp
    metadata.phone_number_id, every Messenger / Instagram entry.id): the
    fixtures reuse message ids (wamid.xyzxyz, Messenger mids) and derived ids
    (a referral's <sender>:referral:<timestamp>), and the router keeps one
    message per (channel, account, id); in an account of its own each file's
    events are all its own, published once each, and found by account.
    """
    doc = json.loads(body)
    for entry in doc.get("entry") or []:
        if doc.get("object") == "whatsapp_business_account":
            for ch in entry.get("changes") or []:
                md = (ch.get("value") or {}).get("metadata")
                if isinstance(md, dict) and isinstance(md.get("phone_number_id"), str):
                    md["phone_number_id"] += suffix
        elif isinstance(entry.get("id"), str):
            entry["id"] += suffix
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def fixture_files(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".json"))


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

        # Anything but a subscribe with the right token is refused alike.
        for q in ("", "hub.mode=subscribe&hub.challenge=1",
                  "hub.mode=subscribe&hub.verify_token=%s" % self.verify_token,
                  "hub.verify_token=%s&hub.challenge=1" % self.verify_token,
                  "hub.mode=unsubscribe&hub.verify_token=%s&hub.challenge=1" % self.verify_token):
            with self.subTest(query=q):
                r = self.client.verify(q)
                self.assert_refused(r, 403, "forbidden")
                self.assertNotIn(b"1158201444", r.body)

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

    def test_every_fixture(self):
        """
        Every fixture of pywa (WhatsApp), messenger4j (Messenger) and chatwoot
        (Instagram), each in an account of its own (own_account): the answer
        (200 with its event count, or the refusal) and, on the bus, exactly
        the events FIXTURE_TABLE says, in body order, with the fields that
        tell their type apart.
        """
        listed = {(folder, name) for folder, name, _ in FIXTURE_TABLE}
        self.assertEqual(len(listed), len(FIXTURE_TABLE), "a fixture listed twice")
        on_disk = {(folder, name) for folder in (WA, MS, IG) for name in fixture_files(folder)}
        self.assertEqual(on_disk - listed, set(), "fixtures without expectations")
        self.assertEqual(listed - on_disk, set(), "expectations without fixtures")

        bus = self.start_consumer(self.gw)
        posted = []  # (folder, name, channel, account, expected)
        total = accepted = refused = 0
        for i, (folder, name, want) in enumerate(FIXTURE_TABLE):
            with self.subTest(fixture=name, step="answer"):
                suffix = f"-it{i:02d}"
                body = own_account(read_fixture(folder, name), suffix)
                account = account_of(json.loads(body))
                if isinstance(want, Refused):
                    r = self.client.post(body)
                    self.assert_refused(r, want.status, want.error)
                    self.assertIn(want.message, r.json().get("message", ""), r)
                    refused += 1
                    want = []
                elif isinstance(want, Kept):
                    r = self.client.post(body)
                    self.assertEqual((r.status, r.json().get("status")), (200, "kept"), r)
                    kept = self.gw.ctl("quarantine", "list", "--json").stdout
                    self.assertIn(want.reason, "".join(
                        e["reason"] for e in json.loads(kept)), kept)
                    accepted += 1
                    want = []
                else:
                    self.accept(body, events=len(want))
                    accepted += 1
                    total += len(want)
                posted.append((folder, name, CHANNELS[folder], account, want))

        # Every event was committed once, stored once (each file's ids are
        # its own) and published; nothing of a refused body was stored.
        c = self.meta_counters({"accepted": accepted, "rejected": refused})
        self.assertEqual(c["outbox"]["committed"], total, c)
        gwtest.wait_until(lambda: self.router()["stored"] >= total, tmo(15),
                          f"router stored >= {total} (now {self.router()})")
        st = self.router()
        self.assertEqual((st["stored"], st["rejected"]), (total, 0), st)
        bus.wait_for(lambda c: c.complete_to(st["head_seq"]), tmo(10), "every event on the bus")

        by_account = {}
        for _, t, m in bus.snapshot():
            if t.startswith("message."):
                by_account.setdefault((m.get("channel"), m.get("account")), []).append(m)
        for folder, name, channel, account, want in posted:
            with self.subTest(fixture=name, step="bus"):
                got = by_account.pop((channel, account), [])
                self.assertEqual([m["type"] for m in got], [w["type"] for w in want],
                                 f"{name}: event types on the bus, in body order")
                for k, (m, w) in enumerate(zip(got, want)):
                    self.assert_event(m, w, f"{name} event {k}")
                    self.assert_routed(m, f"{name} event {k}")
        self.assertEqual(by_account, {}, "events of no fixture's account")

    def test_multi_entry_batch(self):
        """Two entries, three changes (one without events): four events in
        body order, each with its own number's account."""
        bus = self.start_consumer(self.gw)
        self.accept(read_fixture(FIXTURES, "whatsapp", "batch_two_entries.json"), events=4)
        self.wait_received(4)
        last = bus.wait_message("wamid.batch-3")["seq"]
        bus.wait_for(lambda c: c.complete_to(last), tmo(10), "every event of the batch")
        got = [m for _, t, m in bus.snapshot() if t.startswith("message.")]
        want = [
            {"type": "message.received", "account": "1122334455667",
             "external_id": "wamid.batch-1", "text": "first",
             "from": {"address": "972987654321", "name": "Ann"}},
            {"type": "message.received", "account": "1122334455667",
             "external_id": "wamid.batch-2", "text": "second",
             "from": {"address": "972900000002", "name": "Bob"}},
            {"type": "message.status", "account": "1122334455667", "external_id": "wamid.out-1",
             "status": "delivered", "status_id": "wamid.out-1:delivered",
             "status_at": 1700000003000, **UNLINKED},
            {"type": "message.received", "account": "2233445566778",
             "external_id": "wamid.batch-3", "text": "third",
             "from": {"address": "15550002222", "name": "Cleo"},
             "to": {"address": "15550001111"}},
        ]
        self.assertEqual([m["type"] for m in got], [w["type"] for w in want], got)
        for k, (m, w) in enumerate(zip(got, want)):
            self.assert_event(m, dict(w, channel="whatsapp"), f"batch event {k}")

    def test_unknown_whatsapp_type_is_kept(self):
        """A message type the gateway does not know is accepted and published
        as kind unknown with all of it in raw: never dropped."""
        doc = json.loads(read_fixture(WA, "message__text.json"))
        msg = doc["entry"][0]["changes"][0]["value"]["messages"][0]
        del msg["text"]
        msg.update(id="wamid.it-hologram", type="hologram",
                   hologram={"frames": 24, "caption": "spinning logo",
                             "projection": {"mode": "volumetric",
                                            "url": "https://example.com/h/1"}})
        bus = self.start_consumer(self.gw)
        self.accept(json.dumps(doc).encode(), events=1)
        m = bus.wait_message("wamid.it-hologram")
        self.assert_event(m, {
            "type": "message.received", "channel": "whatsapp", "account": "1122334455667",
            "kind": "unknown", "unsupported": True, "raw_type": "hologram", "text": "",
            "from": WA_CUSTOMER, "to": WA_BUSINESS, "attachments": ABSENT,
            "raw": Raw(hologram=msg["hologram"])}, "the hologram")
        # raw is the message object itself, every member of it.
        self.assertEqual(json.loads(m["raw"]), msg)
        self.assert_routed(m, "the hologram")
        st = self.router()
        self.assertEqual((st["stored"], st["rejected"]), (1, 0), st)

    def test_status_of_an_unknown_message(self):
        """A status about a message the gateway never saw (sent outside it) is
        published all the same, unlinked, as one event: no customer, thread
        or ticket comes of it. Its redelivery is a duplicate."""
        bus = self.start_consumer(self.gw)
        body = wa_status_body("delivered", "wamid.it-never-seen")
        self.accept(body, events=1)
        s = self.wait_event(bus, "message.status", external_id="wamid.it-never-seen")
        self.assert_event(s, wa_status("delivered", "delivered", 1698266945000,
                                       ext="wamid.it-never-seen", channel="whatsapp",
                                       account="1122334455667"), "the status")
        head = self.router()["head_seq"]
        self.assertEqual(s["seq"], head, "the status is the only event")
        self.assertEqual([t for _, t, _ in bus.snapshot()], ["message.status"])
        # Meta's redelivery: accepted, a duplicate, nothing published.
        self.accept(body, events=1)
        gwtest.wait_until(lambda: self.router()["duplicates"] >= 1, tmo(10),
                          "the redelivered status counted as a duplicate")
        self.assertEqual(self.router()["head_seq"], head)

    def test_missing_timestamp_keeps_the_batch(self):
        """A status without its timestamp still names its message: it takes
        the time the body arrived, and the message beside it in the same
        change is not refused with it (whatsapp.md, refused bodies)."""
        bus = self.start_consumer(self.gw)
        doc = json.loads(wa_batch(["wamid.it-beside-status"]))
        doc["entry"][0]["changes"][0]["value"]["statuses"] = [
            {"id": "wamid.it-no-time", "status": "sent", "recipient_id": "15550003333"}]
        before = int(time.time() * 1000)
        self.accept(json.dumps(doc).encode(), events=2)
        after = int(time.time() * 1000)
        self.wait_event(bus, "message.received", external_id="wamid.it-beside-status")
        s = self.wait_event(bus, "message.status", external_id="wamid.it-no-time")
        self.assertEqual(s["status"], "sent")
        self.assertTrue(before <= s["status_at"] <= after, (before, s["status_at"], after))

    def test_unreadable_items_keep_the_batch(self):
        """One item that cannot be read never refuses the body (Meta would
        redeliver the same bytes and the good messages would wait with it):
        a message is kept as unknown with raw, a status is dropped, the rest
        of the batch is as if alone, one warning names the first path; the
        redelivery adds nothing (whatsapp.md, unreadable items)."""
        bus = self.start_consumer(self.gw)
        doc = json.loads(wa_batch(["wamid.it-unreadable", "wamid.it-readable"]))
        value = doc["entry"][0]["changes"][0]["value"]
        value["messages"][0].update(
            type="interactive", interactive={"type": "button_reply",
                                             "button_reply": {"id": "", "title": "Yes"}})
        del value["messages"][0]["text"]
        value["statuses"] = [{"id": "wamid.it-no-status-name", "timestamp": "1700000100"}]
        body = json.dumps(doc).encode()
        self.accept(body, events=2)
        bad = self.wait_event(bus, "message.received", external_id="wamid.it-unreadable")
        self.assert_event(bad, {"kind": "unknown", "unsupported": True,
                                "raw_type": "interactive", "text": "",
                                "from": {"address": "15550003333", "name": "Dana"},
                                "raw": Raw(id="wamid.it-unreadable")}, "the unreadable one")
        self.assert_routed(bad, "the unreadable one")
        good = self.wait_event(bus, "message.received", external_id="wamid.it-readable")
        self.assertEqual((good["kind"], good["text"]), ("text", "text of wamid.it-readable"))
        self.assert_log("2 items of the body could not be read: 1 kept as unknown, 1 dropped; "
                        "first: entry[0].changes[0].value.messages[0].interactive")
        self.meta_counters({"unreadable": 2, "dropped": 1})
        head = self.router()["head_seq"]
        self.accept(body, events=2)
        gwtest.wait_until(lambda: self.router()["duplicates"] >= 2, tmo(10),
                          "the redelivered pair counted as duplicates")
        self.assertEqual(self.router()["head_seq"], head)

    def test_messenger_edit_reaction_and_unsend_redelivered(self):
        """Messenger edits and reactions, an Instagram unsend and an item
        without its mid, each once on the bus even when Meta redelivers the
        body (ids: messenger.md)."""
        bus = self.start_consumer(self.gw)

        def item(ts, **what):
            return dict({"sender": {"id": "PSID-IT"}, "recipient": {"id": "PAGE-IT"},
                         "timestamp": ts}, **what)
        page = {"object": "page", "entry": [{"id": "PAGE-IT", "time": 1700000000900,
                                             "messaging": [
            item(1700000000100, message={"mid": "m_it_1", "text": "helo"}),
            item(1700000000200, message_edit={"mid": "m_it_1", "text": "hello",
                                              "num_edit": 1}),
            item(1700000000300, reaction={"mid": "m_it_1", "action": "react",
                                          "emoji": "\u2764", "reaction": "love"}),
            item(1700000000400, reaction={"action": "react", "emoji": "x"})]}]}
        ig = {"object": "instagram", "entry": [{"id": "IG-IT", "time": 1700000000900,
                                                "messaging": [
            {"sender": {"id": "IGSID-IT"}, "recipient": {"id": "IG-IT"},
             "timestamp": 1700000000500, "message": {"mid": "ig_it_1", "text": "oops"}},
            {"sender": {"id": "IGSID-IT"}, "recipient": {"id": "IG-IT"},
             "timestamp": 1700000000600, "message": {"mid": "ig_it_1", "is_deleted": True}}]}]}
        bodies = [json.dumps(page).encode(), json.dumps(ig).encode()]
        self.accept(bodies[0], events=4)
        self.accept(bodies[1], events=2)
        self.wait_event(bus, "message.received", external_id="m_it_1", kind="text")
        ed = self.wait_event(bus, "message.edited", external_id="m_it_1")
        self.assertEqual((ed["change_id"], ed["text"]), ("m_it_1:edit:1", "hello"))
        r = self.wait_event(bus, "message.received", kind="reaction")
        self.assertEqual(r["external_id"], "m_it_1:reaction:PSID-IT:1700000000300")
        u = self.wait_event(bus, "message.received", kind="unknown", raw_type="reaction")
        self.assertTrue(u["external_id"].startswith("PSID-IT:unreadable:"), u)
        d = self.wait_event(bus, "message.deleted", external_id="ig_it_1")
        self.assertEqual(d["change_id"], "ig_it_1:delete")
        self.wait_event(bus, "message.received", external_id="ig_it_1")
        gwtest.wait_until(lambda: self.router()["received"] >= 6, tmo(10), "6 events routed")
        head = self.router()["head_seq"]
        for b in bodies:
            self.accept(b)
        gwtest.wait_until(lambda: self.router()["received"] >= 12, tmo(10),
                          "the redelivered bodies routed")
        self.assertEqual(self.router()["head_seq"], head, "a redelivery published nothing")

    def test_status_with_an_unknown_name_is_logged(self):
        """A status name the event schema does not have gives no event, but
        the connector's log names it (whatsapp.md, statuses)."""
        doc = json.loads(wa_status_body("delivered", "wamid.it-odd-status"))
        doc["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "pending_review"
        self.accept(json.dumps(doc).encode(), events=0)
        self.assert_log('1 WhatsApp status update skipped: status "pending_review" '
                        'has no name in the event schema')
        self.assertEqual(self.router()["received"], 0)

    def test_status_links_to_the_message_it_names(self):
        """
        docs/events.md: a status is linked to the message its external_id
        names when the router stored it in the same channel and account
        (message_seq, customer_id, ticket_id of that message.received or
        message.sent); it is one event, not filed in the thread or ticket.
        Outbound messages here: an echo of the WhatsApp Business app, and a
        reply (gatewayctl send), which this connector cannot send without an
        access_token (queued, then failed, whatsapp.md "Replies"). A status
        naming one of these ids on another number is about another message:
        not linked.
        """
        bus = self.start_consumer(self.gw)
        self.accept(unique_wa(read_fixture(WA, "message__text.json"), "link-in"), events=1)
        m_in = bus.wait_message("wamid.it-link-in")
        doc = json.loads(read_fixture(WA, "outgoing_message__text.json"))
        echo = doc["entry"][0]["changes"][0]["value"]["message_echoes"][0]
        for k in ("to_user_id", "to_parent_user_id"):
            echo.pop(k)
        echo.update({"from": "972123456789", "to": "972987654321", "id": "wamid.it-link-out",
                     "text": {"body": "Your order ships today"}})
        self.accept(json.dumps(doc).encode(), events=1)
        echoed = self.wait_event(bus, "message.sent", external_id="wamid.it-link-out")
        self.assert_event(echoed, {"direction": "outbound", "customer_id": m_in["customer_id"],
                                   "ticket_id": m_in["ticket_id"],
                                   "to": {"address": "972987654321", "name": "Test Name"}},
                          "the echo")
        p = self.gw.ctl("send", str(m_in["ticket_id"]), "We are on it", "--command-id",
                        "reply-1", "--json")
        res = json.loads(p.stdout)
        self.assertEqual((res["channel"], res["account"]), ("whatsapp", "1122334455667"), res)
        bus.wait_for(lambda c: c.complete_to(res["seq"]), tmo(10), "the reply's message.sent")
        reply = bus.event(res["seq"])[1]
        self.assert_event(reply, {"type": "message.sent", "reply_to": ["wamid.it-link-in"],
                                  "ticket_id": m_in["ticket_id"]}, "the reply")
        for status in ("queued", "failed"):
            s = self.wait_event(bus, "message.status", external_id=reply["external_id"],
                                status=status)
            self.assertEqual(s["message_seq"], reply["seq"], s)
        self.assertEqual(s["errors"],
                         [{"title": "WhatsApp replies are off: access_token is not set"}])
        head = self.router()["head_seq"]
        bus.wait_for(lambda c: c.complete_to(head), tmo(10), "every event on the bus")
        ticket_before = self.ticket(m_in["ticket_id"])

        # Meta reports what became of the answers, and of the customer's message.
        # A status of the failed reply is no news (failed is final): it is
        # linked, moves nothing and is not published.
        received = self.router()["received"]
        self.accept(wa_status_body("delivered", reply["external_id"]), events=1)
        self.wait_received(received + 1)
        self.assertEqual(self.router()["head_seq"], head)
        linked = [("sent", echoed), ("delivered", echoed), ("read", echoed), ("read", m_in)]
        for status, msg in linked:
            self.accept(wa_status_body(status, msg["external_id"]), events=1)
            s = self.wait_event(bus, "message.status",
                                status_id=f"{msg['external_id']}:{status}")
            self.assert_event(s, {"external_id": msg["external_id"], "status": status,
                                  "message_seq": msg["seq"], "customer_id": msg["customer_id"],
                                  "ticket_id": msg["ticket_id"]},
                              f"{status} of {msg['external_id']}")
        self.accept(wa_status_body("delivered", "wamid.it-link-out", "2233445566778"), events=1)
        s = self.wait_event(bus, "message.status", account="2233445566778")
        self.assert_event(s, {"external_id": "wamid.it-link-out", **UNLINKED}, "other number")

        # One event each, nothing else; the ticket neither holds nor counts them.
        head_now = self.router()["head_seq"]
        self.assertEqual(head_now, head + len(linked) + 1)
        bus.wait_for(lambda c: c.complete_to(head_now), tmo(10), "every event on the bus")
        self.assertEqual([t for seq, t, _ in bus.snapshot() if seq > head],
                         ["message.status"] * (len(linked) + 1))
        ticket_after = self.ticket(m_in["ticket_id"])
        self.assertEqual([e["seq"] for e in ticket_after["messages"]],
                         [e["seq"] for e in ticket_before["messages"]])
        self.assertEqual(ticket_after["ticket"]["message_count"],
                         ticket_before["ticket"]["message_count"])

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
        self.assert_log(f"meta/{INSTANCE}: 401 unauthorized from 127.0.0.1: "
                        "X-Hub-Signature-256 mismatch")
        self.assertNotIn(self.secret, self.gw.log_tail(400))
        c = self.meta_counters({"requests": len(cases), "rejected": len(cases)})
        self.assertEqual(c["outbox"]["committed"], 0, c)
        st = self.router()
        self.assertEqual((st["head_seq"], st["received"]), (0, 0), st)
        # The connection stays usable, and the signed body goes through.
        self.accept(body, events=1)
        self.wait_received(1)

    def test_truncated_json(self):
        """Signed but unreadable: kept in the quarantine (test_limits.py has
        its listing and reingest), answered 200, nothing routed."""
        body = read_fixture(WA, "message__text.json")
        r = self.client.post(body[:len(body) // 2])
        self.assertEqual((r.status, r.json().get("status")), (200, "kept"), r)
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
        path = os.path.join(self.media_dir, digest[:2], digest)
        self.assertEqual(att["ref"], "sha256:" + digest)
        self.assertNotIn("download_error", att)
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
        self.assertEqual(m["attachments"][0]["download_error"], "metadata: HTTP 404")
        self.assert_log("not downloaded")

    def test_media_over_the_limit_is_not_downloaded(self):
        self.graph.add("65463453", "image/jpeg", os.urandom(150000))
        bus = self.start_consumer(self.gw)
        self.accept(unique_wa(read_fixture(WA, "message__image.json"), "big-1"), events=1)
        m = bus.wait_message("wamid.it-big-1")
        self.assertEqual(m["attachments"][0]["ref"], "whatsapp-media:65463453")
        self.assertEqual(os.listdir(self.media_dir), [])


    def assert_not_downloaded(self, tag, why):
        bus = self.start_consumer(self.gw)
        self.accept(unique_wa(read_fixture(WA, "message__image.json"), tag), events=1)
        m = bus.wait_message(f"wamid.it-{tag}")
        self.assertEqual(m["attachments"][0]["ref"], "whatsapp-media:65463453")
        self.assertTrue(m["attachments"][0]["download_error"].startswith(why), m)
        self.assert_log(f"media 65463453 of message wamid.it-{tag} not downloaded ({why}")
        # Nothing of it stays, not even a partial file.
        self.assertEqual(os.listdir(self.media_dir), [])

    def test_streamed_bytes_over_the_limit_are_cut_off(self):
        """Graph leaves the size out and sends no Content-Length: the limit
        holds while the bytes arrive."""
        self.graph.add("65463453", "image/jpeg", os.urandom(150000))
        self.graph.meta_fields["65463453"] = {"file_size": None}
        self.graph.unsized.add("65463453")
        self.assert_not_downloaded("streamed-1", "larger than media_max_bytes (100000)")

    def test_understated_size_is_not_trusted(self):
        self.graph.add("65463453", "image/jpeg", os.urandom(150000))
        self.graph.meta_fields["65463453"] = {"file_size": 1000}
        self.assert_not_downloaded("understated-1", "larger than media_max_bytes (100000)")

    def test_content_that_does_not_match_its_sha256_is_not_kept(self):
        self.graph.add("65463453", "image/jpeg", os.urandom(20000))
        self.graph.meta_fields["65463453"] = {"sha256": hashlib.sha256(b"other").hexdigest()}
        self.assert_not_downloaded("digest-1", "content does not match Meta's sha256")

    def test_sha256_in_base64_is_checked(self):
        data = os.urandom(20000)
        self.graph.add("65463453", "image/jpeg", data)
        self.graph.meta_fields["65463453"] = {
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode()}
        bus = self.start_consumer(self.gw)
        self.accept(unique_wa(read_fixture(WA, "message__image.json"), "b64-1"), events=1)
        m = bus.wait_message("wamid.it-b64-1")
        digest = hashlib.sha256(data).hexdigest()
        self.assertEqual(m["attachments"][0]["ref"], "sha256:" + digest)
        self.assertTrue(os.path.isfile(os.path.join(self.media_dir, digest[:2], digest)))
        # The same digest, wrong, in base64: refused.
        self.graph.meta_fields["65463453"] = {
            "sha256": base64.b64encode(hashlib.sha256(b"other").digest()).decode()}
        self.accept(unique_wa(read_fixture(WA, "message__image.json"), "b64-2"), events=1)
        m = bus.wait_message("wamid.it-b64-2")
        self.assertEqual(m["attachments"][0]["ref"], "whatsapp-media:65463453")

    def test_other_webhooks_are_answered_during_a_download(self):
        """A slow Graph API holds the answer of the webhook with media, never
        the others."""
        self.graph.add("65463453", "image/jpeg", os.urandom(20000))
        # Metadata and bytes: twice that in all. Long enough that a commit on
        # a loaded machine (the suite runs in parallel) stays well below it.
        self.graph.delay = tmo(2.0)
        slow = MetaClient(self.meta_port, self.secret)
        self.addCleanup(slow.close)
        answers = {}

        def post_image():
            t0 = time.monotonic()
            r = slow.post(unique_wa(read_fixture(WA, "message__image.json"), "slow-1"))
            answers["image"] = (r.status, time.monotonic() - t0)

        t = threading.Thread(target=post_image)
        t.start()
        gwtest.wait_until(lambda: self.graph.requests, tmo(5), "the download started")
        t0 = time.monotonic()
        self.accept(unique_wa(read_fixture(WA, "message__text.json"), "while-1"), events=1)
        took = time.monotonic() - t0
        t.join(tmo(20))
        self.assertLess(took, 0.9 * self.graph.delay, "the text waited for the download")
        self.assertEqual(answers["image"][0], 200, answers)
        self.assertGreaterEqual(answers["image"][1], 1.9 * self.graph.delay, answers)


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
        # The router publishes before it acknowledges: wait for the ack to
        # leave the spool empty, else the fill below counts one more.
        # (acked, not only spooled: the status file starts with zeros.)
        gwtest.wait_until(lambda: (lambda o: o.get("acked", 0) >= 1 and o.get("spooled") == 0)
                          (self.outbox()), tmo(10), "the first message acknowledged",
                          on_fail=lambda: f"now {self.outbox()}")
        router = self.gw.child_pid("router")
        os.kill(router, signal.SIGSTOP)
        try:
            # The router takes nothing: the spool fills to one short of full.
            fill = [f"wamid.full-fill-{i}" for i in range(self.SPOOL_MAX - 1)]
            for k in range(0, len(fill), 111):
                self.accept(wa_batch(fill[k:k + 111]), events=len(fill[k:k + 111]))
            gwtest.wait_until(lambda: self.outbox().get("spooled") == len(fill), tmo(5),
                              f"{len(fill)} spooled", on_fail=lambda: f"now {self.outbox()}")
            batch = wa_batch(["wamid.full-stored", "wamid.full-new-1", "wamid.full-new-2"])
            r = self.client.post(batch)
            self.assert_refused(r, 503, "unavailable")
            self.assertIn("spool is full", r.json()["message"])
            self.assert_log(f"meta/{INSTANCE}: 503")
            self.assertEqual(self.outbox().get("spooled"), len(fill), self.outbox())
        finally:
            os.kill(router, signal.SIGCONT)
        gwtest.wait_until(lambda: self.outbox().get("spooled") == 0, tmo(30),
                          "the spool drained", on_fail=lambda: f"now {self.outbox()}")
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
