// bench.mjs - live-chat load: BENCH_VISITORS websocket visitors, each
// sending one message a second for BENCH_SECONDS, against a gatewayd started
// here (router + one livechat connector, temporary state and free ports).
// Reports the connector's RSS (idle with every socket open, and at the end
// of the load), the ack latency (send -> durable ack) and, from a bus
// subscriber (bus_latency.py), the accept-to-bus latency; checks that every
// acked message is on the bus exactly once.
//
//   npm ci --prefix bench/livechat
//   BENCH_BUILD_DIR=build-release node bench/livechat/bench.mjs
//
// Parameters (environment): BENCH_VISITORS=1000 BENCH_SECONDS=30
// BENCH_BUILD_DIR=<repo>/build-release BENCH_TMPDIR=/var/tmp BENCH_KEEP=0
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
import WebSocket from "ws";

const ROOT = path.resolve(HERE, "../..");
const BUILD = path.resolve(process.env.BENCH_BUILD_DIR || path.join(ROOT, "build-release"));
const VISITORS = Number(process.env.BENCH_VISITORS || 1000);
const SECONDS = Number(process.env.BENCH_SECONDS || 30);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
});

function rssKiB(pid) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) : null;
}

const pct = (a, q) => (a.length ? a[Math.min(a.length - 1, Math.floor(q * a.length))] : null);

async function main() {
  const tmp = mkdtempSync(path.join(process.env.BENCH_TMPDIR || "/var/tmp", "gw-bench-chat-"));
  const [ingest, publish, command, port] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const cfg = path.join(tmp, "gateway.yaml");
  writeFileSync(cfg, [
    `state_dir: ${JSON.stringify(path.join(tmp, "state"))}`, "log_level: warn", "router:",
    `  ingest: "tcp://127.0.0.1:${ingest}"`, `  publish: "tcp://127.0.0.1:${publish}"`,
    `  command: "tcp://127.0.0.1:${command}"`, "  plain_loopback: true", "connectors:", "  - name: chat", "    type: livechat",
    `    listen: "127.0.0.1:${port}"`, "    secret: ${GATEWAY_LIVECHAT_SECRET}",
    `    max_connections_per_ip: ${VISITORS + 10}`, "    requests_per_minute: 0", "",
  ].join("\n"));
  const gw = spawn(path.join(BUILD, "bin", "gatewayd"), ["--config", cfg], {
    env: { ...process.env, GATEWAY_LIVECHAT_SECRET: "bench-secret-0123456789abcdef" }, stdio: "inherit",
  });
  let pid = null;
  for (let i = 0; i < 200 && !pid; i++) {
    await sleep(100);
    try { pid = JSON.parse(readFileSync(path.join(tmp, "state/run/chat.json"), "utf8")).pid; } catch { pid = null; }
  }
  if (!pid) throw new Error("the livechat connector did not start");
  const rssStart = rssKiB(pid);

  const bus = spawn("/usr/bin/python3", [path.join(HERE, "bus_latency.py"),
    `tcp://127.0.0.1:${publish}`, String(SECONDS + 15)], { stdio: ["ignore", "pipe", "inherit"] });
  let busOut = "";
  bus.stdout.on("data", (d) => { busOut += d; });
  while (!busOut.includes("ready")) await sleep(50);

  const acks = [];
  let sent = 0, acked = 0, errors = 0;
  const socks = [];
  for (let i = 0; i < VISITORS; i++) {
    socks.push(new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, "gateway-chat");
      const pending = new Map();
      ws.on("open", () => ws.send(JSON.stringify({ type: "hello", token: null, last_seen: null })));
      ws.on("message", (data) => {
        const o = JSON.parse(data);
        if (o.type === "welcome") resolve({ ws, pending });
        else if (o.type === "ack") { acked++; acks.push(performance.now() - pending.get(o.client_id)); pending.delete(o.client_id); }
        else if (o.type === "error") errors++;
      });
      ws.on("error", reject);
    }));
    if (i % 100 === 99) await sleep(20);
  }
  const conns = await Promise.all(socks);
  await sleep(500);
  const rssIdle = rssKiB(pid);
  console.log(`${VISITORS} visitors connected; connector RSS ${rssStart} KiB at start, ${rssIdle} KiB with every socket open`);

  // Each visitor sends once a second, spread evenly over the second.
  const end = Date.now() + SECONDS * 1000;
  let rssPeak = rssIdle;
  const timers = conns.map((c, i) => setTimeout(function tick() {
    if (Date.now() >= end) return;
    const id = `b${i}-${sent}`;
    c.pending.set(id, performance.now());
    c.ws.send(JSON.stringify({ type: "message", client_id: id, text: `t=${Date.now()} hello from visitor ${i}` }));
    sent++;
    timers[i] = setTimeout(tick, 1000);
  }, (i * 1000) / VISITORS));
  while (Date.now() < end) { await sleep(1000); rssPeak = Math.max(rssPeak, rssKiB(pid)); }
  await sleep(3000);
  const rssEnd = rssKiB(pid);
  for (const c of conns) c.ws.close();
  await new Promise((r) => bus.once("exit", r));
  const busStats = JSON.parse(busOut.trim().split("\n").pop());
  acks.sort((a, b) => a - b);
  const report = {
    visitors: VISITORS, seconds: SECONDS, sent, acked, errors,
    rate_per_s: Math.round(sent / SECONDS),
    ack_p50_ms: +pct(acks, 0.5)?.toFixed(2), ack_p99_ms: +pct(acks, 0.99)?.toFixed(2),
    bus: busStats,
    rss_kib: { start: rssStart, idle_connected: rssIdle, peak: rssPeak, end: rssEnd },
  };
  console.log(JSON.stringify(report, null, 1));
  gw.kill("SIGTERM");
  await new Promise((r) => gw.once("exit", r));
  if (process.env.BENCH_KEEP !== "1") rmSync(tmp, { recursive: true, force: true });
  if (busStats.count !== acked || busStats.distinct !== busStats.count) {
    console.error("MISMATCH: acked messages and bus events differ");
    process.exit(1);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
