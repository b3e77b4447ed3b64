import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApp } from './app';
import { freePort } from './free-port';

const SERVING_APP = `
const http = require('node:http');
const server = http.createServer((req, res) => { res.statusCode = req.url === '/ready' ? 200 : 404; res.end('ok'); });
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening on ' + process.env.PORT + ' as ' + process.env.GREETING));
process.on('SIGTERM', () => { console.error('shutting down'); server.close(() => process.exit(0)); });
`;

const CRASHING_APP = `
for (let i = 1; i <= 50; i++) console.log('line ' + i);
console.error('fatal: missing NATS_URL');
process.exit(3);
`;

describe('startApp', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keelson-app-spec-'));
    writeFileSync(join(dir, 'serving.js'), SERVING_APP);
    writeFileSync(join(dir, 'crashing.js'), CRASHING_APP);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('waits for the ready URL, passes env, captures logs, and stops with SIGTERM', async () => {
    const port = await freePort();
    const app = await startApp({
      name: 'fixture',
      entry: join(dir, 'serving.js'),
      env: { PORT: String(port), GREETING: 'hello' },
      readyUrl: `http://127.0.0.1:${port}/ready`,
    });
    assert.ok(app.pid > 0);
    assert.equal(await app.waitForLog(/listening on \d+ as hello/), `listening on ${port} as hello`);
    await app.stop();
    assert.equal(await app.exited, 0);
    assert.ok(app.logs().includes('shutting down'), `logs were: ${app.logs().join(' | ')}`);
  });

  it('rejects with the last 40 log lines when the app exits before it is ready', async () => {
    const port = await freePort();
    await assert.rejects(
      startApp({ name: 'fixture', entry: join(dir, 'crashing.js'), env: {}, readyUrl: `http://127.0.0.1:${port}/ready` }),
      (err: Error) => {
        assert.match(err.message, /exited \(code 3/);
        assert.match(err.message, /fatal: missing NATS_URL/);
        assert.match(err.message, /line 50/);
        assert.doesNotMatch(err.message, /line 10\n/, 'only the last 40 lines');
        return true;
      },
    );
  });

  it('waitForLog rejects when the app exits without printing the line', async () => {
    const app = await startApp({ name: 'fixture', entry: join(dir, 'crashing.js'), env: {} });
    await assert.rejects(app.waitForLog(/never printed/), /exited \(code 3.*before a log line matched/);
    assert.equal(await app.exited, 3);
  });

  it('kill() ends the app with SIGKILL', async () => {
    const port = await freePort();
    const app = await startApp({
      name: 'fixture',
      entry: join(dir, 'serving.js'),
      env: { PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}/ready`,
    });
    await app.kill();
    assert.equal(await app.exited, null);
  });

  it('explains a missing build', async () => {
    await assert.rejects(startApp({ name: 'no-such-app', env: {} }), /apps\/no-such-app\/dist\/main\.js does not exist; build first/);
  });
});
