"""
The Telegram channel end to end: the real gatewayd with a `telegram`
connector whose Bot API is a stand-in on loopback (botapi.py, which speaks
the API as documented: getUpdates with offset semantics, setWebhook,
sendMessage, sendPhoto, getFile and the file download, and the documented
error bodies).

  - polling: updates of every kind read (nutgram fixtures) reach the bus
    as docs/channels/telegram.md says; a poll (no sender) is kept under the
    bot, without a ticket; a 429 on getUpdates waits its retry_after
  - the offset survives SIGKILL: a connector killed after its updates were
    durable but before Telegram heard of the new offset confirms them
    after its restart instead of reading them again (each update is served
    once); killed during a flood, nothing is skipped or doubled
  - replies: sendMessage quoting the customer's message, the message_id
    reported as the reply's reference, the customer's answer to it joins
    the same ticket; a photo uploaded as multipart; 429 retried after
    retry_after; a user who blocked the bot fails the reply for good
  - 409 Conflict shown by `gatewayctl status` until it ends
  - webhook: the secret token (missing, wrong, malformed), bodies that are
    not Updates, a redelivered update adds nothing; `gatewayctl telegram
    set-webhook`, `info` and `delete-webhook` against the stand-in
  - webhook, a chat over sender_burst: its update answered 200, held, listed
    and released by reingest into the chat's ticket
  - file_download: a photo downloaded into the attachments, one over
    file_max_bytes left as its file_id; a webhook answered once its file
    is stored
  - without its token the connector stays off and `gatewayctl status` says why
"""

import copy
import hashlib
import http.client
import json
import os
import re
import signal
import threading
import time
import unittest

import gwtest
import integ
from botapi import BotApi, error
from gwtest import GatewayTestCase, tmo

INSTANCE = "tg-support"
TOKEN = "4242:AAH-test_token-0123456789abcdef"
SECRET = "webhook-Secret_0123456789"
PATH = "/webhooks/telegram"
FIXTURES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                         "fixtures", "telegram", "nutgram"))
DEFAULT_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def fixture(name):
    """A nutgram Update as a dict, without its update_id (the stand-in gives one)."""
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        doc = json.load(f)
    doc.pop("update_id", None)
    return doc


def text_update(chat, mid, text, reply_to=None, name="Ana"):
    msg = {"message_id": mid,
           "from": {"id": chat, "is_bot": False, "first_name": name, "username": name.lower()},
           "chat": {"id": chat, "type": "private", "first_name": name},
           "date": int(time.time()), "text": text}
    if reply_to is not None:
        msg["reply_to_message"] = {"message_id": reply_to, "chat": msg["chat"], "date": 1,
                                   "text": "earlier"}
    return {"message": msg}


