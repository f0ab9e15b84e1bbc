"""
Messenger and Instagram attachments kept (docs/channels/messenger.md and
instagram.md, "Attachments"): the real gatewayd with a Meta connector
(media_download on, the attachment store in its default place) and the
integration API, signed webhooks whose attachments point at the Graph
stand-in's CDN (test_meta.FakeGraph).

Covers: an image, a video, an audio clip and a file downloaded while the
webhook is answered (the answer waits for them), each event naming its
bytes as sha256:<hex> with the size and the CDN's media type, the bytes
readable by GET /v1/attachments/{ref}; no token sent to the CDN; the
counters meta.media_stored and meta.media_failed in the status file; an
expired URL (403), a deleted file (404) and a file over media_max_bytes
keeping their URL with download_error saying why and one log line each;
shares and fallbacks left as links; the same on Instagram.
"""

import hashlib
import json
import os
import secrets
import time
import unittest
import urllib.request

import gwtest
import integ
from gwtest import tmo
from test_meta import FakeGraph, IG, INSTANCE, MS, MetaTestCase, read_fixture

PAGE = "PAGE_ID"
MAX_BYTES = 100000


def item_body(fixture_dir, fixture, mid, attachments):
    """The fixture's body with its one message's mid and attachments replaced."""
    doc = json.loads(read_fixture(fixture_dir, fixture))
    item = doc["entry"][0]["messaging"][0]
    item["timestamp"] = int(time.time() * 1000)
    item["message"] = {"mid": mid, "attachments": attachments}
    item.pop("prior_message", None)
    return json.dumps(doc).encode()


def page_body(mid, attachments):
    return item_body(MS, "WebhookTest.shouldHandleAttachmentMessageEvent.json", mid,
                     attachments)


def ig_body(mid, attachments):
    return item_body(IG, "instagram_message_attachment_event.json", mid, attachments)


def att(kind, url):
    return {"type": kind, "payload": {"url": url}}


