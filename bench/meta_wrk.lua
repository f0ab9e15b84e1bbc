-- bench/meta_wrk.lua - the load of `bench-meta --load wrk`: signed WhatsApp
-- text webhooks sent by wrk (Debian package wrk), one thread, `-c` keep-alive
-- connections, each sending its next webhook when the last was answered.
--
-- bench-meta starts wrk with this script and these variables:
--   BENCH_SECRET      the app secret: X-Hub-Signature-256 = HMAC-SHA256 of the
--                     body, computed with OpenSSL's libcrypto through LuaJIT's FFI
--   BENCH_PREFIX      message i has the wamid "<prefix><i>", i = 0, 1, ...
--   BENCH_N           webhooks answered before the thread stops
--   BENCH_SENDERS     distinct senders, round robin
--   BENCH_TEXT_BYTES  length of each text
-- Each text starts with "t<CLOCK_MONOTONIC in us>;", the time the request was
-- built, so that bench-meta's bus thread can measure request start ->
-- message.received on the bus without knowing which answer was whose.
--
-- At the end wrk calls done(), which prints one line bench-meta reads:
--   bench-meta-wrk sent=S answered=A ok=K t0_us=.. t1_us=.. p50_us=.. p99_us=.. max_us=.. errors=E
-- A counts every answer, K the 200s; t0 is the first request, t1 the last
-- answer (CLOCK_MONOTONIC); the latencies are wrk's (request written ->
-- answer read). wrk's own summary goes to the same output above it. When
-- its thread has its BENCH_N answers, the script prints
--   bench-meta-wrk-stopped
-- and bench-meta ends wrk, which otherwise runs for its -d.

local ffi = require("ffi")

ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *out,
                    unsigned int *out_len);
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *tp);
]]

local CLOCK_MONOTONIC = 1

local function load_crypto()
  for _, name in ipairs({"libcrypto.so.3", "crypto"}) do
    local ok, lib = pcall(ffi.load, name)
    if ok then return lib end
  end
  error("meta_wrk.lua: cannot load OpenSSL's libcrypto")
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default == nil then error("meta_wrk.lua: " .. name .. " is not set") end
    return default
  end
  return v
end

-- Set up in every thread's own Lua state (init), read by done() through
-- the thread objects kept by setup().
local threads = {}
local crypto, secret, prefix, limit, senders, pad
local md = ffi.new("unsigned char[32]")
local md_len = ffi.new("unsigned int[1]")
local ts = ffi.new("bench_timespec")
local hex = {}
for i = 0, 255 do hex[i] = string.format("%02x", i) end
local digest = {}

-- Per thread: requests built, answers, 200s, first request and last answer.
sent, answered, ok, first_us, last_us = 0, 0, 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  crypto = load_crypto()
  secret = env("BENCH_SECRET")
  prefix = env("BENCH_PREFIX")
  limit = tonumber(env("BENCH_N"))
  senders = tonumber(env("BENCH_SENDERS", "1000"))
  pad = tonumber(env("BENCH_TEXT_BYTES", "64"))
end

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local function sign(body)
  crypto.HMAC(crypto.EVP_sha256(), secret, #secret, body, #body, md, md_len)
  for i = 0, 31 do digest[i + 1] = hex[md[i]] end
  return "sha256=" .. table.concat(digest)
end

-- "t<us>;" then 'a' up to BENCH_TEXT_BYTES (longer when the stamp is).
local function text(us)
  local t = "t" .. us .. ";"
  if #t < pad then t = t .. string.rep("a", pad - #t) end
  return t
end

function request()
  local i = sent
  local s = i % senders
  local us = now_us()
  if first_us == 0 then first_us = us end
  local body = string.format(
    '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398",' ..
    '"changes":[{"value":{"messaging_product":"whatsapp","metadata":' ..
    '{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},' ..
    '"contacts":[{"profile":{"name":"Bench %d"},"wa_id":"1655500%05d"}],' ..
    '"messages":[{"from":"1655500%05d","id":"%s%d","timestamp":"%d",' ..
    '"type":"text","text":{"body":"%s"}}]},"field":"messages"}]}]}',
    s, s, s, prefix, i, math.floor(us / 1000000), text(us))
  sent = sent + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = sign(body),
  }, body)
end

function response(status, headers, body)
  answered = answered + 1
  last_us = now_us()
  if status == 200 then ok = ok + 1 end
  if answered == limit then
    wrk.thread:stop()
    io.write("bench-meta-wrk-stopped\n")
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
    "bench-meta-wrk sent=%d answered=%d ok=%d t0_us=%d t1_us=%d p50_us=%d p99_us=%d " ..
    "max_us=%d errors=%d\n",
    s, a, k, t0 or 0, t1, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout))
end