class TelegramCase(GatewayTestCase):

    mode = "polling"
    extra = ()
    integration = False  # with the integration API (integ.IntegGateway)

    def start_tg(self, mode=None, extra=None, env=None, expect_running=True):
        mode = mode or self.mode
        self.api = BotApi(TOKEN)
        self.addCleanup(self.api.close)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = integ.IntegGateway(root) if self.integration else gwtest.Gateway(root)
        self.tg_port = gwtest.free_ports(1)[0]
        lines = [f"  - name: {INSTANCE}", "    type: telegram", "    enabled: true",
                 "    token: ${GATEWAY_TELEGRAM_TOKEN}", f"    api_url: \"{self.api.base}\"",
                 f"    mode: {mode}", "    poll_timeout_s: 2", "    send_retry_for_s: 30"]
        if mode == "webhook":
            lines += [f"    listen: \"127.0.0.1:{self.tg_port}\"", f"    path: {PATH}",
                      "    secret_token: ${GATEWAY_TELEGRAM_SECRET}"]
        lines += ["    " + ln for ln in gwtest.with_sender_limits_off(
            self.extra if extra is None else extra)]
        integ.add_connector_lines(gw, lines)
        gw.env["GATEWAY_TELEGRAM_TOKEN"] = TOKEN
        gw.env["GATEWAY_TELEGRAM_SECRET"] = SECRET
        for k, v in (env or {}).items():
            if v is None:
                gw.env.pop(k, None)
            else:
                gw.env[k] = v
        if expect_running:
            gw.connectors.append(INSTANCE)
        self.gw = self.run_gateway(gw)
        if expect_running and mode == "webhook":
            gwtest.wait_until(self._healthy, tmo(10), "GET /healthz of the webhook")
        return gw

    def _healthy(self):
        try:
            return self.post_raw("GET", "/healthz", None, {}).status == 200
        except gwtest.RETRYABLE:
            return False

    def post_raw(self, method, path, body, headers):
        c = http.client.HTTPConnection("127.0.0.1", self.tg_port, timeout=tmo(10))
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return gwtest.Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()

    # what the connector and the router say

    def status_file(self):
        return gwtest.read_json_file(self.gw.run_file(INSTANCE)) or {}

    def counters(self):
        return self.status_file().get("counters", {})

    def wait_counters(self, pred, what):
        """Waits until pred(counters) holds; returns the counters."""
        gwtest.wait_until(lambda: pred(self.counters()), tmo(10), what,
                          on_fail=lambda: repr(self.status_file()))
        return self.counters()

    def router(self):
        res, _ = gwtest.command_ok(self.gw.command_ep, "status", {})
        return res["counters"]

    def wait_event(self, bus, etype, **fields):
        def find(c):
            for _, t, m in c.snapshot():
                if t == etype and all(m.get(k) == v for k, v in fields.items()):
                    return m
            return None
        bus.wait_for(find, tmo(15), f"{etype} with {fields}")
        return find(bus)

    def events(self, bus, etype, **fields):
        return [m for _, t, m in bus.snapshot()
                if t == etype and all(m.get(k) == v for k, v in fields.items())]

    def send(self, ticket, text, *extra, check=True):
        return self.gw.ctl("send", str(ticket), text, "--json", *extra, check=check,
                           timeout=tmo(60))

    def reply_status(self, bus, status, delivery):
        pat = re.compile(rf"reply-{delivery}-[0-9a-f]{{32}}")

        def find(c):
            for _, t, m in c.snapshot():
                if t == "message.status" and m.get("status") == status and \
                        pat.fullmatch(m.get("external_id") or ""):
                    return m
            return None
        bus.wait_for(find, tmo(40), f"message.status {status} of delivery {delivery}")
        return find(bus)


