// livechat_away.test.mjs - browser tests of the live chat's away and closed
// notices (docs/channels/livechat.md, "Away and closed"): the real gatewayd
// with a routing config (a queue whose only agent is offline, a queue whose
// business hours are "closed") and the real widget in Debian's chromium
// (playwright-core). What reaches the bus is read with `gatewayctl replay`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.GW_BIN_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SLOW = BIN && existsSync(path.join(BIN, "gateway-router")) &&
  readFileSync(path.join(BIN, "gateway-router")).includes("__asan_init") ? 3 : 1;
const T = (ms) => ms * SLOW;
let chromium = null;
try { ({ chromium } = await import("playwright-core")); } catch { chromium = null; }
const skipAll = !BIN ? "GW_BIN_DIR is not set (run through ctest)"
  : !chromium ? "playwright-core is missing: npm ci --prefix tests/browser"
  : !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (scripts/setup-tests.sh installs it)` : false;

let root, cfg, gw, gwLog = "", chatPort, nightPort, browser, portHolder = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Loopback ports reserved against every other test (tests/integration/ports.py).
function reservePorts(n) {
  return new Promise((resolve, reject) => {
    portHolder = spawn(process.env.GW_PYTHON3 || "python3",
      [path.join(HERE, "..", "integration", "ports.py"), String(n)], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    portHolder.once("error", reject);
    portHolder.once("exit", (code) => reject(new Error(`ports.py exited (${code}) before printing`)));
    portHolder.stdout.on("data", (d) => { out += d; if (out.includes("\n")) resolve(out.trim().split(" ").map(Number)); });
  });
}

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

async function busMessages() {
  const r = await ctl(["replay", "--from", "1", "--json"]);
  if (r.code !== 0) throw new Error(`gatewayctl replay: ${r.code} ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l))
    .filter((e) => e.type === "message.received" && e.channel === "livechat");
}

const chatConnector = (name, port, queue) => [
  `  - name: ${name}`, "    type: livechat", "    enabled: true", `    listen: "127.0.0.1:${port}"`,
  "    secret: ${GATEWAY_LIVECHAT_SECRET}", `    queue: ${queue}`,
  "    away_text: \"en=Nobody is here right now: leave your email.|fr=Personne pour le moment : laissez votre email.\"",
];

before(async () => {
  if (skipAll) return;
  root = mkdtempSync(path.join(tmpdir(), "gw-livechat-away-"));
  const ports = await reservePorts(5);
  [chatPort, nightPort] = [ports[3], ports[4]];
  cfg = path.join(root, "gateway.yaml");
  writeFileSync(cfg, [
    `state_dir: ${JSON.stringify(path.join(root, "state"))}`,
    "log_level: info",
    "router:",
    `  ingest: "tcp://127.0.0.1:${ports[0]}"`,
    `  publish: "tcp://127.0.0.1:${ports[1]}"`,
    `  command: "tcp://127.0.0.1:${ports[2]}"`,
    "  plain_loopback: true",
    "routing:",
    "  business_hours:",
    "    - name: never",
    "      hours: closed",
    "  queues:",
    "    - name: support",
    "      accounts: [chat]",
    "      agents: [alice]",
    "    - name: night",
    "      accounts: [night]",
    "      business_hours: never",
    "  agents:",
    "    - id: alice",
    "      presence: offline",
    "connectors:",
    ...chatConnector("chat", chatPort, "support"),
    ...chatConnector("night", nightPort, "night"),
    "",
  ].join("\n"));
  gw = spawn(path.join(BIN, "gatewayd"), ["--config", cfg], {
    env: { ...process.env, GATEWAY_LIVECHAT_SECRET: "test-secret-0123456789abcdef" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  gw.stdout.on("data", (d) => { gwLog += d; });
  gw.stderr.on("data", (d) => { gwLog += d; });
  for (const p of [chatPort, nightPort])
    await until(`the demo page on ${p}`, async () => (await fetch(`http://127.0.0.1:${p}/`)).status === 200);
  await until("the router command socket", async () => (await ctl(["replay", "--from", "1", "--json"])).code === 0);
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (gw) {
    gw.kill("SIGTERM");
    await Promise.race([new Promise((r) => gw.once("exit", r)), sleep(T(10000))]);
  }
  const report = gwLog.match(/(ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer)[^\n]*/);
  if (root && !process.env.GW_KEEP_TMP) rmSync(root, { recursive: true, force: true });
  if (portHolder) portHolder.stdin.end();
  if (report) throw new Error(`sanitizer report in the gateway's log: ${report[0]}`);
});

async function open(port, locale) {
  const context = await browser.newContext({ locale, viewport: { width: 720, height: 600 } });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => window.GatewayChat && window.GatewayChat.state().welcomed);
  return { context, page };
}

test("away: the notice shows before writing, the email is taken, the message too", { skip: skipAll }, async () => {
  const { context, page } = await open(chatPort, "fr-FR");
  await page.waitForFunction(() => window.GatewayChat.state().availability === "away", null, { timeout: T(10000) });
  const notice = await page.textContent(".gwc-away-text");
  assert.equal(notice, "Personne pour le moment : laissez votre email.");
  assert.equal(await page.textContent(".gwc-state"), "away");
  await page.fill("#gwc-away-email", "ana@example.com");
  await page.click("#gwc-away-save");
  await page.waitForSelector(".gwc-away-email");
  await page.fill("#gwc-input", "Do you ship to Canada?");
  await page.press("#gwc-input", "Enter");
  const ev = await until("the message on the bus", async () =>
    (await busMessages()).find((e) => e.text === "Do you ship to Canada?"));
  assert.equal(ev.from.email, "ana@example.com");
  assert.ok(!ev.from.email_verified, "a typed email is a claim");
  assert.equal(JSON.parse(ev.raw).answer_by_email, true);
  // An agent comes online: the notice goes away.
  const r = await ctl(["agent", "presence", "alice", "online"]);
  assert.equal(r.code, 0, r.stderr);
  await page.waitForFunction(() => window.GatewayChat.state().availability === "available", null, { timeout: T(10000) });
  assert.equal(await page.isVisible(".gwc-away"), false);
  assert.equal(await page.textContent(".gwc-state"), "online");
  await context.close();
});

test("closed: outside business hours the notice says so, in English by default", { skip: skipAll }, async () => {
  const { context, page } = await open(nightPort, "de-DE");
  await page.waitForFunction(() => window.GatewayChat.state().availability === "closed", null, { timeout: T(10000) });
  const notice = await page.textContent(".gwc-away-text");
  assert.match(notice, /^We are closed right now/);
  assert.ok(await page.isVisible("#gwc-away-email"));
  await context.close();
});
