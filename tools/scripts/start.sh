#!/usr/bin/env bash
# `npm start`: installs what is missing, then hands over to the dev-stack supervisor (tools/dev-stack/),
# which reuses or starts NATS and Redis, builds, runs the six services and prints the gateway URL and key.
# Arguments are passed through, e.g. `npm start -- --check`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

need="Node.js >= 20.19 is required (see https://nodejs.org, or use nvm / your OS packages)"
if ! command -v node >/dev/null 2>&1; then
  echo "[keelson] ${need}; 'node' is not on PATH." >&2
  exit 1
fi
# Compare numerically: several dependencies (mongoose 9 among them) need 20.19 or newer.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "[keelson] ${need}; this is $(node --version)." >&2
  exit 1
fi

# npm writes node_modules/.package-lock.json at the end of every install, so a lockfile newer than it
# (a pull, a branch switch) means node_modules is stale.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[keelson] installing npm dependencies (npm ci)…"
  npm ci
fi

exec node tools/dev-stack/main.mjs "$@"
