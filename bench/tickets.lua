-- wrk script: each request files a new, valid ticket. Tickets spread over ORDERS orders x 100 product
-- lines x 14 reasons, so that no two share (product, reason) and the grouping rule never answers 409.
local reasons = {"damaged", "commodity-item-missing", "cutting-milling-inadequate", "color", "dimensions",
  "other", "packing-slip-missing", "print-quality", "delayed", "wrong-quantity", "wrong-product", "missing",
  "dirty", "not-received"}
local key = os.getenv("BENCH_KEY")
local run = os.getenv("BENCH_RUN") or "r"
local counter = 0
local threads = {}
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
local spread = tonumber(os.getenv("BENCH_SPREAD") or "1")
local order_offset = tonumber(os.getenv("BENCH_ORDER_OFFSET") or "0")

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
end

request = function()
  -- Ticket n goes to one of `spread` orders in turn (1: all concurrent tickets on one order, which
  -- PostgreSQL's order-row lock serializes); within an order, each (product, reason) pair once.
  local n = counter * nthreads + tid
  counter = counter + 1
  local slot = n % spread
  local m = math.floor(n / spread)
  local reason = reasons[(m % 14) + 1]
  local product = math.floor(m / 14) % 100 + 1
  local order = math.floor(m / 1400) * spread + slot + 1 + order_offset
  local body = string.format(
    '{"order_id":"bench-order-%d","id":"%s-%d-%d","description":"Two banners arrived torn",' ..
    '"reason":"%s","suggested_solution":"rework","contact_email":"support@reseller.example",' ..
    '"products":[{"id":%d,"amount":1,"files":[{"uri":"https://93.184.215.14/photos/%d.jpg"}]}]}',
    order, run, tid, counter, reason, product, n)
  return wrk.format("POST", "/tickets", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key}, body)
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f non2xx=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
