"""
botapi - a stand-in for the Telegram Bot API on loopback, for the
integration tests (test_telegram.py) and the webhook benchmark.

It speaks the Bot API as https://core.telegram.org/bots/api documents it,
for one bot token:

  POST|GET /bot<token>/<method>   parameters as JSON, form, multipart or query
    getUpdates       long polling with offset semantics: an update is kept
                     until a getUpdates with a higher offset confirms it;
                     without offset, the earliest unconfirmed ones come;
                     waits up to `timeout` seconds for one to arrive;
                     409 while a webhook is set or `conflict` is on
    setWebhook, deleteWebhook, getWebhookInfo
    sendMessage, sendPhoto, sendDocument
                     a new message_id each (from 9001); 403 "Forbidden: bot
                     was blocked by the user" for a chat in `blocked`
    getFile          file_path of a file added with add_file()
  GET /file/bot<token>/<file_path>   the file's bytes
  anything with another token: 401 Unauthorized

Every answer is {"ok":true,"result":...} or the documented error body
{"ok":false,"error_code":N,"description":"...","parameters":{...}}.
`script[method]` holds answers (status, body) to give before the normal
ones (rate_limit() scripts Telegram's 429 with parameters.retry_after).
Every call is recorded in `calls`, and when it came in `call_times`.
"""

import email.parser
import email.policy
import http.server
import json
import threading
import time
import urllib.parse


# A scripted answer: the connection is closed with no answer at all (a
# proxy or the network dropped it); libcurl reports "Empty reply from server".
DROP = (0, None)


def error(code, description, **parameters):
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


