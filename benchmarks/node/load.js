// One load generator for every benchmark, so Mamori and its peers are driven by the same client.
// Usage: node load.js '<json spec>'  ->  prints one JSON line of results.
// spec: {url, method, headers, body, vary, connections, seconds, rate}
//   vary: a string in `body` replaced by a counter on every request (a new user or a new alert each time)
//   now: a string in `body` replaced by the send time in epoch milliseconds (to time what follows)
//   rate: requests per second over all connections (omit for as fast as possible)
'use strict';
const autocannon = require('autocannon');

const spec = JSON.parse(process.argv[2]);
let counter = 0;
const request = { method: spec.method || 'GET', headers: spec.headers || {} };
if (spec.body !== undefined) {
  request.setupRequest = (req) => {
    counter += 1;
    let body = spec.vary ? spec.body.split(spec.vary).join(String(counter)) : spec.body;
    if (spec.now) body = body.split(spec.now).join(String(Date.now()));
    return { ...req, body };
  };
}
const options = {
  url: spec.url,
  connections: spec.connections || 1,
  duration: spec.seconds || 5,
  requests: [request],
};
if (spec.rate) options.overallRate = spec.rate;
autocannon(options, (err, result) => {
  if (err) {
    console.error(String(err));
    process.exit(1);
  }
  const out = {
    requests: result.requests.total,
    seconds: result.duration,
    per_second: result.requests.total / result.duration,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
});
