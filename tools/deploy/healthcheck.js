// The images' HEALTHCHECK (deploy/docker/Dockerfile): GET http://127.0.0.1:<port>/healthz, exit 0 on 200.
// No shell or curl in the distroless runtime, so node runs it: /nodejs/bin/node /app/healthcheck.js
// Port: HEALTH_PORT, else PORT (the gateway), else the service's default from SERVICE_NAME.
'use strict';
const http = require('node:http');

const DEFAULTS = { gateway: 8080, 'session-agent': 8081, 'task-worker': 8082, 'memory-service': 8083, 'audit-service': 8084, 'guard-service': 8085 };
const port = Number(process.env.HEALTH_PORT || process.env.PORT || DEFAULTS[process.env.SERVICE_NAME] || 0);
const path = process.argv[2] || '/healthz';
if (!port) {
  console.error('healthcheck: no port (set HEALTH_PORT, PORT or SERVICE_NAME)');
  process.exit(1);
}
const req = http.get({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (e) => {
  console.error(`healthcheck: ${path} on ${port}: ${e.message}`);
  process.exit(1);
});
