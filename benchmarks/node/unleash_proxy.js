// The Unleash proxy serving a fixed set of toggles from its bootstrap (no Unleash server is reachable).
// Usage: node unleash_proxy.js <port> <client key> <bootstrap.json>
'use strict';
const fs = require('fs');
const { createApp } = require('@unleash/proxy');

const [port, key, bootstrap] = process.argv.slice(2);
const app = createApp({
  unleashUrl: 'http://127.0.0.1:9/api/',
  unleashApiToken: 'offline',
  clientKeys: [key],
  refreshInterval: 3600000,
  metricsInterval: 3600000,
  logLevel: 'error',
  expBootstrap: { data: JSON.parse(fs.readFileSync(bootstrap, 'utf8')).features },
});
app.listen(Number(port), '127.0.0.1');
