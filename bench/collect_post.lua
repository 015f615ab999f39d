-- wrk script for the collector benchmark (bench/run.sh section 6): each request POSTs
-- BENCH_EVENTS_PER_POST NDJSON events with ids unique across threads and requests, so that
-- every event is accepted (not a duplicate) and lands.
local per_post = tonumber(os.getenv("BENCH_EVENTS_PER_POST") or "100")
local token = os.getenv("STRATA_COLLECT_TOKENS") or ""
local run = os.getenv("BENCH_RUN") or "r"
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/x-ndjson"
end

function request()
  counter = counter + 1
  local parts = {}
  -- thread_id is the global each thread gets from setup().
  local prefix = '{"event_id":"' .. run .. "-" .. thread_id .. "-" .. counter .. "-"
  for i = 1, per_post do
    parts[i] = prefix .. i .. '","event_type":"page_view","occurred_at":"2024-01-01T10:00:00Z","session_id":"s' ..
      (i % 97) .. '","url":"/products/' .. i .. '"}'
  end
  return wrk.format(nil, "/v1/events", nil, table.concat(parts, "\n"))
end

-- BENCH_DELAY_MS: each connection waits this long between requests, which bounds the offered
-- load (connections x events per post x 1000 / delay events/s) instead of saturating the CPU.
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end