class Polling(TelegramCase):

    def setUp(self):
        super().setUp()
        self.start_tg()
        self.bus = self.start_consumer(self.gw)

    def test_update_kinds(self):
        want = []  # (external_id or prefix, kind)
        n = 0
        for name, kind in [("message.json", "text"), ("photo.json", "photo"),
                           ("voice.json", "voice"), ("document.json", "document"),
                           ("location.json", "location"), ("venue.json", "venue"),
                           ("contact.json", "contact"), ("sticker.json", "sticker"),
                           ("dice.json", "unknown")]:
            u = fixture(name)
            n += 1
            u["message"]["message_id"] = 1000 + n  # nutgram reuses its ids
            self.api.add_update(u)
            want.append((f"{u['message']['chat']['id']}:{1000 + n}", kind))
        cb = fixture("callback_query.json")
        self.api.add_update(cb)
        blocked = fixture("my_chat_member.json")
        blocked["my_chat_member"]["chat"]["type"] = "private"
        blocked["my_chat_member"]["new_chat_member"]["status"] = "kicked"
        self.api.add_update(blocked)
        self.api.add_update(fixture("channel_post.json"))
        self.api.add_update(fixture("edited_message.json"))
        self.api.add_update(fixture("poll.json"))
        poll_id = self.api.next_update_id - 1
        for ext, kind in want:
            m = self.bus.wait_message(ext, timeout=tmo(15))
            self.assertEqual(m["kind"], kind, m)
            self.assertEqual(m["channel"], "telegram")
            self.assertEqual(m["account"], INSTANCE)
            self.assertIsInstance(m["ticket_id"], int)
        photo = self.bus.received(want[1][0])
        self.assertEqual(photo["attachments"][0]["ref"], "telegram-file:SEES")
        self.assertEqual(photo["text"], "asdasdasdasdasdasd")
        dice = self.bus.received(want[-1][0])
        self.assertTrue(dice["unsupported"])
        self.assertEqual(dice["raw_type"], "dice")
        m = self.bus.wait_message("callback:666728699048485871")
        self.assertEqual(m["choice"]["id"], "thedata")
        self.assertEqual(m["reply_to"], ["222222222:69587"])
        m = self.wait_event(self.bus, "message.received", kind="blocked")
        self.assertTrue(m["auto_reply"])
        self.assertNotIn("ticket_id", m)  # filed without a ticket
        self.assertEqual(m["text"], "[the user blocked the bot]")
        m = self.wait_event(self.bus, "message.received", raw_type="channel_post")
        self.assertEqual(m["kind"], "unknown")
        self.assertIn("\"channel_post\"", m["raw"])
        e = self.wait_event(self.bus, "message.edited", external_id="999999999:23762")
        self.assertEqual(e["text"], "Editing this message")
        # The poll names nobody: kept as unknown under the bot, automated
        # (no ticket), never dropped.
        p = self.wait_event(self.bus, "message.received", raw_type="poll")
        self.assertEqual((p["kind"], p["from"]["address"]), ("unknown", "bot4242"))
        self.assertTrue(p["external_id"].startswith(f"update:{poll_id}:"), p)
        self.assertTrue(p["auto_reply"])
        self.assertNotIn("ticket_id", p)
        self.assertIn("\"question\"", p["raw"])
        c = self.wait_counters(lambda c: c.get("telegram", {}).get("updates") == 14,
                               "14 updates counted")
        self.assertEqual(c["telegram"]["blocked"], 1)
        self.assertEqual((c.get("unreadable", 0), c.get("dropped", 0)), (0, 0))
        self.api.wait(lambda a: not a.pending, tmo(10), "every update confirmed")

    def test_reply_threads_back(self):
        self.api.add_update(text_update(5001, 10, "Where is my order?"))
        m = self.bus.wait_message("5001:10")
        self.send(m["ticket_id"], "It ships today", "--wait")
        calls = self.api.calls_of("sendMessage")
        self.assertEqual(len(calls), 1, calls)
        p = calls[0][1]
        self.assertEqual((str(p["chat_id"]), p["text"]), ("5001", "It ships today"))
        self.assertEqual(p["reply_parameters"]["message_id"], 10)
        sent = self.reply_status(self.bus, "sent", 1)
        self.assertEqual(sent["provider_id"], "5001:9001")
        # The customer answers our message: the reply's reference finds it.
        self.api.add_update(text_update(5001, 11, "Thanks!", reply_to=9001))
        again = self.bus.wait_message("5001:11")
        self.assertEqual(again["reply_to"], ["5001:9001"])
        self.assertEqual(again["thread_rule"], "reply_reference")
        self.assertEqual(again["ticket_id"], m["ticket_id"])

    def test_photo_reply_is_uploaded(self):
        self.api.add_update(text_update(5002, 20, "Send me the invoice"))
        m = self.bus.wait_message("5002:20")
        path = os.path.join(self.tmp, "invoice.png")
        data = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
        with open(path, "wb") as f:
            f.write(data)
        self.send(m["ticket_id"], "Here it is", "--attach", path, "--wait")
        calls = self.api.calls_of("sendPhoto")
        self.assertEqual(len(calls), 1, calls)
        params, files = calls[0][1], calls[0][2]
        self.assertEqual(files["photo"]["data"], data)
        self.assertEqual(files["photo"]["filename"], "invoice.png")
        self.assertEqual(params["caption"], "Here it is")
        self.assertEqual(json.loads(params["reply_parameters"])["message_id"], 20)
        self.assertEqual(self.api.calls_of("sendMessage"), [])  # the text was the caption

    def test_blocked_user_fails_the_reply(self):
        self.api.add_update(text_update(5003, 30, "Hello"))
        m = self.bus.wait_message("5003:30")
        u = fixture("my_chat_member.json")
        u["my_chat_member"].update(chat={"id": 5003, "type": "private", "first_name": "Ana"},
                                   **{"from": {"id": 5003, "is_bot": False, "first_name": "Ana"}})
        u["my_chat_member"]["new_chat_member"]["status"] = "kicked"
        self.api.add_update(u)
        b = self.wait_event(self.bus, "message.received", kind="blocked")
        self.assertEqual(b["customer_id"], m["customer_id"])
        self.api.blocked.add("5003")
        p = self.send(m["ticket_id"], "Are you there?", "--wait", check=False)
        self.assertEqual(p.returncode, 1, p)
        failed = self.reply_status(self.bus, "failed", 1)
        self.assertIn("bot was blocked by the user", failed["errors"][0]["title"])
        self.assertEqual(len(self.api.calls_of("sendMessage")), 1)  # never retried

    def test_429_is_retried_after_retry_after(self):
        self.api.add_update(text_update(5004, 40, "Hi"))
        m = self.bus.wait_message("5004:40")
        self.api.script["sendMessage"] = [error(429, "Too Many Requests: retry after 1",
                                                retry_after=1)]
        t0 = time.monotonic()
        self.send(m["ticket_id"], "Hello", "--wait")
        calls = self.api.calls_of("sendMessage")
        self.assertEqual(len(calls), 2, calls)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.reply_status(self.bus, "sent", 1)
        self.wait_counters(lambda c: c.get("replies", {}).get("retried", 0) >= 1,
                           "a retried reply counted")

    def test_429_on_get_updates_waits_retry_after(self):
        # Past Telegram's limits getUpdates is answered 429 with
        # retry_after: the next getUpdates comes no sooner, and it counts.
        self.api.wait(lambda a: a.calls_of("getUpdates"), tmo(10), "the first getUpdates")
        self.api.rate_limit("getUpdates", 2)
        self.api.wait(lambda a: a.scripted, tmo(15), "the 429 answered")
        t429 = self.api.scripted[0][1]
        self.api.add_update(text_update(5006, 60, "Hello after the limit"))
        self.bus.wait_message("5006:60", timeout=tmo(20))
        after = [t for t in self.api.times_of("getUpdates") if t > t429]
        self.assertGreaterEqual(after[0] - t429, 2.0, "the next getUpdates came too soon")
        c = self.wait_counters(lambda c: c.get("telegram", {}).get("rate_limited", 0) >= 1,
                               "telegram.rate_limited counted")
        self.assertGreaterEqual(c["telegram"]["rate_limited"], 1)
        self.assertIn("getUpdates: 429 Too Many Requests; again in 2 s", self.gw.log_tail(400))

    def test_get_updates_without_answer_is_tried_again(self):
        # A getUpdates whose connection closes with no answer (a proxy, the
        # network): a network failure (gw_curl_err: GW_EIO), logged as one,
        # asked again a second later; no update lost.
        # Twice: libcurl sends a request again by itself, once, when a
        # connection it reused closes without an answer.
        self.api.wait(lambda a: a.calls_of("getUpdates"), tmo(10), "the first getUpdates")
        self.api.drop("getUpdates", times=2)
        self.api.add_update(text_update(5007, 61, "Before the drop"))
        self.bus.wait_message("5007:61", timeout=tmo(20))
        self.api.wait(lambda a: len(a.scripted) == 2, tmo(15), "the getUpdates dropped")
        t_drop = self.api.scripted[1][1]
        self.api.add_update(text_update(5007, 62, "After the drop"))
        self.bus.wait_message("5007:62", timeout=tmo(20))
        after = [t for t in self.api.times_of("getUpdates") if t > t_drop]
        self.assertGreaterEqual(after[0] - t_drop, 0.9, "asked again at once")
        self.assertRegex(self.gw.log_tail(400), r"getUpdates: [^\n]+ \(input/output error\); "
                         r"again in 1 s")

    def test_conflict_is_shown_until_it_ends(self):
        self.api.conflict = True
        # (Not just "409": a pid may hold those digits.)
        st = gwtest.wait_until(lambda: (lambda out: "getUpdates refused 409" in out and out)
                               (self.gw.ctl("status").stdout), tmo(10),
                               "the 409 warning in gatewayctl status")
        self.assertRegex(st, r"warning: getUpdates refused 409 \(Conflict: terminated by other "
                         r"getUpdates request")
        self.assertGreaterEqual(self.counters()["telegram"]["conflicts"], 1)
        self.assertIn("getUpdates refused 409", self.gw.log_tail(400))
        self.api.conflict = False
        self.api.add_update(text_update(5005, 50, "Still there?"))
        self.bus.wait_message("5005:50", timeout=tmo(40))
        gwtest.wait_until(lambda: "warning" not in self.status_file(), tmo(10),
                          "the warning cleared")


