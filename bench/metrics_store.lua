-- wrk script for bench/metrics: every request reads a different stored
-- metric (users x periods x types, in order; each wrk thread takes its own
-- slice), so no read hits memcached (flushed before the run).
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local periods = {}
for p in string.gmatch(os.getenv("BENCH_PERIODS") or "", "[^,]+") do periods[#periods + 1] = p end
local types = {"monthly_total", "category_breakdown", "mom_comparison", "trends_6m"}
local threads, next_id = 0, 0
setup = function(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end
local n = 0
request = function()
  local total = users * #periods * #types
  local k = (n * 2 + (thread_id or 0)) % total     -- bench/metrics runs wrk with 2 threads
  n = n + 1
  local t = types[k % #types + 1]
  local rest = math.floor(k / #types)
  local p = periods[rest % #periods + 1]
  local u = math.floor(rest / #periods) + 1
  return wrk.format("GET", "/api/v1/users/" .. u .. "/metrics/" .. t .. "?period=" .. p)
end
