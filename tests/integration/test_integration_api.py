"""
The HTTP integration API of gateway-integration against the running
gateway: tokens and scopes, GET /v1/events paging, tickets (one and the
paged list), customers, replies with Idempotency-Key (also across a SIGKILL
of gateway-integration), ticket actions, merges, attachments, and the JSON
errors with their stable codes (401, 403, 404, 405, 400, 413, 422, 503).
"""

import hashlib
import json
import os
import shutil
import signal
import tempfile
import time
import unittest

import gwtest
import integ
from gwtest import message_body, tmo, wait_until

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


# One queue and one agent for the assign action; no seeded message matches
# the queue's keyword, so the seeds wait in the default queue. alice, in no
# queue, is given a ticket by hand only: the collision of
# test_reply_collision_and_presence.
ROUTING = ["  queues:", "    - name: vip", "      keywords: [zzvipzz]", "      agents: [bob]",
           "  agents:", "    - id: bob", "      capacity: 50", "    - id: alice"]


def json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes a type
    that also allows null (the rest is the same)."""
    if isinstance(node, list):
        return [json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in out:
        t = out["type"]
        out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    return out


def response_schema(spec, resp, ctype):
    """The JSON Schema of response `resp` (maybe a $ref) for `ctype`, with
    the spec's components beside it for its own $refs; None when it has none."""
    while "$ref" in resp:
        node = spec
        for part in resp["$ref"].lstrip("#/").split("/"):
            node = node[part]
        resp = node
    schema = resp.get("content", {}).get(ctype, {}).get("schema")
    if schema is None:
        return None
    out = json_schema(schema)
    out["components"] = json_schema(spec["components"])
    return out


