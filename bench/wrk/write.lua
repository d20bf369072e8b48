-- Audited writes (bench/writes.py): one scenario per run, every request a real change.
-- Usage: wrk -s write.lua <base url> -- <scenario> <customers file> <authorization> <salt> [extra]
--   customers file: one "id mobile" line per customer;
--   salt: an integer unique to the run, in every value written (no run repeats one);
--   extra: scenario-specific (status: "LABEL_A,LABEL_B"; subscriptions: a channel;
--          card-issue: a series id; card-update: "LABEL_A,LABEL_B").
-- Each wrk thread writes only its own share of the customers (ids taken in turn), so
-- that it knows their current state: a status or a subscription it sets always differs
-- from the one before (every request is a change that is audited).
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

local scenario, auth, salt, extra
local ids, mobiles = {}, {}
local counter = 0
local state = {}
local labels = {}

function init(args)
  scenario = args[1]
  auth = args[3]
  salt = tonumber(args[4])
  extra = args[5] or ""
  local n, nthreads = 0, tonumber(args[6] or "2")
  for line in io.lines(args[2]) do
    local id, mobile = line:match("^(%S+)%s+(%S+)$")
    if (n % nthreads) == (tid - 1) then
      ids[#ids + 1] = id
      mobiles[#mobiles + 1] = mobile
    end
    n = n + 1
  end
  for label in extra:gmatch("[^,]+") do
    labels[#labels + 1] = label
  end
end

local json_headers = {}

local function headers()
  if json_headers["Content-Type"] == nil then
    json_headers["Content-Type"] = "application/json"
    if auth ~= nil and auth ~= "" then
      json_headers["Authorization"] = auth
    end
  end
  return json_headers
end

-- The next of the thread's customers (index into ids), and the value that makes it
-- unique in this run.
local function next_customer()
  counter = counter + 1
  return (counter % #ids) + 1, string.format("%d_%d_%d", salt, tid, counter)
end

-- Two labels, alternating per customer: the first request of a customer sets the
-- second label (the harness resets every customer to the first before the run).
local function toggled(i)
  local current = state[i] or 1
  local nxt = 3 - current
  state[i] = nxt
  return labels[nxt]
end

function request()
  local i, unique = next_customer()
  local id = ids[i]
  if scenario == "update" then
    return wrk.format("PUT", "/v2/customers/" .. id, headers(),
      '{"profiles":[{"lastName":"S' .. unique .. '"}]}')
  elseif scenario == "peer-update" then
    return wrk.format("PUT", "/v2/customers/" .. id, headers(),
      '{"last_name":"S' .. unique .. '"}')
  elseif scenario == "register" or scenario == "peer-register" then
    -- 9, the salt (2 digits), the thread, 8 digits of the counter: 12 digits
    local mobile = string.format("9%02d%d%08d", salt % 100, tid, counter)
    if scenario == "register" then
      return wrk.format("POST", "/v2/customers", headers(),
        '{"profiles":[{"firstName":"New","lastName":"Customer","identifiers":' ..
        '[{"type":"mobile","value":"' .. mobile .. '"}]}]}')
    end
    return wrk.format("POST", "/v2/customers", headers(),
      '{"mobile":"' .. mobile .. '","first_name":"New","last_name":"Customer"}')
  elseif scenario == "change-identifier" then
    return wrk.format("POST", "/v2/customers/" .. id .. "/changeIdentifier", headers(),
      '{"add":[{"type":"email","value":"e' .. unique .. '@bench.example"}]}')
  elseif scenario == "status" then
    return wrk.format("PUT",
      "/v2/customers/lookup/status?identifierName=mobile&identifierValue=" .. mobiles[i],
      headers(), '{"reason":"bench","label":"' .. toggled(i) .. '"}')
  elseif scenario == "subscriptions" then
    local kind = (state[i] == "OPTIN") and "OPTOUT" or "OPTIN"
    state[i] = kind
    return wrk.format("POST", "/v2/customers/" .. id .. "/subscriptions", headers(),
      '{"subscriptions":[{"channel":"' .. extra .. '","priority":"BULK","type":"' ..
      kind .. '"}]}')
  elseif scenario == "card-issue" then
    return wrk.format("POST", "/v2/card", headers(),
      '{"cardNumber":"C' .. unique .. '","seriesId":' .. extra ..
      ',"customerId":' .. id .. '}')
  elseif scenario == "card-update" then
    return wrk.format("PUT", "/v2/card", headers(),
      '{"cardNumber":"K' .. id .. '","statusLabel":"' .. toggled(i) .. '"}')
  end
  error("unknown scenario " .. tostring(scenario))
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
