-- bench/telegram_wrk.lua - the load of bench/run_telegram.sh: Telegram
-- webhook POSTs (one Update each, a text message with its own message_id)
-- sent by wrk (Debian package wrk), one thread, `-c` keep-alive
-- connections, each sending its next update when the last was answered.
--
-- Variables (environment):
--   BENCH_SECRET      the X-Telegram-Bot-Api-Secret-Token of every POST
--   BENCH_BASE        update i has update_id and message_id BENCH_BASE + i
--   BENCH_N           updates answered before the thread stops
--   BENCH_SENDERS     distinct users (chat ids), round robin
--   BENCH_TEXT_BYTES  length of each text
--
-- When its thread has its BENCH_N answers it prints "telegram-wrk-stopped",
-- and run_telegram.sh ends wrk with SIGINT (wrk otherwise runs for its -d).
-- wrk then prints one line run_telegram.sh reads:
--   telegram-wrk sent=S answered=A ok=K t0_us=.. t1_us=.. p50_us=.. p99_us=.. max_us=.. errors=E
-- t0 is the first request, t1 the last answer (CLOCK_MONOTONIC, µs).

local ffi = require("ffi")

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *tp);
]]

local CLOCK_MONOTONIC = 1
local threads = {}
local secret, base, limit, senders, text
local ts = ffi.new("bench_timespec")

sent, answered, ok, first_us, last_us = 0, 0, 0, 0, 0

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default == nil then error("telegram_wrk.lua: " .. name .. " is not set") end
    return default
  end
  return v
end

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  secret = env("BENCH_SECRET")
  base = tonumber(env("BENCH_BASE"))
  limit = tonumber(env("BENCH_N"))
  senders = tonumber(env("BENCH_SENDERS", "1000"))
  text = string.rep("a", tonumber(env("BENCH_TEXT_BYTES", "64")))
end

function request()
  local i = base + sent
  local s = 500000000 + sent % senders
  if first_us == 0 then first_us = now_us() end
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,' ..
    '"first_name":"Bench","username":"bench%d"},"chat":{"id":%d,"type":"private",' ..
    '"first_name":"Bench"},"date":%d,"text":"%s"}}',
    i, i, s, s, s, os.time(), text)
  sent = sent + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = secret,
  }, body)
end

function response(status, headers, body)
  answered = answered + 1
  last_us = now_us()
  if status == 200 then ok = ok + 1 end
  if answered == limit then
    wrk.thread:stop()
    io.write("telegram-wrk-stopped\n")
    io.stdout:flush()
  end
end

function done(summary, latency, requests)
  local s, a, k, t0, t1 = 0, 0, 0, nil, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent")
    a = a + t:get("answered")
    k = k + t:get("ok")
    local f = t:get("first_us")
    if f > 0 and (t0 == nil or f < t0) then t0 = f end
    if t:get("last_us") > t1 then t1 = t:get("last_us") end
  end
  local e = summary.errors
  io.write(string.format(
    "telegram-wrk sent=%d answered=%d ok=%d t0_us=%d t1_us=%d p50_us=%d p99_us=%d " ..
    "max_us=%d errors=%d\n",
    s, a, k, t0 or 0, t1, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout))
end