class ApiTest(gwtest.GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.class_tmp = tempfile.mkdtemp(prefix="gwit-integ-")
        gwtest._TMPDIRS.add(cls.class_tmp)
        cls.class_gateway = integ.IntegGateway(
            cls.class_tmp, integration_lines=["command_timeout_ms: 700",
                                              "max_body_bytes: 4096"],
            routing_lines=ROUTING)
        try:
            cls.class_gateway.start()
            cls.bus = cls.class_gateway.consumer()
            cls.bus.wait_connected()
            c = cls.class_gateway.client()
            for i, sender in enumerate(["+15550001111", "+15550002222", "+15550003333"]):
                r = c.post_until_accepted(message_body(f"seed{i}", sender, f"C{i}"),
                                          time.monotonic() + tmo(15))
                assert r.status == 202, r
            c.close()
            for i in range(3):
                cls.bus.wait_message(f"seed{i}")
        except BaseException:
            cls._class_cleanup()
            raise

    @classmethod
    def _class_cleanup(cls):
        if getattr(cls, "bus", None):
            cls.bus.stop()
        cls.class_gateway.cleanup()
        shutil.rmtree(cls.class_tmp, ignore_errors=True)
        gwtest._TMPDIRS.discard(cls.class_tmp)

    @classmethod
    def tearDownClass(cls):
        gw = cls.class_gateway
        cls._class_cleanup()
        cls.class_gateway = None
        gw.check_health()

    def setUp(self):
        super().setUp()
        self.gw = type(self).class_gateway
        self.api = self.gw.api("admin")

    def assertError(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        j = r.json()
        self.assertEqual(j["error"], code, r)
        self.assertIsInstance(j["message"], str)

    def ticket_of(self, ext):
        return self.bus.received(ext)["ticket_id"]

    # --- auth and scopes ---------------------------------------------------

    def test_auth(self):
        self.assertEqual(self.api.get("/healthz", auth=False).status, 200)
        self.assertError(self.api.get("/v1/tickets/1", auth=False), 401, "unauthorized")
        self.assertError(integ.HttpApi(self.gw.integ_port, "x" * 32).get("/v1/tickets/1"),
                         401, "unauthorized")
        secret = self.gw.tokens["admin"][1]
        self.assertError(self.api.get("/v1/tickets/1", auth=False,
                                      headers={"Authorization": "Basic " + secret}),
                         401, "unauthorized")
        self.assertError(integ.HttpApi(self.gw.integ_port, secret[:-1]).get("/v1/tickets/1"),
                         401, "unauthorized")
        self.assertEqual(self.api.get("/v1/tickets/1").status, 200)

    def test_scopes(self):
        t = self.ticket_of("seed0")
        reader, agent = self.gw.api("reader"), self.gw.api("agent")
        self.assertEqual(reader.get(f"/v1/tickets/{t}").status, 200)
        self.assertError(reader.post(f"/v1/tickets/{t}/replies", {"text": "x"}), 403,
                         "forbidden")
        self.assertError(reader.post(f"/v1/tickets/{t}/close"), 403, "forbidden")
        self.assertError(agent.post(f"/v1/tickets/{t}/priority", {"priority": "high"}), 403,
                         "forbidden")
        self.assertError(agent.post("/v1/customers/1/merge", {"target_id": 2}), 403,
                         "forbidden")
        r = agent.post(f"/v1/tickets/{t}/replies", {"text": "from the agent token"})
        self.assertEqual(r.status, 202, r)
        # The log names the token, never its secret.
        for name, (_, secret) in self.gw.tokens.items():
            self.assertNotIn(secret, self.gw.log_tail(100000))
        self.assertIn("token=agent", self.gw.log_tail(100000))

    # --- events ----------------------------------------------------------

    def test_events_paging(self):
        head = self.gw.head()
        want = [s for s, _, _ in self.gw.replay_all()]
        got, frm = [], 1
        while True:
            r = self.api.get(f"/v1/events?from={frm}&limit=2")
            self.assertEqual(r.status, 200, r)
            j = r.json()
            self.assertLessEqual(len(j["events"]), 2)
            got += [e["seq"] for e in j["events"]]
            for e in j["events"]:
                self.assertEqual(e["v"], 1)
                self.assertIn("type", e)
            if not j["events"] or j["next"] > j["head"]:
                break
            frm = j["next"]
        self.assertEqual(got[:len(want)], want)
        self.assertGreaterEqual(j["head"], head)
        self.assertEqual(self.api.get("/v1/events?from=999999").json()["events"], [])
        self.assertEqual(len(self.api.get("/v1/events?limit=1").json()["events"]), 1)
        self.assertError(self.api.get("/v1/events?limit=abc"), 400, "invalid_request")
        self.assertError(self.api.get("/v1/events?limit=5000"), 400, "invalid_request")
        self.assertError(self.api.get("/v1/events?from=-1"), 400, "invalid_request")

    # --- tickets and customers --------------------------------------------

    def test_ticket_and_customer(self):
        t = self.ticket_of("seed1")
        r = self.api.get(f"/v1/tickets/{t}")
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual(j["ticket"]["ticket_id"], t)
        self.assertTrue(any(m.get("external_id") == "seed1" for m in j["messages"]))
        cid = j["ticket"]["customer_id"]
        c = self.api.get(f"/v1/customers/{cid}").json()
        self.assertEqual(c["customer"]["customer_id"], cid)
        self.assertIn(t, [x["ticket_id"] for x in c["tickets"]])
        self.assertError(self.api.get("/v1/tickets/9999"), 404, "not_found")
        self.assertError(self.api.get("/v1/customers/9999"), 404, "not_found")
        self.assertError(self.api.get("/v1/tickets/abc"), 404, "not_found")
        self.assertError(self.api.get("/v1/tickets/0"), 404, "not_found")

    def test_ticket_list_paging_and_filters(self):
        ids, cursor = [], None
        while True:
            q = "/v1/tickets?limit=1" + (f"&cursor={cursor}" if cursor else "")
            j = self.api.get(q).json()
            ids += [t["ticket_id"] for t in j["tickets"]]
            cursor = j["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(ids, sorted(ids))
        self.assertGreaterEqual(len(ids), 3)
        for t in self.api.get("/v1/tickets?status=open&limit=1000").json()["tickets"]:
            self.assertEqual(t["status"], "open")
        self.assertEqual(self.api.get("/v1/tickets?queue=nosuchqueue").json()["tickets"], [])
        self.assertEqual(self.api.get("/v1/tickets?agent=nobody").json()["tickets"], [])
        self.assertError(self.api.get("/v1/tickets?status=maybe"), 422, "rejected")
        # By tag (ticket.tag puts one on the first ticket).
        gwtest.command_ok(self.gw.command_ep, "ticket.tag",
                          {"command_id": "list-tag-1", "ticket_id": ids[0], "changes": "+listed"})
        self.assertEqual([t["ticket_id"] for t in
                          self.api.get("/v1/tickets?tag=listed").json()["tickets"]], [ids[0]])
        self.assertEqual(self.api.get("/v1/tickets?tag=nosuchtag").json()["tickets"], [])

    # --- replies -----------------------------------------------------------

    def sent_count(self, text):
        return sum(1 for _, t, e in self.gw.replay_all()
                   if t == "message.sent" and e.get("text") == text)

    def test_reply_idempotency(self):
        t = self.ticket_of("seed2")
        key = {"Idempotency-Key": "reply-once-1"}
        r1 = self.api.post(f"/v1/tickets/{t}/replies", {"text": "only once"}, headers=key)
        self.assertEqual(r1.status, 202, r1)
        j = r1.json()
        self.assertEqual(sorted(j), ["account", "channel", "delivery_id", "seq"])
        r2 = self.api.post(f"/v1/tickets/{t}/replies", {"text": "only once"}, headers=key)
        self.assertEqual((r2.status, r2.json()), (202, j))
        self.assertEqual(r2.header("Idempotent-Replayed"), "true")
        self.assertError(self.api.post(f"/v1/tickets/{t}/replies", {"text": "other"},
                                       headers=key), 422, "idempotency_key_reused")
        # Kept durably: the same answer after gateway-integration is killed.
        pid = self.gw.child_pid("integration")
        self.gw.allowed_restarts["integration"] = \
            self.gw.allowed_restarts.get("integration", 0) + 1
        os.kill(pid, signal.SIGKILL)
        self.gw.wait_child_restarted("integration", pid)
        wait_until(lambda: self.api.get("/healthz").status == 200, tmo(10), "integration up")
        r3 = self.api.post(f"/v1/tickets/{t}/replies", {"text": "only once"}, headers=key)
        self.assertEqual((r3.status, r3.json()), (202, j))
        self.bus.wait_for(lambda b: b.complete_to(j["seq"]), tmo(10), "the reply on the bus")
        self.assertEqual(self.sent_count("only once"), 1)
        # Another token's same key is another request.
        r4 = self.gw.api("agent").post(f"/v1/tickets/{t}/replies", {"text": "only once"},
                                       headers=key)
        self.assertEqual(r4.status, 202, r4)
        self.assertNotEqual(r4.json()["delivery_id"], j["delivery_id"])
        # Without a key every POST is a new reply.
        a = self.api.post(f"/v1/tickets/{t}/replies", {"text": "twice"}).json()
        b = self.api.post(f"/v1/tickets/{t}/replies", {"text": "twice"}).json()
        self.assertNotEqual(a["delivery_id"], b["delivery_id"])
        self.assertError(self.api.post(f"/v1/tickets/{t}/replies", {"text": "x"},
                                       headers={"Idempotency-Key": "k" * 200}),
                         400, "invalid_request")

    def test_reply_errors(self):
        t = self.ticket_of("seed2")
        self.assertError(self.api.post(f"/v1/tickets/{t}/replies", {}), 400,
                         "invalid_request")
        self.assertError(self.api.post(f"/v1/tickets/{t}/replies", {"text": 5}), 400,
                         "invalid_request")
        self.assertError(self.api.post("/v1/tickets/9999/replies", {"text": "x"}), 404,
                         "not_found")
        self.assertError(self.api.request("POST", f"/v1/tickets/{t}/replies", raw=b"{nope"),
                         400, "invalid_json")
        self.assertError(self.api.request("POST", f"/v1/tickets/{t}/replies", raw=b"[1]"),
                         400, "invalid_json")
        self.assertError(self.api.post(f"/v1/tickets/{t}/replies", {"text": "x" * 5000}),
                         413, "too_large")

    def test_reply_collision_and_presence(self):
        """A reply naming an agent on a ticket assigned to another one is
        refused (409 collision) unless forced; the presence routes publish
        ticket.viewing and ticket.typing."""
        c = self.gw.client()
        r = c.post_until_accepted(message_body("col1", "+15550004545", "Col"),
                                  time.monotonic() + tmo(15))
        c.close()
        self.assertEqual(r.status, 202, r)
        t = self.bus.wait_message("col1")["ticket_id"]
        r = self.api.post(f"/v1/tickets/{t}/assign", {"agent_id": "alice"})
        self.assertEqual(r.status, 200, r)
        reply = {"text": "I take it", "agent_id": "bob"}
        r = self.api.post(f"/v1/tickets/{t}/replies", reply)
        self.assertError(r, 409, "collision")
        self.assertIn("alice", r.json()["message"])
        self.assertEqual(self.sent_count("I take it"), 0)
        r = self.api.post(f"/v1/tickets/{t}/replies", dict(reply, force=True))
        self.assertEqual(r.status, 202, r)
        self.bus.wait_for(lambda b: b.complete_to(r.json()["seq"]), tmo(10), "the reply")
        self.assertEqual(self.bus.event(r.json()["seq"])[1]["forced_over"], "alice")
        r = self.api.post(f"/v1/tickets/{t}/replies", {"text": "Mine", "agent_id": "alice"})
        self.assertEqual(r.status, 202, r)
        for route, etype in (("viewing", "ticket.viewing"), ("typing", "ticket.typing")):
            r = self.api.post(f"/v1/tickets/{t}/{route}", {"agent_id": "bob"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json()["published"], r.json()["assignee"]), (True, "alice"))
            self.bus.wait_for(lambda b: b.complete_to(r.json()["seq"]), tmo(10), etype)
            self.assertEqual(self.bus.event(r.json()["seq"])[0], etype)
        self.assertError(self.api.post("/v1/tickets/9999/viewing", {"agent_id": "bob"}), 404,
                         "not_found")
        self.assertError(self.api.post(f"/v1/tickets/{t}/typing", {}), 400, "invalid_request")
        self.assertError(self.gw.api("reader").post(f"/v1/tickets/{t}/typing",
                                                    {"agent_id": "bob"}), 403, "forbidden")

    # --- ticket actions and merges ----------------------------------------

    def test_ticket_actions(self):
        c = self.gw.client()
        r = c.post_until_accepted(message_body("act1", "+15550004444", "Dee"),
                                  time.monotonic() + tmo(15))
        c.close()
        self.assertEqual(r.status, 202)
        t = self.bus.wait_message("act1")["ticket_id"]
        r = self.api.post(f"/v1/tickets/{t}/priority", {"priority": "urgent"})
        self.assertEqual((r.status, r.json()["priority"]), (200, "urgent"), r)
        self.assertError(self.api.post(f"/v1/tickets/{t}/priority", {"priority": "asap"}),
                         422, "rejected")
        self.assertError(self.api.post(f"/v1/tickets/{t}/priority"), 400, "invalid_request")
        r = self.api.post(f"/v1/tickets/{t}/assign", {"queue": "vip"})
        self.assertEqual((r.status, r.json()["queue"]), (200, "vip"), r)
        self.assertEqual(self.api.get(f"/v1/tickets/{t}").json()["ticket"]["queue"], "vip")
        r = self.api.post(f"/v1/tickets/{t}/assign", {"agent_id": "bob"})
        self.assertEqual((r.status, r.json()["agent_id"]), (200, "bob"), r)
        got = self.api.get(f"/v1/tickets/{t}").json()["ticket"]
        self.assertEqual((got["agent_id"], got["queue"]), ("bob", "vip"), got)
        # The list's filters find it.
        for q in ("queue=vip", "agent=bob", "queue=vip&agent=bob&status=open"):
            ids = [x["ticket_id"] for x in self.api.get(f"/v1/tickets?{q}").json()["tickets"]]
            self.assertIn(t, ids, q)
        self.assertNotIn(t, [x["ticket_id"] for x in
                             self.api.get("/v1/tickets?queue=general").json()["tickets"]])
        self.assertError(self.api.post(f"/v1/tickets/{t}/assign", {"agent_id": "nobody"}),
                         404, "not_found")
        key = {"Idempotency-Key": "close-1"}
        r = self.api.post(f"/v1/tickets/{t}/close", {"reason": "solved"}, headers=key)
        self.assertEqual((r.status, r.json()["status"]), (200, "closed"), r)
        again = self.api.post(f"/v1/tickets/{t}/close", {"reason": "solved"}, headers=key)
        self.assertEqual((again.status, again.json()), (200, r.json()))
        self.assertError(self.api.post(f"/v1/tickets/{t}/close"), 422, "rejected")
        r = self.api.post(f"/v1/tickets/{t}/reopen", {"reason": "not solved"})
        self.assertEqual((r.status, r.json()["status"]), (200, "open"), r)
        self.assertEqual(self.api.get(f"/v1/tickets/{t}").json()["ticket"]["status"], "open")
        self.assertError(self.api.post("/v1/tickets/9999/close"), 404, "not_found")

    def test_merge(self):
        c = self.gw.client()
        for ext, who in (("mg1", "+15550005555"), ("mg2", "+15550006666")):
            r = c.post_until_accepted(message_body(ext, who, "Eve"), time.monotonic() + tmo(15))
            self.assertEqual(r.status, 202)
        c.close()
        a = self.bus.wait_message("mg1")["customer_id"]
        b = self.bus.wait_message("mg2")["customer_id"]
        r = self.api.post(f"/v1/customers/{a}/merge", {"target_id": b})
        self.assertEqual(r.status, 200, r)
        self.bus.wait_for(lambda b: any(t == "customer.merged" for _, t, _ in b.snapshot()),
                          tmo(10), "customer.merged")
        self.assertError(self.api.post(f"/v1/customers/{a}/merge", {"target_id": 99999}),
                         404, "not_found")
        self.assertError(self.api.post(f"/v1/customers/{a}/merge", {}), 400,
                         "invalid_request")

    # --- ticket merge and split ----------------------------------------------

    def post_msg(self, ext, sender, subject=None):
        c = self.gw.client()
        r = c.post_until_accepted(message_body(ext, sender, "Tom", subject=subject),
                                  time.monotonic() + tmo(15))
        c.close()
        self.assertEqual(r.status, 202, r)
        return self.bus.wait_message(ext)

    def ticket_event(self, etype, ticket_id):
        found = []

        def seen(b):
            found[:] = [m for _, t, m in b.snapshot()
                        if t == etype and m.get("ticket_id") == ticket_id]
            return bool(found)
        self.bus.wait_for(seen, tmo(10), f"{etype} of ticket {ticket_id}")
        return found[-1]

    def test_ticket_merge_and_split(self):
        who = "+15550007777"
        t1 = self.post_msg("ms1", who)["ticket_id"]
        self.assertEqual(self.post_msg("ms2", who)["ticket_id"], t1)
        seq2 = self.bus.seqs_of("ms2")[0]
        # split ms2 off with gatewayctl: a new open ticket linked both ways
        p = self.gw.ctl("ticket", "split", str(t1), str(seq2), "--json")
        t2 = json.loads(p.stdout)["new_ticket_id"]
        self.assertNotEqual(t2, t1)
        split = self.ticket_event("ticket.split", t2)
        self.assertEqual((split["split_from"], split["status"]), (t1, "open"))
        self.ticket_event("ticket.created", t2)
        one = self.api.get(f"/v1/tickets/{t1}").json()
        self.assertEqual([r["ticket_id"] for r in one["ticket"]["splits"]], [t2])
        self.assertNotIn(seq2, [m["seq"] for m in one["messages"]])
        two = self.api.get(f"/v1/tickets/{t2}").json()
        self.assertEqual([m["seq"] for m in two["messages"]], [seq2])
        # its token reaches it while it is open
        self.assertEqual(self.post_msg("ms3", who, f"Re: [#T-{t2}]")["ticket_id"], t2)
        # merge it back through the API: closed, pointing to the survivor
        sla = ("sla_started_at", "first_response_due", "resolution_due",
               "sla_first_response", "sla_resolution")
        before = self.api.get(f"/v1/tickets/{t1}").json()["ticket"]
        self.assertEqual(before["sla_resolution"], "running")
        trace2 = [e["seq"] for e in self.api.get(f"/v1/tickets/{t2}").json()["trace"]]
        self.assertGreaterEqual(len(trace2), 2)  # ticket.created, ticket.split
        r = self.api.post(f"/v1/tickets/{t2}/merge", {"target_id": t1})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["target_id"], r.json()["status"]), (t1, "open"))
        merged = self.ticket_event("ticket.merged", t2)
        self.assertEqual((merged["status"], merged["merged_into"]), ("closed", t1))
        # the survivor keeps its clocks and gets the merged ticket's trace;
        # the merged ticket's clocks stopped with it
        after = self.api.get(f"/v1/tickets/{t1}").json()
        self.assertEqual({k: after["ticket"].get(k) for k in sla},
                         {k: before.get(k) for k in sla})
        seqs1 = [e["seq"] for e in after["trace"]]
        self.assertEqual([q for q in trace2 if q not in seqs1], [], (trace2, seqs1))
        gone = self.api.get(f"/v1/tickets/{t2}").json()["ticket"]
        self.assertEqual(gone["sla_first_response"], "stopped", gone)
        self.assertNotIn(gone.get("sla_resolution"), ("running", "warning"), gone)
        # the old token now goes to the survivor, which lists every message
        m4 = self.post_msg("ms4", who, f"Re: [#T-{t2}]")
        self.assertEqual((m4["ticket_id"], m4["thread_rule"]), (t1, "ticket_token"))
        seqs = [m["seq"] for m in self.api.get(f"/v1/tickets/{t1}").json()["messages"]]
        for ext in ("ms1", "ms2", "ms3", "ms4"):
            self.assertIn(self.bus.seqs_of(ext)[0], seqs, ext)
        # refused: merged already, another customer's ticket, a message not in it
        self.assertError(self.api.post(f"/v1/tickets/{t2}/merge", {"target_id": t1}), 422,
                         "rejected")
        other = self.post_msg("ms5", "+15550008888")["ticket_id"]
        bad = self.gw.ctl("ticket", "merge", str(other), str(t1), check=False)
        self.assertEqual(bad.returncode, 1, bad)
        self.assertIn("two customers", bad.stderr)
        self.assertError(self.api.post(f"/v1/tickets/{t1}/split", {"message_seq": 1}), 404,
                         "not_found")
        # split through the API, merged through gatewayctl
        r = self.api.post(f"/v1/tickets/{t1}/split",
                          {"message_seq": self.bus.seqs_of("ms1")[0]})
        self.assertEqual(r.status, 200, r)
        t3 = r.json()["new_ticket_id"]
        p = self.gw.ctl("ticket", "merge", str(t3), str(t1))
        self.assertIn(f"ticket {t3} merged into ticket {t1}", p.stdout)
        self.ticket_event("ticket.merged", t3)

    # --- attachments -------------------------------------------------------

    def test_attachments(self):
        png = b"\x89PNG\r\n\x1a\n" + os.urandom(200000)
        path = os.path.join(self.tmp, "photo.png")
        with open(path, "wb") as f:
            f.write(png)
        t = self.ticket_of("seed0")
        self.gw.ctl("send", str(t), "see attached", "--attach", path)
        def sent(b):
            return [e for _, t, e in b.snapshot()
                    if t == "message.sent" and e.get("text") == "see attached"]
        self.bus.wait_for(sent, tmo(10), "the reply with its attachment")
        ev = sent(self.bus)[0]
        ref = ev["attachments"][0]["ref"]
        self.assertEqual(ref, "sha256:" + hashlib.sha256(png).hexdigest())
        r = self.gw.api("reader").get("/v1/attachments/" + ref)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, png)
        self.assertEqual(r.header("Content-Type"), "image/png")
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertError(self.api.get("/v1/attachments/sha256:" + "0" * 64), 404, "not_found")
        self.assertError(self.api.get("/v1/attachments/../../etc/passwd"), 404, "not_found")
        self.assertError(self.api.get("/v1/attachments/sha256:xyz"), 404, "not_found")
        self.assertError(self.api.get("/v1/attachments/" + ref, auth=False), 401,
                         "unauthorized")

    # --- reports (test_reports checks the figures) --------------------------

    def test_reports(self):
        import datetime
        day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        r = self.api.get(f"/v1/reports?from={day}&to={day}&by=channel")
        self.assertEqual(r.status, 200, r)
        rows = {row["channel"]: row for row in r.json()["rows"]}
        self.assertGreaterEqual(rows["api"]["opened"], 3)  # the seeds
        self.assertError(self.api.get(f"/v1/reports?from={day}&to={day}&by=month"), 400,
                         "invalid_request")
        self.assertError(self.api.post("/v1/reports"), 405, "method_not_allowed")

    # --- errors ------------------------------------------------------------

    def test_routes_and_methods(self):
        self.assertError(self.api.get("/v1/nothing"), 404, "not_found")
        self.assertError(self.api.get("/v2/tickets/1"), 404, "not_found")
        self.assertError(self.api.get("/v1/tickets/1/close"), 405, "method_not_allowed")
        self.assertError(self.api.post("/v1/tickets/1"), 405, "method_not_allowed")
        self.assertError(self.api.post("/v1/events"), 405, "method_not_allowed")
        self.assertError(self.api.request("PUT", "/v1/tickets/1", body={}), 405,
                         "method_not_allowed")

    def test_router_unavailable(self):
        pid = self.gw.child_pid("router")
        os.kill(pid, signal.SIGSTOP)
        try:
            r = self.api.get("/v1/tickets/1")
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertError(r, 503, "router_unavailable")
        wait_until(lambda: self.api.get("/v1/tickets/1").status == 200, tmo(10),
                   "the API answers again")


    # --- the OpenAPI description (runs last: tests run in name order) -------

    def test_zz_openapi_matches_the_server(self):
        """Every (path, method, status) the server answered in this module is
        in docs/api/openapi.yaml, each JSON body it sent is valid against the
        operation's response schema, and every operation there was exercised."""
        import re
        import jsonschema
        import yaml
        with open(os.path.join(SRC, "docs", "api", "openapi.yaml"), encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        self.assertTrue(spec["openapi"].startswith("3."))
        routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p)
                  for p in spec["paths"]]
        error_codes = set(spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
        used = set()
        validated = 0
        self.assertGreater(len(integ.SEEN), 50)
        for method, path, status, body, ctype in integ.SEEN:
            path = path.split("?", 1)[0]
            tmpl = next((p for rx, p in routes if rx.match(path)), None)
            if status >= 400 and ctype == "application/json":
                self.assertIn(json.loads(body)["error"], error_codes, (method, path, status))
            if tmpl is None:
                self.assertEqual(status, 404, (method, path))
                continue
            op = spec["paths"][tmpl].get(method.lower())
            if op is None:
                self.assertEqual(status, 405, (method, path))
                continue
            used.add((method.lower(), tmpl))
            self.assertIn(str(status), op["responses"], (method, tmpl, status))
            schema = response_schema(spec, op["responses"][str(status)], ctype)
            if schema is not None and ctype == "application/json":
                errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                          for e in jsonschema.Draft7Validator(schema).iter_errors(
                              json.loads(body))]
                self.assertEqual(errors, [], (method, path, status, body[:300]))
                validated += 1
        for p, ops in spec["paths"].items():
            for m in ops:
                self.assertIn((m, p), used, f"{m.upper()} {p} is never exercised")
        self.assertGreater(validated, 50)