class Offset(TelegramCase):

    POLL_LIMIT = 10
    extra = (f"poll_limit: {POLL_LIMIT}",)

    def setUp(self):
        super().setUp()
        self.start_tg()
        self.bus = self.start_consumer(self.gw)

    def kill_connector(self):
        pid = self.gw.child_pid(INSTANCE)
        self.gw.allowed_restarts[INSTANCE] = self.gw.allowed_restarts.get(INSTANCE, 0) + 1
        os.kill(pid, signal.SIGKILL)
        return self.gw.wait_child_restarted(INSTANCE, pid)

    def test_offset_survives_sigkill(self):
        # The connector makes the batch durable, then its confirming
        # getUpdates is lost: only the state file knows the offset now.
        self.api.swallow_after_batch = True
        ids = [self.api.add_update(text_update(6000 + i, 1, f"m{i}")) for i in range(5)]
        for i in range(5):
            self.bus.wait_message(f"{6000 + i}:1")
        self.api.wait(lambda a: a.swallowed == 1, tmo(10), "the confirming getUpdates")
        state = gwtest.read_json_file(os.path.join(self.gw.state_dir, "telegram",
                                                   INSTANCE + ".state"))
        self.assertEqual(state, {"version": 1, "bot": "4242", "offset": ids[-1] + 1,
                                 "confirmed": False})
        t_kill = time.monotonic()
        self.kill_connector()
        self.api.wait(lambda a: any(t > t_kill for t, _ in a.offsets), tmo(15),
                      "a getUpdates from the restarted connector")
        first = [o for t, o in self.api.offsets if t > t_kill][0]
        self.assertEqual(first, ids[-1] + 1)  # the durable offset, not from the start
        more = [self.api.add_update(text_update(6100 + i, 1, f"n{i}")) for i in range(5)]
        for i in range(5):
            self.bus.wait_message(f"{6100 + i}:1")
        self.api.wait(lambda a: not a.pending, tmo(10), "every update confirmed")
        self.assertEqual({u: self.api.served.get(u) for u in ids + more},
                         {u: 1 for u in ids + more}, "an update was read twice")

    def test_sigkill_during_a_flood(self):
        n = 60
        done = threading.Event()

        def feed():
            for i in range(n):
                self.api.add_update(text_update(7000 + i, 1, f"f{i}"))
                time.sleep(0.01)
            done.set()
        t = threading.Thread(target=feed, daemon=True)
        t.start()
        self.bus.wait_for(lambda c: sum(1 for i in range(n) if c.has(f"{7000 + i}:1")) >= n // 3,
                          tmo(15), "a third of the flood")
        self.kill_connector()
        t.join()
        for i in range(n):
            self.bus.wait_message(f"{7000 + i}:1", timeout=tmo(20))
        self.api.wait(lambda a: not a.pending, tmo(10), "every update confirmed")
        for i in range(n):
            self.assertEqual(len(self.bus.seqs_of(f"{7000 + i}:1")), 1, f"update {i}")
        doubled = sum(1 for v in self.api.served.values() if v > 1)
        print(f"\n{self.id()}: {n} updates, {doubled} served again after the kill "
              f"(the batch in flight), router duplicates {self.router().get('duplicates')}")
        # At most the one answer in flight when the connector was killed.
        self.assertLessEqual(doubled, self.POLL_LIMIT)


