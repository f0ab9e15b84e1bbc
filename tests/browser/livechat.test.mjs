// livechat.test.mjs - browser tests of the live-chat channel: the real
// gatewayd (router + livechat connector) and the real widget in Debian's
// chromium, driven by playwright-core. What reaches the bus is read with
// `gatewayctl replay --json`.
//
// Run through ctest (GW_BIN_DIR names the binaries). LIVECHAT_SCREENSHOT,
// when set, is where a screenshot of the widget is written.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

const BIN = process.env.GW_BIN_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SLOW = BIN && existsSync(path.join(BIN, "gateway-router")) &&
  readFileSync(path.join(BIN, "gateway-router")).includes("__asan_init") ? 3 : 1;
const T = (ms) => ms * SLOW;
let chromium = null;
try {
  ({ chromium } = await import("playwright-core"));
} catch {
  chromium = null;
}
const skipAll = !BIN ? "GW_BIN_DIR is not set (run through ctest)"
  : !chromium ? "playwright-core is missing: npm ci --prefix tests/browser"
  : !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (scripts/setup-tests.sh installs it)` : false;

let root, cfg, gw, gwLog = "", port, browser, context, page;
const base = () => `http://127.0.0.1:${port}/`;

// n loopback ports reserved against every other test running at the same
// time (ctest -j): tests/integration/ports.py picks them below the kernel's
// ephemeral range and holds their lock files until its stdin closes, which
// happens in after() or when this process ends.
let portHolder = null;
function reservePorts(n) {
  return new Promise((resolve, reject) => {
    const script = path.join(HERE, "..", "integration", "ports.py");
    portHolder = spawn(process.env.GW_PYTHON3 || "python3", [script, String(n)],
      { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    portHolder.once("error", reject);
    portHolder.once("exit", (code) => reject(new Error(`ports.py exited (${code}) before printing`)));
    portHolder.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.trim().split(" ").map(Number));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, ms = T(15000)) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})\n--- gatewayd log ---\n${gwLog.slice(-4000)}`);
}

function ctl(args) {
  return new Promise((resolve) => {
    execFile(path.join(BIN, "gatewayctl"), ["--config", cfg, ...args], { timeout: T(10000) },
      (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
  });
}

// Every livechat message.received on the bus, from seq 1.
async function busMessages() {
  const r = await ctl(["replay", "--from", "1", "--json"]);
  if (r.code !== 0) throw new Error(`gatewayctl replay: ${r.code} ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l))
    .filter((e) => e.type === "message.received" && e.channel === "livechat");
}

const texts = (evs) => evs.map((e) => e.text);
const count = (arr, x) => arr.filter((y) => y === x).length;

