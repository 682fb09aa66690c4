-- wrk script: GET the URL's path with a query string no other request of the run sends,
-- so every request misses the response cache.
-- Usage: wrk -t1 ... -s distinct.lua URL -- PREFIX (a number of its own for each run)
local prefix, counter = "", 0
function init(args)
  prefix = args[1]
end
function request()
  counter = counter + 1
  local query = string.format("?min_confidence=0.%s%08d", prefix, counter)
  return wrk.format("GET", wrk.path .. query)
end
