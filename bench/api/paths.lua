-- wrk script: GET each request path of a file in turn (one path a line), and at the
-- end print one JSON line with the throughput, latency percentiles and errors.
--
--   wrk -t2 -c64 -d15s -s bench/api/paths.lua http://127.0.0.1:8080 -- paths.txt

local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if line ~= "" then
      table.insert(paths, line)
    end
  end
  if #paths == 0 then
    error("no request paths in " .. args[1])
  end
  -- Threads start at different paths, so a short run still covers them all.
  counter = offset * 7919
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local p = function(q) return latency:percentile(q) / 1000 end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "requests_per_second": %.1f, '
      .. '"latency_ms": {"mean": %.3f, "p50": %.3f, "p90": %.3f, "p99": %.3f, "max": %.3f}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency.mean / 1000, p(50), p(90), p(99), latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end
