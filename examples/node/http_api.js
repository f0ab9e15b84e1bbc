#!/usr/bin/env node
// A client of the gateway's HTTP integration API (docs/integration.md), with
// Node.js's standard library only (node 18 or later).
//
//   GATEWAY_INTEGRATION_TOKEN=... node examples/node/http_api.js
//       the newest events, then the open tickets
//   GATEWAY_INTEGRATION_TOKEN=... node examples/node/http_api.js --reply TICKET TEXT
//       a reply to the ticket's customer, sent once even when repeated
//
// OMNIGATE_URL is the API's address (default http://127.0.0.1:8093, the
// quick-start config's).
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');

const URL_BASE = new URL(process.env.OMNIGATE_URL || 'http://127.0.0.1:8093');
const TOKEN = process.env.GATEWAY_INTEGRATION_TOKEN || '';

class ApiError extends Error {
  constructor(status, code, message) {
    super(`HTTP ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

function once(method, path, body, headers) {
  const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
  const h = { Authorization: `Bearer ${TOKEN}`, ...headers };
  if (data) {
    h['Content-Type'] = 'application/json';
    h['Content-Length'] = data.length;
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: URL_BASE.hostname, port: URL_BASE.port, path, method,
                               headers: h, timeout: 15000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const j = JSON.parse(Buffer.concat(chunks).toString() || '{}');
        if (res.statusCode >= 400) reject(new ApiError(res.statusCode, j.error, j.message));
        else resolve(j);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// call: 503 (router busy or restarting) is retried with the same
// Idempotency-Key, so a retried POST is done once.
async function call(method, path, body, headers = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(method, path, body, headers);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 503 || attempt >= 4) throw e;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

async function newestEvents(last = 10) {
  const { head } = await call('GET', '/v1/events?from=1&limit=1');
  let from = Math.max(1, head - last + 1);
  const out = [];
  for (;;) {
    const page = await call('GET', `/v1/events?from=${from}&limit=100`);
    out.push(...page.events);
    if (page.events.length === 0 || page.next > page.head) return out;
    from = page.next;
  }
}

async function openTickets() {
  const out = [];
  let cursor = null;
  do {
    const q = `/v1/tickets?status=open&limit=100${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await call('GET', q);
    out.push(...page.tickets);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return out;
}

async function main() {
  if (!TOKEN) {
    console.error('set GATEWAY_INTEGRATION_TOKEN (the token of the config\'s integration section)');
    process.exit(1);
  }
  const args = process.argv.slice(2);
  if (args[0] === '--reply' && args.length === 3) {
    // Keep the key with your own record to retry safely.
    const key = crypto.randomUUID();
    const r = await call('POST', `/v1/tickets/${Number(args[1])}/replies`, { text: args[2] },
                         { 'Idempotency-Key': key });
    console.log(`reply stored: delivery ${r.delivery_id}, seq ${r.seq}, channel ${r.channel}`);
    return;
  }
  for (const ev of await newestEvents()) {
    const what = (ev.text || ev.status || '').slice(0, 60);
    console.log(`${String(ev.seq).padStart(6)} ${ev.type.padEnd(24)} ${what}`);
  }
  const tickets = await openTickets();
  console.log(`${tickets.length} open ticket(s)`);
  for (const t of tickets.slice(0, 20)) {
    console.log(`  #${t.ticket_id} ${t.channel.padEnd(10)} ${(t.queue || '-').padEnd(10)} `
                + `${(t.subject || '').slice(0, 50)}`);
  }
}

main().catch((e) => {
  console.error(e instanceof ApiError ? e.message : `cannot reach ${URL_BASE}: ${e.message}`);
  process.exit(1);
});
