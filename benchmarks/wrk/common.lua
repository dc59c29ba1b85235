-- Shared by the load scripts of benchmarks/http.py: the data file, status counts, the report.
--
-- The harness writes a Lua file that returns a table (tokens, paths, ids of the seeded
-- database) and names it in OG_BENCH_DATA; each script reads the part it needs. At the end
-- `done` prints one line, "OG_BENCH <json>", that the harness parses: requests, duration,
-- latency percentiles (milliseconds), wrk's error counts, and the status counts the script
-- kept (only scripts with a `response` callback keep them; wrk hands a response to Lua only
-- then, which costs the client time, so the read loads rely on wrk's own non-2xx count).

local M = {}

function M.data()
   local path = os.getenv("OG_BENCH_DATA")
   if not path then
      error("OG_BENCH_DATA is not set: run the loads through `python -m benchmarks.http`")
   end
   return dofile(path)
end

local function json_string(s)
   return '"' .. tostring(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local function json_counts(counts)
   local parts = {}
   for k, v in pairs(counts) do
      table.insert(parts, json_string(k) .. ":" .. tostring(v))
   end
   table.sort(parts)
   return "{" .. table.concat(parts, ",") .. "}"
end

-- Threads that registered here in `setup` are asked for their `counts` table in `done`.
M.threads = {}

function M.setup(thread)
   table.insert(M.threads, thread)
end

function M.done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(M.threads) do
      local kept = thread:get("counts")
      if kept then
         for k, v in pairs(kept) do
            counts[k] = (counts[k] or 0) + v
         end
      end
   end
   local e = summary.errors
   local ms = function(q) return latency:percentile(q) / 1000.0 end
   io.write(string.format(
      'OG_BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"p50_ms":%.3f,"p90_ms":%.3f,'
         .. '"p99_ms":%.3f,"max_ms":%.3f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
         .. '"status_errors":%d,"timeouts":%d,"counts":%s}\n',
      summary.requests, summary.duration, summary.bytes, ms(50), ms(90), ms(99), latency.max / 1000.0,
      e.connect, e.read, e.write, e.status, e.timeout, json_counts(counts)))
end

-- A read load: one GET of `load.path` with the load's bearer token, the same request every time
-- (wrk builds it once; no Lua runs per request).
function M.read(load)
   wrk.method = "GET"
   wrk.path = load.path
   wrk.headers["Authorization"] = "Bearer " .. load.token
   wrk.headers["Accept"] = "application/json"
   done = M.done
end

return M