class Webhook(TelegramCase):

    mode = "webhook"

    def setUp(self):
        super().setUp()
        self.start_tg()

    def post(self, body, secret=SECRET):
        h = {"Content-Type": "application/json"}
        if secret is not None:
            h["X-Telegram-Bot-Api-Secret-Token"] = secret
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return self.post_raw("POST", PATH, body, h)

    def test_secret_token_and_bodies(self):
        bus = self.start_consumer(self.gw)
        u = dict(fixture("text.json"), update_id=31)
        for secret, status in [(None, 401), ("another-bots-secret", 401), ("not valid!", 400),
                               ("x" * 257, 400)]:
            r = self.post(u, secret)
            self.assertEqual(r.status, status, (secret, r))
        r = self.post(u)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "accepted", "events": 1})
        m = bus.wait_message("12345678:123456")
        self.assertEqual(m["from"], {"address": "12345678", "name": "Mario Bros",
                                     "attributes": ["telegram.username=MarioLovesPeach",
                                                    "telegram.language_code=it"]})
        # Telegram delivers it again (no answer seen): nothing more is published.
        r = self.post(u)
        self.assertEqual(r.status, 200, r)
        gwtest.wait_until(lambda: self.router().get("duplicates", 0) >= 1, tmo(10),
                          "the router's duplicate")
        self.assertEqual(len(bus.seqs_of("12345678:123456")), 1)
        # Authentic but not an Update: kept byte for byte in the quarantine
        # and answered 200 once durable (docs/channels/telegram.md).
        bad = [b"{not json", b"[]", json.dumps({"message": u["message"]}).encode()]
        for body in bad:
            r = self.post(body)
            self.assertEqual(r.status, 200, (body, r))
            self.assertEqual(r.json(), {"status": "kept", "events": 0})
        self.wait_counters(lambda c: c.get("unreadable") == 3 and c.get("kept") == 3,
                           "3 unreadable bodies kept")
        kept = json.loads(self.gw.ctl("quarantine", "list", "--json").stdout)
        self.assertEqual(sorted(e["size"] for e in kept), sorted(len(b) for b in bad))
        shown = json.loads(self.gw.ctl("quarantine", "show", kept[0]["id"], "--json").stdout)
        self.assertIn(shown["text"].encode(), bad)
        p = self.gw.ctl("quarantine", "reingest", kept[0]["id"], check=False)
        self.assertEqual(p.returncode, 1, p)  # still not an Update
        self.assertIn("quarantined", p.stdout)
        self.assertEqual(self.post_raw("GET", PATH, None, {}).status, 405)
        self.assertEqual(self.post("{}".encode()).status, 200)
        r = self.post_raw("POST", "/elsewhere", b"{}", {"X-Telegram-Bot-Api-Secret-Token": SECRET})
        self.assertEqual(r.status, 404)
        self.assertNotIn(SECRET, self.gw.log_tail(400))
        self.assertNotIn(TOKEN, self.gw.log_tail(400))

    def test_set_webhook_info_delete(self):
        url = "https://gw.example.test/webhooks/telegram"
        p = self.gw.ctl("telegram", "set-webhook", INSTANCE, "--url", url)
        self.assertIn("setWebhook: ok", p.stdout)
        w = self.api.webhook
        self.assertEqual((w["url"], w["secret_token"], w["allowed_updates"]),
                         (url, SECRET, DEFAULT_UPDATES))
        p = self.gw.ctl("telegram", "info", INSTANCE)
        self.assertEqual(json.loads(p.stdout)["url"], url)
        p = self.gw.ctl("telegram", "delete-webhook", INSTANCE)
        self.assertIn("deleteWebhook: ok", p.stdout)
        self.assertIsNone(self.api.webhook)
        p = self.gw.ctl("telegram", "set-webhook", INSTANCE, "--url", "http://plain.test/x",
                        check=False)
        self.assertEqual(p.returncode, 64, p)
        p = self.gw.ctl("telegram", "set-webhook", "api", check=False)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("not telegram", p.stderr)
        self.assertNotIn(TOKEN, p.stdout + p.stderr)


