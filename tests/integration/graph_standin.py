"""
graph_standin - a local stand-in for the parts of Meta's Graph API that the
Meta connector sends replies with, speaking their documented requests,
answers and error bodies (Meta's servers cannot run here):

  POST /<version>/<phone_number_id>/messages     WhatsApp Cloud API, JSON
       -> 200 {"messaging_product": "whatsapp",
               "contacts": [{"input": to, "wa_id": to}],
               "messages": [{"id": "wamid.<...>"}]}
  POST /<version>/<phone_number_id>/media        multipart: messaging_product,
       type, file -> 200 {"id": "<media id>"}
  POST /<version>/me/messages                    Send API (Messenger and
       Instagram), JSON or multipart (recipient, messaging_type, tag, message
       as JSON text fields, filedata) -> 200 {"recipient_id", "message_id"}

Every call needs "Authorization: Bearer <token>": the WhatsApp token for
the first two, the page token of the account for the Send API (which
account a token belongs to is known here, as Meta knows it). A wrong or
missing token is answered 401 with Graph error 190. A request that misses
what the format requires is answered 400 with Graph error 100, so that a
malformed request fails the test. Error bodies are Meta's:

  {"error": {"message": "(#<code>) <title>", "type": "OAuthException",
             "code": <code>, "error_subcode": <n>,
             "error_data": {"messaging_product": "whatsapp", "details": "..."},
             "fbtrace_id": "..."}}

A test scripts the next answers (`fail_next`) and the ids of the next sends
(`ids`), holds every answer until it releases them (`hold`), slows them
(`delay`), and reads back each request parsed (`requests`): path, headers,
JSON body or multipart fields, and the id the answer gave (`answer_id`).
`max_active` is the most requests it was answering at once.
"""

import email.parser
import email.policy
import http.server
import json
import secrets
import threading
import time

# Meta's documented errors (titles and details as the Cloud API and Send API
# documentation give them).
ERRORS = {
    131047: (400, "Re-engagement message", 2494010,
             "Message failed to send because more than 24 hours have passed since the "
             "customer last replied to this number."),
    130429: (400, "Rate limit hit", None,
             "Cloud API message throughput has been reached."),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit", None,
             "Too many messages sent from the sender phone number to the same recipient "
             "phone number in a short period of time."),
    613: (400, "Calls to this api have exceeded the rate limit.", None, None),
    190: (401, "Error validating access token: Session has expired on Tuesday, "
          "01-Aug-23 10:00:00 PDT.", 463, None),
    131026: (400, "Message Undeliverable", None,
             "Unable to deliver message. Reasons can include: the recipient phone number "
             "is not a WhatsApp phone number."),
    10: (400, "This message is sent outside of allowed window.", 2018278, None),
    100: (400, "Invalid parameter", None, None),
}


def error_body(code, message=None, details=None, whatsapp=True):
    """Meta's error object for `code` (ERRORS), as JSON bytes, and its HTTP status."""
    status, title, subcode, doc_details = ERRORS[code]
    err = {"message": message or (f"(#{code}) {title}" if code != 190 else title),
           "type": "OAuthException", "code": code,
           "fbtrace_id": "A" + secrets.token_urlsafe(16)}
    if subcode is not None:
        err["error_subcode"] = subcode
    d = details or doc_details
    if d is not None:
        err["error_data"] = {"messaging_product": "whatsapp", "details": d} if whatsapp \
            else {"details": d}
    return status, json.dumps({"error": err}).encode()


class Request:
    """One request as the stand-in read it."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.raw = body
        self.json = None
        self.fields = {}   # multipart: name -> str (or bytes for files)
        self.files = {}    # multipart: name -> (filename, content type, bytes)
        self.at = time.monotonic()
        self.answer_id = None  # the message id the answer gave, if any
        ctype = headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            try:
                self.json = json.loads(body)
            except ValueError:
                self.json = None
        elif ctype.startswith("multipart/form-data"):
            self._multipart(ctype, body)

    def _multipart(self, ctype, body):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True)
            if part.get_filename() is not None:
                self.files[name] = (part.get_filename(), part.get_content_type(), data)
            else:
                self.fields[name] = data.decode()

    @property
    def bearer(self):
        a = self.headers.get("Authorization", "")
        return a[len("Bearer "):] if a.startswith("Bearer ") else None

    def reply_id(self):
        """The gateway's id of the reply this request carries (WhatsApp's
        biz_opaque_callback_data, the Send API's message.metadata)."""
        doc = self.json
        if doc is None and "message" in self.fields:
            doc = {"message": json.loads(self.fields["message"])}
        if not isinstance(doc, dict):
            return None
        if "biz_opaque_callback_data" in doc:
            return doc["biz_opaque_callback_data"]
        return (doc.get("message") or {}).get("metadata")


