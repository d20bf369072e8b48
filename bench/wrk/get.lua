-- GET one path per request, taken in turn from a file (one path per line),
-- with the Authorization header given as the second argument.
-- Usage: wrk -s get.lua <base url> -- <paths file> <authorization header value>
local paths = {}
local counter = 0
local auth = nil

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  auth = args[2]
  counter = math.random(1, #paths)
end

function request()
  counter = counter + 1
  local headers = {}
  if auth ~= nil and auth ~= "" then
    headers["Authorization"] = auth
  end
  return wrk.format("GET", paths[(counter % #paths) + 1], headers)
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