class WebhookLimits(TelegramCase):
    """A chat over its sender's limits on the webhook: held, then released."""

    mode = "webhook"
    extra = ("sender_rate_per_minute: 1", "sender_burst: 2")
    post = Webhook.post

    def setUp(self):
        super().setUp()
        self.start_tg()

    def test_sender_over_its_limit_is_held_then_released(self):
        """Telegram gets its 200 for each update once durable; the third of
        one chat over sender_burst is held (not routed), listed, and
        `reingest` releases it into the chat's ticket."""
        bus = self.start_consumer(self.gw)
        for mid in (1, 2, 3):
            r = self.post(dict(text_update(777, mid, f"message {mid}"), update_id=500 + mid))
            self.assertEqual(r.status, 200, r)
        first = bus.wait_message("777:1")
        bus.wait_message("777:2")
        held = []
        gwtest.wait_until(lambda: held.extend(
            e for e in json.loads(self.gw.ctl("quarantine", "list", "--json").stdout)
            if e["kind"] == "held") or held, tmo(10), "the held update listed")
        self.assertEqual(held[0]["external_id"], "777:3", held)
        self.assertTrue(held[0]["reason"].startswith("rate_limited"), held)
        self.assertIsNone(bus.received("777:3"))
        self.assertIn("released", self.gw.ctl("quarantine", "reingest", held[0]["id"]).stdout)
        self.assertEqual(bus.wait_message("777:3")["ticket_id"], first["ticket_id"])


