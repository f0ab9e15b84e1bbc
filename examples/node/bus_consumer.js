#!/usr/bin/env node
// A consumer of Omnigate's event bus (docs/events.md) with the npm packages
// `zeromq` (v6) and `@msgpack/msgpack`: subscribes to the router's PUB
// socket, catches up by replay on the command socket, detects gaps (a jump
// in `seq`, or a heartbeat whose head_seq is past what it has) and fills
// them by replay, and drops repeats.
//
// Against the quick-start gateway, from the repository's root, as the
// gateway's user:
//
//   npm ci --prefix examples/node && node examples/node/bus_consumer.js
//
// prints one line per event: "<seq> <type> <details>".
// Options: --state-dir DIR (default gateway/state), --publish EP,
// --command EP, --count N (exit after N events).

"use strict";

const path = require("path");
const zmq = require("zeromq");
const { encode, decode } = require("@msgpack/msgpack");

const REPLAY_LIMIT = 1000;
const TIMEOUT_MS = 5000;

function parseArgs(argv) {
  const a = { stateDir: "gateway/state", count: 0 };
  for (let i = 2; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case "--state-dir": a.stateDir = v; i++; break;
      case "--publish": a.publish = v; i++; break;
      case "--command": a.command = v; i++; break;
      case "--count": a.count = Number(v); i++; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  const sock = path.resolve(a.stateDir, "sock");
  a.publish = a.publish || `ipc://${sock}/publish`;
  a.command = a.command || `ipc://${sock}/command`;
  return a;
}

// decode() gives BigInt for integers beyond 2^53 only with useBigInt64;
// the gateway's ids and seqs stay well below.
const unpack = (buf) => decode(buf);

class Consumer {
  constructor(args) {
    this.args = args;
    this.last = 0; // load it from your own storage
    this.handled = 0;
    this.sub = new zmq.Subscriber();
    this.sub.subscribe(); // every event, heartbeats too
    this.sub.connect(args.publish); // connect before catching up
    this.req = null;
  }

  async request(frames) {
    if (!this.req) {
      this.req = new zmq.Request({ receiveTimeout: TIMEOUT_MS, linger: 0 });
      this.req.connect(this.args.command);
    }
    try {
      await this.req.send(frames);
      return await this.req.receive();
    } catch (err) {
      // A REQ socket that lost its reply cannot send again: make a new one.
      this.req.close();
      this.req = null;
      throw err;
    }
  }

  async catchUp() {
    for (;;) {
      const args = encode({ from: this.last + 1, limit: REPLAY_LIMIT });
      const frames = await this.request(["replay", args]);
      if (frames[0].toString() !== "ok") throw new Error(JSON.stringify(unpack(frames[1])));
      const info = unpack(frames[1]);
      for (let i = 2; i + 1 < frames.length; i += 2) {
        this.handle(frames[i].toString(), unpack(frames[i + 1]));
      }
      if (info.count === 0 || info.next > info.head) return;
    }
  }

  handle(type, ev) {
    if (ev.seq <= this.last) return; // a repeat: the bus is at-least-once
    if (ev.v === 1) this.process(type, ev);
    this.last = ev.seq; // store it with your results
    this.handled++;
  }

  process(type, ev) {
    // Your work goes here; this one prints a line.
    let detail = "";
    if (type.startsWith("message.")) detail = ` ${ev.channel} ${ev.external_id}`;
    else if (type.startsWith("ticket.")) detail = ` ticket=${ev.ticket_id} status=${ev.status}`;
    else if (type.startsWith("customer.")) detail = ` customer=${ev.customer_id}`;
    process.stdout.write(`${ev.seq} ${type}${detail}\n`);
  }

  done() {
    return this.args.count > 0 && this.handled >= this.args.count;
  }

  async run() {
    await this.catchUp();
    while (!this.done()) {
      const [type, body] = await this.sub.receive();
      const ev = unpack(body);
      if (type.toString() === "gateway.heartbeat") {
        if (ev.head_seq > this.last) await this.catchUp(); // missed the tail
        continue;
      }
      if (ev.seq > this.last + 1) await this.catchUp(); // a gap: fetch it first
      this.handle(type.toString(), ev);
    }
    this.sub.close();
    if (this.req) this.req.close();
  }
}

new Consumer(parseArgs(process.argv)).run().catch((err) => {
  console.error(`bus_consumer: ${err.message}`);
  process.exit(1);
});