class BotApi:

    def __init__(self, token):
        self.token = token
        self.cond = threading.Condition()
        self.pending = []          # unconfirmed updates, in order
        self.next_update_id = 700000
        self.served = {}           # update_id -> times it was in an answer
        self.offsets = []          # (monotonic time, offset or None) per getUpdates
        self.calls = []            # (method, params, files) in order
        self.call_times = []       # monotonic time of each call in `calls`
        self.scripted = []         # (method, monotonic time) of each scripted answer
        self.script = {}           # method -> [(status, body)]
        self.webhook = None        # setWebhook's parameters while set
        self.files = {}            # file_id -> (file_path, bytes)
        self.next_message_id = 9001
        self.blocked = set()       # chat ids (str) that blocked the bot
        self.conflict = False      # getUpdates answers 409
        self.swallow_next = False  # the next getUpdates is taken but never applied
        self.swallow_after_batch = False  # swallow_next once an answer held updates
        self.swallowed = 0
        self.closing = False
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                api._serve(self)

            def do_POST(self):
                api._serve(self)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that went away (a killed connector)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # --- what a test does ---

    def add_update(self, update):
        """Queues an Update (a dict without update_id); returns its update_id."""
        with self.cond:
            uid = self.next_update_id
            self.next_update_id += 1
            self.pending.append(dict(update, update_id=uid))
            self.cond.notify_all()
            return uid

    def add_file(self, file_id, data, file_path):
        with self.cond:
            self.files[file_id] = (file_path, data)

    def rate_limit(self, method, retry_after, times=1):
        """The next `times` calls of `method` are answered as Telegram does
        past its limits: 429 with parameters.retry_after (seconds)."""
        with self.cond:
            self.script.setdefault(method, []).extend(
                [error(429, f"Too Many Requests: retry after {retry_after}",
                       retry_after=retry_after)] * times)

    def drop(self, method, times=1):
        """The next `times` calls of `method` get no answer: the connection
        is closed once the request is read."""
        with self.cond:
            self.script.setdefault(method, []).extend([DROP] * times)

    def times_of(self, method):
        """When each call of `method` came (time.monotonic())."""
        with self.cond:
            return [t for c, t in zip(self.calls, self.call_times) if c[0] == method]

    def calls_of(self, method):
        with self.cond:
            return [c for c in self.calls if c[0] == method]

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}; "
                                         f"calls: {[c[0] for c in self.calls][-20:]}")
                self.cond.wait(min(left, 0.2))

    # --- the server ---

    def _params(self, h, body):
        ctype = h.headers.get("Content-Type", "")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(h.path).query))
        files = {}
        if ctype.startswith("application/json"):
            query.update(json.loads(body or b"{}"))
        elif ctype.startswith("application/x-www-form-urlencoded"):
            query.update(dict(urllib.parse.parse_qsl(body.decode())))
        elif ctype.startswith("multipart/form-data"):
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True)
                if part.get_filename() is not None:
                    files[name] = {"filename": part.get_filename(), "data": data,
                                   "type": part.get_content_type()}
                else:
                    query[name] = data.decode()
        return query, files

    def _answer(self, h, status, body):
        data = json.dumps(body).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass

    def _serve(self, h):
        body = h.rfile.read(int(h.headers.get("Content-Length", "0") or 0))
        path = urllib.parse.urlsplit(h.path).path
        if path.startswith("/file/bot"):
            return self._file(h, path)
        parts = path.split("/")
        if len(parts) != 3 or parts[1] != "bot" + self.token:
            return self._answer(h, *error(401, "Unauthorized"))
        method = parts[2]
        params, files = self._params(h, body)
        with self.cond:
            self.calls.append((method, params, files))
            self.call_times.append(time.monotonic())
            self.cond.notify_all()
            scripted = self.script.get(method)
            answer = scripted.pop(0) if scripted else None
            if answer is not None:
                self.scripted.append((method, time.monotonic()))
        if answer is DROP:
            h.close_connection = True
            return None
        if answer is not None:
            return self._answer(h, *answer)
        fn = getattr(self, "_m_" + method, None)
        if fn is None:
            return self._answer(h, *error(404, "Not Found: method not found"))
        return self._answer(h, *fn(params, files))

    def _file(self, h, path):
        prefix = f"/file/bot{self.token}/"
        with self.cond:
            found = [d for p, d in self.files.values() if path == prefix + p]
        if not found:
            return self._answer(h, *error(404, "Not Found"))
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Length", str(len(found[0])))
            h.end_headers()
            h.wfile.write(found[0])
        except OSError:
            pass

    # --- methods ---

    def _m_getUpdates(self, p, files):
        offset = p.get("offset")
        offset = int(offset) if offset is not None else None
        limit = int(p.get("limit", 100))
        timeout = min(float(p.get("timeout", 0)), 5.0)
        with self.cond:
            self.offsets.append((time.monotonic(), offset))
            if self.swallow_next:
                # Taken but never applied: as if it were lost on the way.
                self.swallow_next = False
                self.swallowed += 1
                self.cond.notify_all()
                self.cond.wait_for(lambda: self.closing, timeout=30)
                return error(502, "Bad Gateway")
            if self.conflict:
                return error(409, "Conflict: terminated by other getUpdates request; make "
                             "sure that only one bot instance is running")
            if self.webhook is not None:
                return error(409, "Conflict: can't use getUpdates method while webhook is "
                             "active; use deleteWebhook to delete the webhook first")
            if offset is not None:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            self.cond.wait_for(lambda: self.pending or self.closing, timeout=timeout)
            out = self.pending[:limit]
            for u in out:
                self.served[u["update_id"]] = self.served.get(u["update_id"], 0) + 1
            if out and self.swallow_after_batch:
                self.swallow_after_batch = False
                self.swallow_next = True
            self.cond.notify_all()
            return 200, {"ok": True, "result": out}

    def _m_setWebhook(self, p, files):
        if not str(p.get("url", "")).startswith("https://"):
            return error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for "
                         "webhook")
        with self.cond:
            self.webhook = p
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    def _m_deleteWebhook(self, p, files):
        with self.cond:
            was = self.webhook is not None
            self.webhook = None
        return 200, {"ok": True, "result": True,
                     "description": "Webhook was deleted" if was else "Webhook is already deleted"}

    def _m_getWebhookInfo(self, p, files):
        with self.cond:
            w = self.webhook or {}
            info = {"url": w.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": len(self.pending)}
            if w.get("allowed_updates"):
                info["allowed_updates"] = w["allowed_updates"]
        return 200, {"ok": True, "result": info}

    def _send(self, p, extra):
        chat = str(p.get("chat_id"))
        with self.cond:
            if chat in self.blocked:
                return error(403, "Forbidden: bot was blocked by the user")
            mid = self.next_message_id
            self.next_message_id += 1
        msg = {"message_id": mid, "from": {"id": int(self.token.split(":")[0]), "is_bot": True,
                                           "first_name": "Support"},
               "chat": {"id": int(chat), "type": "private"}, "date": int(time.time())}
        msg.update(extra)
        return 200, {"ok": True, "result": msg}

    def _m_sendMessage(self, p, files):
        if not p.get("text"):
            return error(400, "Bad Request: message text is empty")
        return self._send(p, {"text": p["text"]})

    def _m_sendPhoto(self, p, files):
        if "photo" not in p and "photo" not in files:
            return error(400, "Bad Request: there is no photo in the request")
        return self._send(p, {"photo": [{"file_id": "sent-photo", "file_unique_id": "u",
                                         "width": 1, "height": 1}]})

    def _m_sendDocument(self, p, files):
        if "document" not in p and "document" not in files:
            return error(400, "Bad Request: there is no document in the request")
        return self._send(p, {"document": {"file_id": "sent-doc", "file_unique_id": "u"}})

    def _m_getFile(self, p, files):
        with self.cond:
            f = self.files.get(p.get("file_id"))
        if not f:
            return error(400, "Bad Request: invalid file_id")
        return 200, {"ok": True, "result": {"file_id": p["file_id"], "file_unique_id": "u",
                                            "file_size": len(f[1]), "file_path": f[0]}}
