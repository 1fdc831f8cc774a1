-- wrk script for bench/scale-mcpool: cached metric reads, one user after
-- the other (BENCH_USERS users, ids 1..N, BENCH_PERIOD), each wrk thread
-- starting at its own offset, so the reads spread over every node's users.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local users = tonumber(os.getenv("BENCH_USERS") or "200")
local period = os.getenv("BENCH_PERIOD") or "2026-01"
local next_id = 0
setup = function(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end
local n = 0
request = function()
  local u = (n * 7 + (thread_id or 0) * 101) % users + 1
  n = n + 1
  return wrk.format("GET", "/api/v1/users/" .. u .. "/metrics/monthly_total?period=" .. period)
end
