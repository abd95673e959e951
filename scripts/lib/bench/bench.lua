-- bench.lua - the wrk script of scripts/bench. Sends the Authorization header
-- (BENCH_TOKEN), counts non-2xx responses per thread, and at the end prints
-- one line "BENCH_RESULT {json}" with the figures scripts/bench reads.
--
-- Environment:
--   BENCH_TOKEN        bearer token (none: no Authorization header)
--   BENCH_MIX          "1": the mixed case; otherwise the URL's path as given
--   BENCH_READS        mixed case: comma-separated GET paths (90% of requests)
--   BENCH_UPDATE_IDS   mixed case: update ids for POST /api/updates/{id}/read
--   BENCH_METRIC_IDS   mixed case: metric ids for PATCH /api/metrics/{id}
--   BENCH_WRITE_PCT    mixed case: percentage of writes (default 10)

local threads = {}
local counter = 0

-- Splits a comma-separated list.
local function split(s)
	local t = {}
	for item in string.gmatch(s or "", "[^,]+") do
		t[#t + 1] = item
	end
	return t
end

function setup(thread)
	counter = counter + 1
	thread:set("id", counter)
	threads[#threads + 1] = thread
end

local token = os.getenv("BENCH_TOKEN")
local mix = os.getenv("BENCH_MIX") == "1"
local reads, update_ids, metric_ids = {}, {}, {}
local write_pct = tonumber(os.getenv("BENCH_WRITE_PCT") or "10")
local get_headers = {}
local body_headers = { ["Content-Type"] = "application/json" }
local patch_body = '{"description":"bench"}'

non2xx = 0
writes = 0
statuses = ""

function init(args)
	if token and token ~= "" then
		wrk.headers["Authorization"] = "Bearer " .. token
		get_headers["Authorization"] = "Bearer " .. token
		body_headers["Authorization"] = "Bearer " .. token
	end
	if mix then
		reads = split(os.getenv("BENCH_READS"))
		update_ids = split(os.getenv("BENCH_UPDATE_IDS"))
		metric_ids = split(os.getenv("BENCH_METRIC_IDS"))
		math.randomseed(os.time() + (id or 0) * 7919)
	end
end

local seen = {}

function request()
	if not mix then
		return wrk.request()
	end
	local r = math.random(100)
	if r <= write_pct and #update_ids > 0 and #metric_ids > 0 then
		writes = writes + 1
		if r % 2 == 0 then
			local u = update_ids[math.random(#update_ids)]
			return wrk.format("POST", "/api/updates/" .. u .. "/read", body_headers, "")
		end
		local m = metric_ids[math.random(#metric_ids)]
		return wrk.format("PATCH", "/api/metrics/" .. m, body_headers, patch_body)
	end
	return wrk.format("GET", reads[math.random(#reads)], get_headers)
end

function response(status, headers, body)
	if status < 200 or status > 299 then
		non2xx = non2xx + 1
		if not seen[status] then
			seen[status] = true
			statuses = statuses .. status .. " "
		end
	end
end

function done(summary, latency, requests)
	local n, w, st, have = 0, 0, "", {}
	for _, t in ipairs(threads) do
		n = n + t:get("non2xx")
		w = w + t:get("writes")
		for code in string.gmatch(t:get("statuses"), "%d+") do
			if not have[code] then
				have[code] = true
				st = st .. (st == "" and "" or " ") .. code
			end
		end
	end
	local e = summary.errors
	local secs = summary.duration / 1e6
	io.write(string.format(
		'BENCH_RESULT {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
		'"non2xx":%d,"writes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"statuses":"%s"}\n',
		summary.requests, secs, summary.requests / secs,
		latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
		n, w, e.connect, e.read, e.write, e.status, e.timeout, st))
end