class IdempotencyExpiry(gwtest.GatewayTestCase):
    """idempotency_ttl_s: a key's answer is given again until it expires,
    then the key is free: no replay, no idempotency_key_reused."""

    def test_key_expires(self):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = self.run_gateway(integ.IntegGateway(root, integration_lines=[
            "idempotency_ttl_s: 1"]))
        c = gw.client()
        r = c.post_until_accepted(message_body("ttl1", "+15550009999", "Ivy"),
                                  time.monotonic() + tmo(15))
        c.close()
        self.assertEqual(r.status, 202)
        wait_until(lambda: gw.api().get("/v1/tickets/1").status == 200, tmo(10), "ticket 1")
        api, key = gw.api(), {"Idempotency-Key": "ttl-key"}
        r1 = api.post("/v1/tickets/1/priority", {"priority": "high"}, headers=key)
        self.assertEqual(r1.status, 200, r1)
        t0 = time.monotonic()
        r2 = api.post("/v1/tickets/1/priority", {"priority": "low"}, headers=key)
        if time.monotonic() - t0 < 0.5:                     # still within the TTL
            self.assertEqual(r2.status, 422, r2)
            self.assertEqual(r2.json()["error"], "idempotency_key_reused")
        time.sleep(1.2)   # past the 1 s TTL: the wait is the thing tested
        r3 = api.post("/v1/tickets/1/priority", {"priority": "low"}, headers=key)
        self.assertEqual(r3.status, 200, r3)
        self.assertIsNone(r3.header("Idempotent-Replayed"))


if __name__ == "__main__":
    unittest.main()
