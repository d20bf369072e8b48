-- POST one body per request, taken in turn from a file (one JSON body per line).
-- Usage: wrk -s post.lua <url> -- <bodies file>
local bodies = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  counter = math.random(1, #bodies)
end

function request()
  counter = counter + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    bodies[(counter % #bodies) + 1])
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
