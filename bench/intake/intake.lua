-- wrk script for bench/intake: POSTs Alertmanager webhook bodies, rotating through the files
-- BODIES_DIR/body-000.json, body-001.json, ... (the first missing number ends the set).
-- Every request is formatted once in init(); request() only hands out the next one. Each wrk
-- thread starts at a different offset so threads do not send the same body in lockstep.
-- done() prints one WRK_RESULT line of key=value pairs for bench/intake/run.

local requests = {}
local count = 0
local idx = 0
local threads = 0

-- runs in the main Lua state, once per thread: give each thread its own starting body
function setup(thread)
   thread:set("start_offset", threads * 53)
   threads = threads + 1
end

function init(args)
   local dir = os.getenv("BODIES_DIR")
   if not dir or dir == "" then
      error("BODIES_DIR is not set")
   end
   local headers = {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = "Alertmanager/0.25.0",
   }
   while true do
      local f = io.open(string.format("%s/body-%03d.json", dir, count), "rb")
      if not f then break end
      local body = f:read("*a")
      f:close()
      count = count + 1
      requests[count] = wrk.format("POST", wrk.path, headers, body)
   end
   if count == 0 then
      error("no bodies in " .. dir)
   end
   idx = (tonumber(start_offset) or 0) % count
end

function request()
   idx = idx % count + 1
   return requests[idx]
end

function done(summary, latency, requests_)
   local e = summary.errors
   io.write(string.format(
      "WRK_RESULT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d " ..
      "status=%d timeout=%d ok=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d " ..
      "mean_us=%.1f\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
      e.status, e.timeout, summary.requests - e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
end
