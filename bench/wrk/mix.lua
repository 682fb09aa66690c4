-- wrk script: a realistic mix of many users' requests, mostly cached reads, some writes.
-- Usage: wrk ... -s mix.lua URL -- TOKENS_FILE MAX_SIGNAL_ID
-- TOKENS_FILE holds one access token per line (one per seeded user).
local tokens = {}
local max_signal = 1
local confidences = {"0", "0.5", "0.7", "0.85"}

function init(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
  max_signal = tonumber(args[2])
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

local function get(path, token)
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

function request()
  local token = tokens[math.random(#tokens)]
  local r = math.random(100)
  if r <= 50 then
    return get("/api/signals/subscribed?min_confidence=" .. confidences[math.random(#confidences)], token)
  elseif r <= 65 then
    return get("/api/auth/me", token)
  elseif r <= 75 then
    return get("/api/users/profile", token)
  elseif r <= 85 then
    return get("/api/notifications?unread=true&limit=20", token)
  elseif r <= 90 then
    return get("/api/signals/" .. math.random(max_signal), token)
  elseif r <= 95 then
    return wrk.format("PATCH", "/api/users/profile",
      {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"},
      '{"full_name":"Load Test ' .. math.random(1000) .. '"}')
  elseif r <= 98 then
    return wrk.format("POST", "/api/notifications/read-all", {["Authorization"] = "Bearer " .. token})
  else
    return wrk.format("GET", "/api/subscriptions/plans")
  end
end

-- 404 on /api/signals/{id} is a correct answer (inactive or above the tier): count
-- only 5xx and 429 as errors, and print them for the harness as "mix errors: N".
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

errors = 0
function response(status, headers, body)
  if status >= 500 or status == 429 then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("errors")
  end
  io.write(string.format("mix errors: %d\n", total))
end