class GraphStandIn:
    """The stand-in server; see the module's doc."""

    def __init__(self, wa_token, page_tokens=None, version="v21.0"):
        self.version = version
        self.wa_token = wa_token
        self.page_tokens = dict(page_tokens or {})  # account id -> token
        self.requests = []
        self.script = []       # next answers: Graph error codes, or (status, bytes)
        self.ids = []          # the ids the next sends get (else random ones)
        self.delay = 0.0
        self.released = threading.Event()
        self.released.set()
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.n = 0
        self.active = 0
        self.max_active = 0
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def handle(self):
                try:
                    super().handle()
                except ConnectionError:
                    self.close_connection = True  # the connector was killed

            def do_POST(self):
                standin._handle(self)

            def do_GET(self):
                standin._answer(self, *error_body(100))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}/{self.version}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    # test controls

    def fail_next(self, *answers):
        """The next answers: a Graph error code (ERRORS), or (status, body)."""
        with self.lock:
            self.script.extend(answers)

    def hold(self):
        """Every answer waits until release()."""
        self.released.clear()

    def release(self):
        self.released.set()

    def wait_requests(self, n, timeout, path_part=""):
        """Waits until n requests whose path holds path_part arrived; returns them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [r for r in self.requests if path_part in r.path]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the Graph stand-in got {len(got)} requests to "
                                         f"{path_part!r}, expected {n}: "
                                         f"{[r.path for r in self.requests]}")
                self.cond.wait(left)

    def of_path(self, path_part):
        with self.lock:
            return [r for r in self.requests if path_part in r.path]

    # serving

    def _answer(self, h, status, body):
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json; charset=UTF-8")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except ConnectionError:
            h.close_connection = True  # the connector was killed meanwhile

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request("POST", h.path, h.headers, body)
        with self.cond:
            self.requests.append(req)
            self.n += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            scripted = self.script.pop(0) if self.script else None
            self.cond.notify_all()
        try:
            answer = self._reply(h, req, scripted)
        finally:
            # Done before the answer is written: the connector's next
            # request can only follow it.
            with self.lock:
                self.active -= 1
        self._answer(h, *answer)

    def _reply(self, h, req, scripted):
        self.released.wait()
        if self.delay:
            time.sleep(self.delay)
        if scripted is not None:
            if isinstance(scripted, int):
                return error_body(scripted, whatsapp="/me/" not in h.path)
            return scripted
        return self._route(req)

    def _route(self, req):
        parts = req.path.split("?")[0].strip("/").split("/")
        if len(parts) != 3 or parts[0] != self.version:
            return error_body(100, "Unknown path components: /" + "/".join(parts[1:]))
        node, edge = parts[1], parts[2]
        if node == "me" and edge == "messages":
            return self._send_api(req)
        if edge == "messages":
            return self._wa_message(req, node)
        if edge == "media":
            return self._wa_media(req)
        return error_body(100, "Unknown path components: /" + edge)

    def _wa_message(self, req, phone_number_id):
        if req.bearer != self.wa_token:
            return error_body(190, "Invalid OAuth access token - Cannot parse access token")
        doc = req.json
        if not isinstance(doc, dict) or doc.get("messaging_product") != "whatsapp":
            return error_body(100, "(#100) The parameter messaging_product is required.")
        kind = doc.get("type", "text")
        if not doc.get("to") or not isinstance(doc.get(kind), dict):
            return error_body(100, f"(#100) Param {kind} is required.")
        wamid = self._next_id("wamid.HBgL" + secrets.token_hex(12).upper())
        ans = {"messaging_product": "whatsapp",
               "contacts": [{"input": doc["to"], "wa_id": doc["to"]}],
               "messages": [{"id": wamid}]}
        if kind == "template":
            ans["messages"][0]["message_status"] = "accepted"
        return 200, json.dumps(ans).encode()

    def _next_id(self, made):
        with self.lock:
            return self.ids.pop(0) if self.ids else made

    def _wa_media(self, req):
        if req.bearer != self.wa_token:
            return error_body(190, "Invalid OAuth access token - Cannot parse access token")
        if req.fields.get("messaging_product") != "whatsapp" or "file" not in req.files:
            return error_body(100, "(#100) The parameter file is required.")
        return 200, json.dumps({"id": str(1000000000000000 + self.n)}).encode()

    def _send_api(self, req):
        token = req.bearer
        if token is None or token not in self.page_tokens.values():
            return error_body(190, "Invalid OAuth access token - Cannot parse access token")
        if req.json is not None:
            doc = req.json
        else:
            doc = {k: (json.loads(v) if k in ("recipient", "message") else v)
                   for k, v in req.fields.items()}
        rid = ((doc.get("recipient") or {}).get("id")) if isinstance(doc, dict) else None
        if not rid or not isinstance(doc.get("message"), dict):
            return error_body(100, "(#100) param recipient must be non-empty.", whatsapp=False)
        if doc.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return error_body(100, "(#100) param messaging_type is invalid.", whatsapp=False)
        mid = self._next_id("m_" + secrets.token_urlsafe(24))
        req.answer_id = mid
        return 200, json.dumps({"recipient_id": rid, "message_id": mid}).encode()
