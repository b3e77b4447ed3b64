// The node flags every service runs with in production. The runtime image's exec-form CMD in
// deploy/docker/Dockerfile is the one place they are written (Kubernetes and compose use that CMD); the dev
// stack (`npm start`) and `npm run bench:memory` read them from there, so what runs locally and what is
// measured is what production runs. docs/benchmarks.md "Memory at rest" says what each flag saves and costs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ENTRY = '/app/service/dist/main.js';

/** The flags before the entry script in the Dockerfile's CMD, e.g. ['--max-semi-space-size=1']. */
export function serviceNodeFlags(root) {
  const dockerfile = readFileSync(join(root, 'deploy', 'docker', 'Dockerfile'), 'utf8');
  const cmd = dockerfile.match(/^CMD (\[.*\])\s*$/m);
  if (!cmd) throw new Error('deploy/docker/Dockerfile has no exec-form CMD line');
  const args = JSON.parse(cmd[1]);
  if (args.at(-1) !== ENTRY || !args.slice(0, -1).every((a) => a.startsWith('--'))) {
    throw new Error(`deploy/docker/Dockerfile CMD should be node flags followed by ${ENTRY}, got ${cmd[1]}`);
  }
  return args.slice(0, -1);
}
