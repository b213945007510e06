-- wrk script for benches/search.sh: cycles through the archive searches listed one per line in
-- the file given after `--` (written by `cargo bench --bench archive_search`), each wrk thread
-- from its own place in the list, and prints p50/p90/p99 latency and requests per second.

local queries = {}
local next_query = 0
local threads = 0

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    queries[#queries + 1] = line
  end
  next_query = (thread_number * 7919) % #queries
end

function request()
  next_query = next_query % #queries + 1
  return wrk.format("GET", queries[next_query])
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    "RESULT p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  %.0f req/s  %d requests  %d errors (status %d, timeout %d)\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests / seconds, summary.requests,
    errors.connect + errors.read + errors.write + errors.status + errors.timeout, errors.status, errors.timeout))
end
