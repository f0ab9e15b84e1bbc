-- bench/sms_wrk.lua - the load of bench-sms: Twilio incoming-message
-- webhooks (application/x-www-form-urlencoded) sent by wrk (Debian package
-- wrk), one thread, `-c` keep-alive connections, each sending its next
-- webhook when the last was answered.
--
-- Each webhook is signed as Twilio signs it: X-Twilio-Signature = base64 of
-- HMAC-SHA1(auth token, URL + each parameter's name and value, sorted by
-- name), computed with OpenSSL's libcrypto through LuaJIT's FFI. The URL is
-- the one wrk calls: the connector's public_url must be
-- "http://<host>:<port>" of that URL.
--
-- bench-sms starts wrk with this script and these variables:
--   BENCH_SECRET      the auth token
--   BENCH_PREFIX      message i has the MessageSid "<prefix><i>", i = 0, 1, ...
--   BENCH_N           webhooks answered before the thread stops
--   BENCH_SENDERS     distinct customers (From), round robin
--   BENCH_TEXT_BYTES  length of each Body
-- Each Body starts with "t<CLOCK_MONOTONIC in us>;", the time the request
-- was built, for bench-sms's accept-to-bus latency (bench_wrk.h). At the
-- end done() prints the summary line bench_wrk.c reads (its name is the
-- one bench-meta's script prints):
--   bench-meta-wrk sent=S answered=A ok=K t0_us=.. t1_us=.. p50_us=.. p99_us=.. max_us=.. errors=E

local ffi = require("ffi")

ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha1(void);
unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *out,
                    unsigned int *out_len);
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n);
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *tp);
]]

local CLOCK_MONOTONIC = 1
local TO = "+15550009999"

local function load_crypto()
  for _, name in ipairs({"libcrypto.so.3", "crypto"}) do
    local ok, lib = pcall(ffi.load, name)
    if ok then return lib end
  end
  error("sms_wrk.lua: cannot load OpenSSL's libcrypto")
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default == nil then error("sms_wrk.lua: " .. name .. " is not set") end
    return default
  end
  return v
end

local threads = {}
local crypto, secret, prefix, limit, senders, pad, url
local md = ffi.new("unsigned char[20]")
local md_len = ffi.new("unsigned int[1]")
local b64 = ffi.new("unsigned char[32]")
local ts = ffi.new("bench_timespec")

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
  url = wrk.scheme .. "://" .. wrk.host .. ":" .. wrk.port .. wrk.path
end

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local function sign(data)
  crypto.HMAC(crypto.EVP_sha1(), secret, #secret, data, #data, md, md_len)
  local n = crypto.EVP_EncodeBlock(b64, md, 20)
  return ffi.string(b64, n)
end

-- "t<us>;" then 'a' up to BENCH_TEXT_BYTES (longer when the stamp is).
local function text(us)
  local t = "t" .. us .. ";"
  if #t < pad then t = t .. string.rep("a", pad - #t) end
  return t
end

function request()
  local i = sent
  local from = string.format("+1655500%05d", i % senders)
  local us = now_us()
  local body_text = text(us)
  local sid = prefix .. i
  if first_us == 0 then first_us = us end
  -- The parameters sorted by name: Body, From, MessageSid, NumMedia, To.
  local signed = url .. "Body" .. body_text .. "From" .. from .. "MessageSid" .. sid ..
                 "NumMedia0" .. "To" .. TO
  local body = "Body=" .. body_text .. "&From=%2B" .. from:sub(2) .. "&MessageSid=" .. sid ..
               "&NumMedia=0&To=%2B" .. TO:sub(2)
  sent = sent + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = sign(signed),
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