async function startGateway() {
  const ports = await reservePorts(4);
  port = ports[3];
  cfg = path.join(root, "gateway.yaml");
  writeFileSync(cfg, [
    `state_dir: ${JSON.stringify(path.join(root, "state"))}`,
    "log_level: info",
    "router:",
    `  ingest: "tcp://127.0.0.1:${ports[0]}"`,
    `  publish: "tcp://127.0.0.1:${ports[1]}"`,
    `  command: "tcp://127.0.0.1:${ports[2]}"`,
    "  plain_loopback: true",
    "supervisor:",
    "  backoff_min_ms: 50",
    "  backoff_max_ms: 1000",
    "connectors:",
    "  - name: chat",
    "    type: livechat",
    "    enabled: true",
    `    listen: "127.0.0.1:${port}"`,
    "    secret: ${GATEWAY_LIVECHAT_SECRET}",
    "    messages_per_second: 50",
    "    messages_burst: 50",
    "",
  ].join("\n"));
  gw = spawn(path.join(BIN, "gatewayd"), ["--config", cfg], {
    env: { ...process.env, GATEWAY_LIVECHAT_SECRET: "test-secret-0123456789abcdef" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  gw.stdout.on("data", (d) => { gwLog += d; });
  gw.stderr.on("data", (d) => { gwLog += d; });
  await until("the demo page", async () => (await fetch(base())).status === 200);
  await until("the router command socket", async () => (await ctl(["replay", "--from", "1", "--json"])).code === 0);
}

before(async () => {
  if (skipAll) return;
  root = mkdtempSync(path.join(tmpdir(), "gw-livechat-"));
  await startGateway();
  context = await chromium.launchPersistentContext(path.join(root, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 720, height: 600 },
  });
  page = context.pages()[0] || await context.newPage();
});

after(async () => {
  if (context) await context.close();
  if (gw) {
    gw.kill("SIGTERM");
    await Promise.race([new Promise((r) => gw.once("exit", r)), sleep(T(10000))]);
  }
  // A sanitizer build reports into the processes' stderr, which is gwLog.
  const report = gwLog.match(/(ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer)[^\n]*/);
  if (root && process.env.GW_KEEP_TMP) writeFileSync(path.join(root, "gatewayd.log"), gwLog);
  if (root && !process.env.GW_KEEP_TMP) rmSync(root, { recursive: true, force: true });
  if (portHolder) portHolder.stdin.end();
  if (report) throw new Error(`sanitizer report in the gateway's log: ${report[0]}`);
});

// Types a message into the widget of `p` and waits until the server acked it.
async function say(p, text) {
  await p.fill("#gwc-input", text);
  await p.press("#gwc-input", "Enter");
  await p.waitForFunction((t) => [...document.querySelectorAll(".gwc-msg.gwc-in[data-id]")]
    .some((e) => e.textContent === t), text, { timeout: T(10000) });
}

const bubbles = (p) => p.$$eval(".gwc-msg", (els) => els.map((e) => e.textContent));

test("a visitor's message reaches the bus exactly once", { skip: skipAll }, async () => {
  await page.goto(base());
  await page.waitForFunction(() => window.GatewayChat && window.GatewayChat.state().welcomed);
  await say(page, "Hello, I need help with my order");
  const evs = await until("the message on the bus", async () => {
    const e = (await busMessages()).filter((x) => x.text === "Hello, I need help with my order");
    return e.length ? e : null;
  });
  await sleep(T(500));
  const again = (await busMessages()).filter((x) => x.text === "Hello, I need help with my order");
  assert.equal(again.length, 1, "exactly once on the bus");
  assert.match(evs[0].from.address, /^visitor:[0-9a-f]{32}$/);
  assert.match(evs[0].external_id, /^[0-9a-f]{32}:[A-Za-z0-9_-]+$/);
});

test("a reload shows the whole conversation", { skip: skipAll }, async () => {
  await say(page, "Order 1234");
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll(".gwc-msg[data-id]").length >= 2,
    null, { timeout: T(10000) });
  assert.deepEqual(await bubbles(page), ["Hello, I need help with my order", "Order 1234"]);
});

test("a second tab continues the same conversation", { skip: skipAll }, async () => {
  const tab = await context.newPage();
  await tab.goto(base());
  await tab.waitForFunction(() => document.querySelectorAll(".gwc-msg[data-id]").length >= 2,
    null, { timeout: T(10000) });
  await say(tab, "Written in the second tab");
  await page.waitForFunction(() => [...document.querySelectorAll(".gwc-msg")]
    .some((e) => e.textContent === "Written in the second tab"), null, { timeout: T(10000) });
  await tab.close();
  const evs = await busMessages();
  const senders = new Set(evs.map((e) => e.from.address));
  assert.equal(senders.size, 1, "one visitor for both tabs");
});

test("cutting the connection while sending loses and doubles nothing", { skip: skipAll }, async () => {
  const sent = [];
  for (let i = 0; i < 5; i++) {
    const text = `burst ${i}`;
    sent.push(text);
    // Send, then drop the socket at once: some frames reach the server, some
    // not, and the acks of those that did are lost with the socket.
    await page.evaluate((t) => { window.GatewayChat.send(t); window.GatewayChat.disconnect(); }, text);
    await sleep(50);
  }
  await context.setOffline(true);
  await page.evaluate(() => window.GatewayChat.send("written offline"));
  sent.push("written offline");
  await sleep(300);
  await context.setOffline(false);
  await page.waitForFunction(() => window.GatewayChat.state().welcomed && window.GatewayChat.state().unacked === 0,
    null, { timeout: T(30000) });
  const got = await until("every message on the bus", async () => {
    const t = texts(await busMessages());
    return sent.every((s) => t.includes(s)) ? t : null;
  });
  await sleep(T(500));
  const final = texts(await busMessages());
  for (const s of sent) assert.equal(count(final, s), 1, `"${s}" exactly once (got ${count(got, s)})`);
  await page.reload();
  await page.waitForFunction((n) => document.querySelectorAll(".gwc-msg[data-id]").length >= n,
    3 + sent.length, { timeout: T(10000) });
  const shown = await bubbles(page);
  for (const s of sent) assert.equal(count(shown, s), 1, `"${s}" shown once`);
});

test("a connector crash loses and doubles nothing; the page resumes", { skip: skipAll }, async () => {
  const runFile = path.join(root, "state", "run", "chat.json");
  const pid = JSON.parse(readFileSync(runFile, "utf8")).pid;
  await page.evaluate(() => window.GatewayChat.send("just before the crash"));
  process.kill(pid, "SIGKILL");
  await page.evaluate(() => window.GatewayChat.send("during the crash"));
  await until("the connector restarted", async () => {
    const st = JSON.parse(readFileSync(runFile, "utf8"));
    return st.pid !== pid;
  });
  await page.waitForFunction(() => window.GatewayChat.state().welcomed && window.GatewayChat.state().unacked === 0,
    null, { timeout: T(30000) });
  await until("both messages on the bus", async () => {
    const t = texts(await busMessages());
    return t.includes("just before the crash") && t.includes("during the crash");
  });
  await sleep(T(500));
  const t = texts(await busMessages());
  assert.equal(count(t, "just before the crash"), 1);
  assert.equal(count(t, "during the crash"), 1);
  const shown = await bubbles(page);
  assert.equal(count(shown, "just before the crash"), 1);
  assert.equal(count(shown, "during the crash"), 1);
});

test("a websocket from a foreign Origin is refused", { skip: skipAll }, async () => {
  const status = await new Promise((resolve) => {
    const req = http.request({
      host: "127.0.0.1", port, path: "/chat",
      headers: {
        Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "gateway-chat",
        Origin: "https://evil.example",
      },
    });
    req.on("upgrade", (res, sock) => { sock.destroy(); resolve(101); });
    req.on("response", (res) => { res.resume(); resolve(res.statusCode); });
    req.on("error", () => resolve("closed"));
    req.end();
  });
  assert.equal(status, 403);
});

test("too large and malformed frames get errors, the socket stays", { skip: skipAll }, async () => {
  const codes = await page.evaluate(() => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/chat`, "gateway-chat");
    const got = [];
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "hello", token: null, last_seen: null }));
      ws.send("not json");
      ws.send(JSON.stringify({ type: "message", client_id: "big-1", text: "x".repeat(5000) }));
      ws.send(JSON.stringify({ type: "ping" }));
    };
    ws.onmessage = (ev) => {
      const o = JSON.parse(ev.data);
      if (o.type === "error") got.push(o.code);
      if (o.type === "pong") { ws.close(); resolve(got); }
    };
    setTimeout(() => resolve(got), 5000);
  }));
  assert.deepEqual(codes, ["bad_frame", "too_large"]);
});

// A reply to `ticket`, as a helpdesk sends it.
function sendReply(ticket, text) {
  return ctl(["send", String(ticket), text]);
}

test("a reply appears in the page and is reported delivered", { skip: skipAll }, async () => {
  const ev = (await busMessages()).find((e) => e.ticket_id);
  assert.ok(ev, "a routed message with a ticket");
  const r = await sendReply(ev.ticket_id, "Thanks, we are looking into it");
  assert.equal(r.code, 0, r.stderr);
  await page.waitForFunction(() => [...document.querySelectorAll(".gwc-msg.gwc-out")]
    .some((e) => e.textContent === "Thanks, we are looking into it"), null, { timeout: T(15000) });
  const statuses = await until("sent and delivered statuses on the bus", async () => {
    const r2 = await ctl(["replay", "--from", "1", "--json"]);
    const st = r2.stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l))
      .filter((e) => e.type === "message.status").map((e) => e.status);
    return st.includes("sent") && st.includes("delivered") ? st : null;
  });
  assert.ok(statuses.includes("delivered"));
  // The reply stays in the conversation after a reload.
  await page.reload();
  await page.waitForFunction(() => [...document.querySelectorAll(".gwc-msg.gwc-out")]
    .some((e) => e.textContent === "Thanks, we are looking into it"), null, { timeout: T(10000) });
});

// A 1x1 PNG: a real image, so that the page can show it.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

// Waits until `sel` matches an image that loaded (naturalWidth > 0).
function imageShown(p, sel) {
  return p.waitForFunction((s) => [...document.querySelectorAll(s)]
    .some((i) => i.complete && i.naturalWidth > 0), sel, { timeout: T(15000) });
}

test("a visitor attaches an image: stored, shown, on the bus with the message", { skip: skipAll }, async () => {
  await page.setInputFiles("#gwc-file", { name: "../receipt.png", mimeType: "image/png", buffer: PNG });
  await page.waitForFunction(() => [...document.querySelectorAll(".gwc-msg.gwc-in[data-id] img.gwc-img")]
    .length >= 1, null, { timeout: T(15000) });
  await imageShown(page, ".gwc-msg.gwc-in[data-id] img.gwc-img");
  const ev = await until("the attachment on the bus", async () =>
    (await busMessages()).find((e) => (e.attachments || []).some((a) => a.name === "receipt.png")));
  const a = ev.attachments[0];
  assert.equal(a.type, "image/png");
  assert.equal(a.kind, "image");
  assert.equal(a.size, PNG.length);
  assert.match(a.ref, /^sha256:[0-9a-f]{64}$/);
  // The file is stored with the other attachments.
  const hex = a.ref.slice(7);
  assert.ok(existsSync(path.join(root, "state", "attachments", hex.slice(0, 2), hex)));
  // After a reload the image is shown again from the history.
  await page.reload();
  await imageShown(page, ".gwc-msg.gwc-in[data-id] img.gwc-img");
});

test("a file that lies about its type, or too large, is refused with a message", { skip: skipAll }, async () => {
  await page.setInputFiles("#gwc-file", { name: "fake.png", mimeType: "image/png",
    buffer: Buffer.from("<html><script>alert(1)</script></html>") });
  await page.waitForFunction(() => [...document.querySelectorAll(".gwc-upload-error")]
    .some((e) => e.textContent.includes("fake.png") && e.textContent.includes("does not match")),
  null, { timeout: T(10000) });
  await page.setInputFiles("#gwc-file", { name: "big.pdf", mimeType: "application/pdf",
    buffer: Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(11 * 1024 * 1024, 32)]) });
  await page.waitForFunction(() => [...document.querySelectorAll(".gwc-upload-error")]
    .some((e) => e.textContent.includes("big.pdf") && e.textContent.includes("larger")),
  null, { timeout: T(15000) });
  const names = (await busMessages()).flatMap((e) => (e.attachments || []).map((x) => x.name));
  assert.ok(!names.includes("fake.png") && !names.includes("big.pdf"), JSON.stringify(names));
});

test("an agent's reply with an image and a PDF: a preview and a link", { skip: skipAll }, async () => {
  const ev = (await busMessages()).find((e) => e.ticket_id);
  const img = path.join(root, "label.png"), pdf = path.join(root, "invoice.pdf");
  writeFileSync(img, PNG);
  writeFileSync(pdf, "%PDF-1.4\n1 0 obj <<>> endobj\n");
  const r = await ctl(["send", String(ev.ticket_id), "Here is your label", "--attach", img, "--attach", pdf]);
  assert.equal(r.code, 0, r.stderr);
  await page.waitForFunction(() => [...document.querySelectorAll(".gwc-msg.gwc-out")]
    .some((e) => e.textContent.includes("Here is your label") && e.querySelector("img.gwc-img")),
  null, { timeout: T(15000) });
  await imageShown(page, ".gwc-msg.gwc-out img.gwc-img");
  const link = await page.$$eval(".gwc-msg.gwc-out a.gwc-file", (as) =>
    (as.find((a) => a.textContent === "invoice.pdf") || {}).href || null);
  assert.ok(link && link.includes("/files/"), `a link to the PDF (${link})`);
  // The link serves the file to this conversation only.
  const ok = await fetch(link);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("content-disposition"), "attachment");
  const other = await fetch(link.replace(/k=[^&]+/, "k=f1.1.00.00"));
  assert.equal(other.status, 401);
});

test("typing both ways: the visitor's on the bus, the agent's in the page", { skip: skipAll }, async () => {
  const before = (await ctl(["replay", "--from", "1", "--json"])).stdout.split("\n")
    .filter((l) => l.includes("\"chat.typing\"")).length;
  await page.type("#gwc-input", "I am typ", { delay: 20 });
  const typing = await until("a chat.typing on the bus", async () => {
    const evs = (await ctl(["replay", "--from", "1", "--json"])).stdout.split("\n")
      .filter((l) => l.includes("\"chat.typing\"")).map((l) => JSON.parse(l));
    return evs.length > before ? evs[evs.length - 1] : null;
  });
  assert.equal(typing.channel, "livechat");
  assert.match(typing.address, /^visitor:[0-9a-f]{32}$/);
  await page.fill("#gwc-input", "");
  // The agent types in that conversation: the page says so.
  const r = await ctl(["chat", "typing", "chat", typing.address]);
  assert.equal(r.code, 0, r.stderr);
  await page.waitForSelector(".gwc-typing", { state: "visible", timeout: T(10000) });
  assert.equal(await page.textContent(".gwc-typing"), "Agent is typing\u2026");
  // It goes away by itself.
  await page.waitForSelector(".gwc-typing", { state: "hidden", timeout: T(10000) });
});

test("past the rate, a visitor gets rate_limited and the rest is served", { skip: skipAll }, async () => {
  // Two sockets of one visitor share one bucket (burst 50 in this config).
  const r = await page.evaluate(() => new Promise((resolve) => {
    const open = (token) => new Promise((ok) => {
      const ws = new WebSocket(`ws://${location.host}/chat`, "gateway-chat");
      ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token, last_seen: null }));
      ws.onmessage = (ev) => { const o = JSON.parse(ev.data); if (o.type === "welcome") ok({ ws, token: o.token }); };
    });
    const res = { ack: 0, limited: 0 };
    open(null).then(async (a) => {
      const b = await open(a.token);
      for (const ws of [a.ws, b.ws]) {
        ws.onmessage = (ev) => {
          const o = JSON.parse(ev.data);
          if (o.type === "ack") res.ack++;
          if (o.type === "error" && o.code === "rate_limited") res.limited++;
          if (res.ack + res.limited === 80) { a.ws.close(); b.ws.close(); resolve(res); }
        };
      }
      for (let i = 0; i < 40; i++) {
        a.ws.send(JSON.stringify({ type: "message", client_id: `ra${i}`, text: `rate a ${i}` }));
        b.ws.send(JSON.stringify({ type: "message", client_id: `rb${i}`, text: `rate b ${i}` }));
      }
    });
    setTimeout(() => resolve(res), 10000);
  }));
  assert.ok(r.limited >= 20 && r.ack >= 50 && r.ack + r.limited === 80, JSON.stringify(r));
  await say(page, "still served");
});

