import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findRepoRoot } from '@keelson/testing';

const SERVICES = ['gateway', 'session-agent', 'task-worker', 'memory-service', 'audit-service', 'guard-service'];
const OPENAI_KEY = 'sk-proj-Zq3xV9tLmN2pR7sK4wY8bC1dF6gH0jT5';
const REDIS_PASSWORD = 'hunter2-redis-pw';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a service's real entry (apps/<name>/dist/main.js) as production runs it, with `env` over a clean
 * environment (not the test runner's, which could hold the machine's own tokens). Nothing it could reach
 * listens (NATS and Redis on port 1), so a service that passed the check fails later on its own.
 */
function runEntry(name: string, env: Record<string, string>, options: { killOn?: RegExp } = {}): Promise<Run> {
  const root = findRepoRoot();
  const child = spawn(process.execPath, [join(root, 'apps', name, 'dist', 'main.js')], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', NATS_URL: 'nats://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1', HEALTH_PORT: '0', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const check = (): void => {
    if (options.killOn?.test(stdout + stderr)) child.kill('SIGKILL');
  };
  child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), check()));
  child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), check()));
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('the start-up secrets check (every service)', () => {
  for (const name of SERVICES) {
    it(`${name}: in production, OPENAI_API_KEY and a Redis URL with a password in the environment stop it, named, values never shown`, async () => {
      const run = await runEntry(name, { NODE_ENV: 'production', OPENAI_API_KEY: OPENAI_KEY, REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:1` });
      const output = run.stdout + run.stderr;
      assert.equal(run.code, 1, `expected exit code 1, got ${run.code}; output:\n${output}`);
      assert.match(run.stderr, new RegExp(`^${name} did not start: Invalid configuration: secrets must come from the secrets layer`, 'm'));
      assert.match(run.stderr, /- OPENAI_API_KEY: its name says it holds a secret: mount it and set OPENAI_API_KEY_FILE/);
      assert.match(run.stderr, /- REDIS_URL: a URL with a password in it/);
      assert.ok(!output.includes(OPENAI_KEY) && !output.includes('sk-proj'), `the key's value leaked:\n${output}`);
      assert.ok(!output.includes(REDIS_PASSWORD), `the Redis password leaked:\n${output}`);
    });
  }

  it('KEELSON_ENV=production counts as production too; a key-shaped value is caught whatever its name', async () => {
    const run = await runEntry('task-worker', { KEELSON_ENV: 'production', UPSTREAM_HEADER: `Bearer ${OPENAI_KEY}` });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /- UPSTREAM_HEADER: its value looks like an OpenAI\/Anthropic-style API key/);
    assert.ok(!run.stderr.includes(OPENAI_KEY));
  });

  it("in production, Keelson's own pointer settings (_FILE, _REF, NATS_URL and REDIS_URL without a password, OTEL_*) pass the check", async () => {
    const run = await runEntry('task-worker', {
      NODE_ENV: 'production',
      OPENAI_API_KEY_FILE: '/run/secrets/openai_api_key',
      ANTHROPIC_API_KEY_REF: 'vault:kv/data/keelson/anthropic#api_key',
      NATS_PASSWORD_FILE: '/run/secrets/nats_password',
      NATS_USER: 'task-worker',
      VAULT_TOKEN_FILE: '/vault/token',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      SERVICE_NAME: 'task-worker-1',
    });
    // It gets past the check and fails later on its own (the key file does not exist here).
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^task-worker did not start: /m);
    assert.doesNotMatch(run.stderr, /secrets must come from the secrets layer/);
  });

  it('outside production it starts anyway and warns once per variable, by name only', async () => {
    const run = await runEntry('task-worker', { OPENAI_API_KEY: OPENAI_KEY }, { killOn: /did not start|listening/ });
    const warnings = run.stderr.split('\n').filter((line) => line.includes('OPENAI_API_KEY carries a secret'));
    assert.equal(warnings.length, 1, `expected one warning, got:\n${run.stderr}`);
    assert.equal(JSON.parse(warnings[0]!).level, 'warn');
    assert.ok(!(run.stdout + run.stderr).includes(OPENAI_KEY), 'the value leaked');
  });
});