class MetaMediaCase(MetaTestCase):

    def setUp(self):
        super().setUp()
        self.graph_token = secrets.token_hex(12)
        self.graph = FakeGraph(self.graph_token).start()
        self.addCleanup(self.graph.stop)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = integ.IntegGateway(root)
        # gateway-metrics too: the downloads' time on /metrics.
        self.metrics_port = gwtest.free_ports(1)[0]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write(f'metrics:\n  enabled: true\n  listen: "127.0.0.1:{self.metrics_port}"\n')
        gw.connectors.append("metrics")  # ready: run/metrics.json too
        self.start_meta_gateway(
            extra_lines=["media_download: true", f"graph_url: \"{self.graph.base}\"",
                         "access_token: ${GATEWAY_META_ACCESS_TOKEN}",
                         f"media_max_bytes: {MAX_BYTES}"],
            env={"GATEWAY_META_ACCESS_TOKEN": self.graph_token}, gw=gw)
        self.bus = self.start_consumer(self.gw)

    def assert_stored(self, a, data, mime):
        """`a` names `data`, kept in the store and served by the integration API."""
        digest = hashlib.sha256(data).hexdigest()
        self.assertEqual(a["ref"], "sha256:" + digest, a)
        self.assertEqual(a["size"], len(data), a)
        self.assertEqual(a["type"], mime, a)
        self.assertNotIn("download_error", a)
        path = os.path.join(self.gw.state_dir, "attachments", digest[:2], digest)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)
        r = self.gw.api("reader").get("/v1/attachments/" + a["ref"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, data)
        # The type the event declares, kept beside the bytes, not a guess.
        self.assertEqual(r.header("Content-Type"), mime, r)

    def assert_kept(self, a, url, why, mid):
        self.assertEqual(a["ref"], url, a)
        self.assertEqual(a.get("download_error"), why, a)
        self.assertNotIn("size", a)
        self.assert_log(f"of message {mid} not downloaded ({why}); the event keeps its ref")

    def download_count(self):
        """omnigate_connector_provider_call_duration_seconds_count of this
        instance's media downloads on /metrics (None when absent)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=tmo(10)) as r:
            text = r.read().decode()
        for ln in text.split("\n"):
            if (ln.startswith("omnigate_connector_provider_call_duration_seconds_count{") and
                    f'connector="{INSTANCE}"' in ln and 'call="media_download"' in ln):
                return float(ln.rsplit(" ", 1)[1])
        return None

    def assert_no_token_to_the_cdn(self):
        self.assertTrue(self.graph.cdn_requests)
        self.assertTrue(all(auth is None for _, auth in self.graph.cdn_requests),
                        self.graph.cdn_requests)
        log = self.gw.log_tail(400)
        self.assertNotIn(self.graph_token, log)
        self.assertNotIn("oh=00_", log)  # the signed URLs are never logged


class MessengerMedia(MetaMediaCase):

    def test_files_are_kept_and_failures_say_why(self):
        img, video, audio = os.urandom(20000), os.urandom(30000), os.urandom(5000)
        u_img = self.graph.add_cdn("img.jpg", "image/jpeg", img)
        u_video = self.graph.add_cdn("clip.mp4", "video/mp4", video)
        u_audio = self.graph.add_cdn("voice.mp4", "audio/mpeg", audio)
        u_doc = self.graph.add_cdn("doc.pdf", "application/pdf", b"%PDF-1.4 tiny")
        u_old = self.graph.add_cdn("old.jpg", "image/jpeg", b"", status=403)
        u_gone = self.graph.add_cdn("gone.mp4", "video/mp4", b"", status=404)
        u_big = self.graph.add_cdn("big.bin", "application/zip", os.urandom(MAX_BYTES + 1))
        self.graph.delay = tmo(0.3)  # the answer waits for the downloads
        body = page_body("m_media-1", [
            att("image", u_img), att("video", u_video), att("audio", u_audio),
            att("file", u_doc), att("image", u_old), att("video", u_gone),
            att("file", u_big),
            {"type": "fallback", "payload": None, "title": "a link",
             "URL": "https://example.com/article"}])
        t0 = time.monotonic()
        self.accept(body, events=1)
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 7 * self.graph.delay)
        m = self.bus.wait_message("m_media-1")
        a = m["attachments"]
        self.assert_stored(a[0], img, "image/jpeg")  # "image/*" until downloaded
        self.assert_stored(a[1], video, "video/mp4")
        self.assert_stored(a[2], audio, "audio/mpeg")
        self.assert_stored(a[3], b"%PDF-1.4 tiny", "application/pdf")
        self.assertEqual(a[0]["kind"], "image")
        self.assert_kept(a[4], u_old, "download: HTTP 403", "m_media-1")
        self.assertEqual(a[4]["type"], "image/*")
        self.assert_kept(a[5], u_gone, "download: HTTP 404", "m_media-1")
        self.assert_kept(a[6], u_big, f"larger than media_max_bytes ({MAX_BYTES})",
                         "m_media-1")
        self.assertEqual(a[7]["ref"], "https://example.com/article")
        self.assertNotIn("download_error", a[7])
        self.assertIn(u_img, m["raw"])  # the URL stays in raw
        self.assert_no_token_to_the_cdn()
        # Nothing but the four blobs and their types in the store: no partial file.
        store = os.path.join(self.gw.state_dir, "attachments")
        files = [f for d in os.listdir(store) for f in os.listdir(os.path.join(store, d))]
        blobs = [f for f in files if not f.endswith(".type")]
        self.assertEqual(len(blobs), 4, files)
        self.assertEqual(sorted(files), sorted(blobs + [b + ".type" for b in blobs]))
        gwtest.wait_until(
            lambda: self.counters().get("meta", {}) == {"media_stored": 4, "media_failed": 3},
            tmo(10), "the download counters in the status file",
            on_fail=lambda: self.counters())
        # Seven downloads asked of the CDN (four kept, three refused), each
        # one observation, on /metrics once the status file is rewritten.
        gwtest.wait_until(lambda: self.download_count() == 7, tmo(10),
                          "the downloads' histogram on /metrics",
                          on_fail=lambda: self.download_count())

    def test_redelivered_body_stores_the_file_once(self):
        data = os.urandom(10000)
        u = self.graph.add_cdn("again.png", "image/png", data)
        body = page_body("m_again-1", [att("image", u)])
        self.accept(body, events=1)
        self.accept(body, events=1)  # Meta's retry: the router drops the copy
        m = self.bus.wait_message("m_again-1")
        self.assert_stored(m["attachments"][0], data, "image/png")
        self.assertEqual(len(self.graph.cdn_requests), 2)  # downloaded twice, kept once
        store = os.path.join(self.gw.state_dir, "attachments")
        hexd = hashlib.sha256(data).hexdigest()
        self.assertEqual([sorted(os.listdir(os.path.join(store, d))) for d in os.listdir(store)],
                         [[hexd, hexd + ".type"]])


class InstagramMedia(MetaMediaCase):

    def test_files_are_kept_and_links_stay_links(self):
        img = os.urandom(15000)
        u_img = self.graph.add_cdn("ig.jpg", "image/jpeg", img)
        u_old = self.graph.add_cdn("ig-old.mp4", "audio/mp4", b"", status=403)
        body = ig_body("ig-media-1", [
            att("image", u_img), att("audio", u_old),
            att("share", "https://www.example.com/test.jpeg")])
        self.accept(body, events=1)
        m = self.bus.wait_message("ig-media-1")
        self.assertEqual(m["channel"], "instagram")
        a = m["attachments"]
        self.assert_stored(a[0], img, "image/jpeg")
        self.assert_kept(a[1], u_old, "download: HTTP 403", "ig-media-1")
        self.assertEqual(a[2]["ref"], "https://www.example.com/test.jpeg")
        self.assertNotIn("download_error", a[2])
        self.assert_no_token_to_the_cdn()


if __name__ == "__main__":
    unittest.main()
