-- wrk script: POST /api/auth/login with a seeded account's credentials.
-- Usage: wrk ... -s login.lua URL -- EMAIL PASSWORD
local body
function init(args)
  body = string.format('{"email":"%s","password":"%s"}', args[1], args[2])
end
function request()
  return wrk.format("POST", "/api/auth/login", {["Content-Type"] = "application/json"}, body)
end