class Files(TelegramCase):

    extra = ("file_download: true", "file_max_bytes: 4096")
    integration = True

    def setUp(self):
        super().setUp()
        self.start_tg()
        self.bus = self.start_consumer(self.gw)

    def test_photo_downloaded_and_large_file_kept_as_id(self):
        small = os.urandom(3000)
        self.api.add_file("small-photo", small, "photos/file_1.jpg")
        self.api.add_file("big-doc", os.urandom(5000), "documents/file_2.pdf")
        u = fixture("photo.json")
        u["message"]["message_id"] = 81
        u["message"]["photo"] = [{"file_id": "small-photo", "file_unique_id": "sp",
                                  "file_size": len(small), "width": 60, "height": 80}]
        self.api.add_update(u)
        d = fixture("document.json")
        d["message"]["message_id"] = 82
        d["message"]["document"].update(file_id="big-doc", file_size=None)
        self.api.add_update(d)
        m = self.bus.wait_message("11111111:81")
        hexd = hashlib.sha256(small).hexdigest()
        self.assertEqual(m["attachments"][0]["ref"], "sha256:" + hexd)
        self.assertEqual(m["attachments"][0]["size"], len(small))
        with open(os.path.join(self.gw.state_dir, "attachments", hexd[:2], hexd), "rb") as f:
            self.assertEqual(f.read(), small)
        # Served with the type of the download (random bytes: no guess).
        integ.assert_served(self, self.gw, m["attachments"][0]["ref"], small,
                            m["attachments"][0]["type"])
        self.assertEqual(m["attachments"][0]["type"], "image/jpeg")
        m = self.bus.wait_message("456:82")
        self.assertEqual(m["attachments"][0]["ref"], "telegram-file:big-doc")
        self.wait_counters(lambda c: c.get("telegram", {}).get("files_stored") == 1 and
                           c["telegram"].get("files_failed") == 1, "one stored, one failed")


class WebhookFiles(TelegramCase):

    mode = "webhook"
    extra = ("file_download: true",)

    def test_webhook_answered_once_the_file_is_stored(self):
        self.start_tg()
        bus = self.start_consumer(self.gw)
        data = os.urandom(5000)
        self.api.add_file("doc-1", data, "documents/file_9.pdf")
        u = fixture("document.json")
        u["update_id"] = 77
        u["message"]["document"]["file_id"] = "doc-1"
        h = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        r = self.post_raw("POST", PATH, json.dumps(u), h)
        self.assertEqual(r.status, 200, r)
        m = bus.wait_message("456:123")
        self.assertEqual(m["attachments"][0]["ref"], "sha256:" + hashlib.sha256(data).hexdigest())
        self.assertEqual(m["attachments"][0]["name"], "document.pdf")
        self.assertEqual(len(self.api.calls_of("getFile")), 1)


class Disabled(TelegramCase):

    def test_off_without_its_token(self):
        gw = self.start_tg(env={"GATEWAY_TELEGRAM_TOKEN": None}, expect_running=False)
        want = "token: environment variable GATEWAY_TELEGRAM_TOKEN is not set"
        gwtest.wait_until(lambda: want in gw.ctl("status").stdout, tmo(10),
                          "the reason in gatewayctl status",
                          on_fail=lambda: gw.ctl("status").stdout)
        self.assertEqual(gw.child(INSTANCE).get("state"), "disabled")
        p = gw.ctl("telegram", "info", INSTANCE, check=False)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("is off", p.stderr)


if __name__ == "__main__":
    unittest.main()
