-- wrk script for bench/devices.py: a phone fleet posting one native fix per request.
--
-- wrk -s bench/devices.lua URL -- DEVICES_FILE THREADS BACKLOG_RATE START_EPOCH TAG
-- DEVICES_FILE: one "token lon lat" line per device. Thread t of THREADS sends for the
-- devices with index % THREADS == t, round robin, each fix 10 s after that device's
-- previous one (from START_EPOCH, in the past), near home (±~20 m). A request is, with
-- probability BACKLOG_RATE, a backlog of 20-200 fixes instead (a phone whose signal came back).
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local mine, idx, tag, rate = {}, 0, "w", 0
sent = 0 -- fixes sent by this thread (read by done() through thread:get)

function init(args)
  local nthreads, start = tonumber(args[2]), tonumber(args[4])
  rate = tonumber(args[3])
  tag = args[5]
  math.randomseed(1000 + tid)
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == tid then
      local token, lon, lat = line:match("^(%S+) (%S+) (%S+)$")
      table.insert(mine, { auth = "Bearer " .. token, lon = tonumber(lon), lat = tonumber(lat), t = start, n = 0 })
    end
    i = i + 1
  end
end

local function fix(d)
  d.t = d.t + 10
  d.n = d.n + 1
  return string.format('{"id":"%s%d","time":"%s","lon":%.7f,"lat":%.7f,"accuracy":%.1f}', tag, d.n,
    os.date("!%Y-%m-%dT%H:%M:%SZ", d.t), d.lon + (math.random() - 0.5) * 0.0004,
    d.lat + (math.random() - 0.5) * 0.0004, 5 + math.random() * 30)
end

function request()
  idx = idx % #mine + 1
  local d = mine[idx]
  local n = 1
  if math.random() < rate then n = math.random(20, 200) end
  local parts = {}
  for j = 1, n do parts[j] = fix(d) end
  sent = sent + n
  return wrk.format("POST", "/ingest/native", { ["Authorization"] = d.auth, ["Content-Type"] = "application/json" },
    '{"fixes":[' .. table.concat(parts, ",") .. ']}')
end

function done(summary, latency, requests)
  local fixes = 0
  for _, thread in ipairs(threads) do fixes = fixes + thread:get("sent") end
  io.write(string.format('WRK_RESULT {"fixes_sent":%d,"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,' ..
    '"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n', fixes, summary.requests, summary.duration, summary.bytes, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