test("past max_connections_per_ip, new sockets are refused", { skip: skipAll }, async () => {
  const r = await page.evaluate(() => new Promise((resolve) => {
    const socks = [], res = { open: 0, refused: 0 };
    for (let i = 0; i < 25; i++) {
      const ws = new WebSocket(`ws://${location.host}/chat`, "gateway-chat");
      socks.push(ws);
      ws.onopen = () => { res.open++; done(); };
      ws.onerror = () => { res.refused++; done(); };
    }
    function done() {
      if (res.open + res.refused === 25) { socks.forEach((w) => w.close()); resolve(res); }
    }
    setTimeout(() => resolve(res), 10000);
  }));
  // The default limit is 20 and the widget holds one of them.
  assert.equal(r.open + r.refused, 25, JSON.stringify(r));
  assert.ok(r.open <= 19 && r.refused >= 6, JSON.stringify(r));
  await sleep(300);
  await say(page, "served after the refusals");
});

test("screenshot of the widget", { skip: skipAll || !process.env.LIVECHAT_SCREENSHOT }, async () => {
  // A new visitor with a short conversation.
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.waitForFunction(() => window.GatewayChat.state().welcomed);
  await say(page, "Hi! Is the blue jacket still available in size M?");
  const ev = await until("the new visitor's message on the bus", async () =>
    (await busMessages()).find((e) => e.text.startsWith("Hi! Is the blue jacket") && e.ticket_id));
  const r = await sendReply(ev.ticket_id, "Hello! Yes, we have 3 left in M. Shall I reserve one for you?");
  assert.equal(r.code, 0, r.stderr);
  await page.waitForFunction(() => document.querySelectorAll(".gwc-msg.gwc-out").length >= 1);
  await say(page, "Yes please, thank you!");
  await page.screenshot({ path: process.env.LIVECHAT_SCREENSHOT });
});
