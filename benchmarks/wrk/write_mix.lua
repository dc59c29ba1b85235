-- The write mix: buyers adding to their cart, checking out and paying, each POST with an
-- Idempotency-Key, as a client that retries would send it.
--
-- wrk runs one Lua state per thread and does not say which connection a callback is for, so the
-- harness runs this load with as many threads as connections: each thread is one connection and
-- one buyer (its bearer token in data.write_mix.buyers, one per connection), and plays the cycle
--
--   POST /v1/cart/items (one offer of each store in data.write_mix.offers)
--   POST /v1/checkout   (one order per store, R3.2)
--   POST /v1/orders/{id}/payments {"method": "card"} for each order placed
--
-- over and over. A request is built from the state and the state moves only on its response, so a
-- request that wrk sends again after a reconnect is the same request with the same key. Every
-- response is counted by step and status ("pay 201"); a step that is refused is counted and the
-- cycle moves on (a refused checkout leaves the cart full: the next cycle adds to it).
--
-- With data.write_mix.bare_path set (the bare FastAPI yardstick) every request is the cart
-- addition's POST, with its body and a key, sent to that path; responses are counted the same way.

local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
local mix = common.data().write_mix
local run = os.getenv("OG_BENCH_RUN") or "run"

local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_number", thread_count)
   common.setup(thread)
end

done = common.done

-- Per thread (each thread's Lua state has its own copy of these).
counts = {}
-- Until `init` runs (wrk also calls `request` once in its main state, to check the request).
local auth, prefix = "Bearer -", run .. "-0-"
local step = "add"   -- add, checkout or pay
local item = 1       -- the offer to add next
local placed = {}    -- order ids of the last checkout, to pay
local paying = 1     -- index into `placed`
local cycle = 1

local function count(what)
   counts[what] = (counts[what] or 0) + 1
end

function init(args)
   local buyer = mix.buyers[thread_number]
   if not buyer then
      error(string.format("thread %d has no buyer: run with as many threads as connections (%d buyers)",
         thread_number, #mix.buyers))
   end
   auth = "Bearer " .. buyer
   prefix = run .. "-" .. thread_number .. "-"
end

local function post(path, key, body)
   return wrk.format("POST", path, {
      ["Authorization"] = auth,
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
      ["Idempotency-Key"] = prefix .. key,
   }, body)
end

local function add_body()
   return '{"offer_id":"' .. mix.offers[item] .. '","quantity":1}'
end

function request()
   if mix.bare_path then
      return post(mix.bare_path, cycle .. "-add-" .. item, add_body())
   end
   if step == "add" then
      return post("/v1/cart/items", cycle .. "-add-" .. item, add_body())
   elseif step == "checkout" then
      return post("/v1/checkout", cycle .. "-checkout", mix.checkout_body)
   else
      local order = placed[paying]
      return post("/v1/orders/" .. order .. "/payments", "pay-" .. order, '{"method":"card"}')
   end
end

local function next_cycle()
   cycle = cycle + 1
   step, item, placed, paying = "add", 1, {}, 1
end

function response(status, headers, body)
   if mix.bare_path then
      count("bare " .. status)
      cycle = cycle + 1
      return
   end
   count(step .. " " .. status)
   if step == "add" then
      item = item + 1
      if item > #mix.offers then
         step = "checkout"
      end
   elseif step == "checkout" then
      placed = {}
      if status == 201 then
         for id in body:gmatch('"id":%s*"(ord_[%w]+)"') do
            table.insert(placed, id)
         end
      end
      if #placed > 0 then
         step, paying = "pay", 1
      else
         next_cycle()
      end
   else
      paying = paying + 1
      if paying > #placed then
         next_cycle()
      end
   end
end
