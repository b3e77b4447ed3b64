#!/usr/bin/env bash
# Installs what a fresh machine lacks for the tests: npm packages, and the nats-server and redis-server
# binaries the test harness starts on free ports (from the OS packages when we may install them).
set -euo pipefail
cd "$(dirname "$0")/../.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Keelson needs Node.js >= 20.19, found " + process.versions.node); process.exit(1) }'

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

missing=()
for bin in nats-server redis-server; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || [ -x "/usr/bin/$bin" ] || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} from the OS packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing ${missing[*]}: install them first, e.g. 'sudo apt-get install ${missing[*]}' (Debian/Ubuntu) or 'brew install nats-server redis' (macOS)" >&2
    exit 1
  fi
fi

# The dashboard's e2e test drives a real headless Chromium (playwright-core never downloads a browser).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium from the OS packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
  else
    echo "missing /usr/bin/chromium (for the dashboard's e2e test): install it with 'sudo apt-get install -y --no-install-recommends chromium' (Debian/Ubuntu); the other tests run without it" >&2
  fi
fi

# deploy/observability is checked in a real Prometheus (e2e/src/prometheus.e2e-spec.ts: promtool and a server
# scraping the mesh). Debian's package enables a systemd unit; we only use the binaries, on free ports.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing prometheus (for promtool and the observability e2e test) from the OS packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
  else
    echo "missing prometheus/promtool (for deploy/observability's e2e test): install them with 'sudo apt-get install -y --no-install-recommends prometheus' (Debian/Ubuntu); the other tests run without them" >&2
  fi
fi

# deploy/kubernetes is rendered with `kubectl kustomize` (offline) and every manifest validated by
# tools/kubernetes.spec.mjs; it needs kubectl 1.21+ (kustomize with components). Debian's own
# kubernetes-client is 1.20, too old: install `kubectl` from a repository that has it (pkgs.k8s.io).
if ! command -v kubectl >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "installing kubectl (for tools/kubernetes.spec.mjs) from the OS packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl
  else
    echo "missing kubectl (deploy/kubernetes is rendered and validated with it; that test is skipped without it): install kubectl 1.21+ with 'sudo apt-get install -y --no-install-recommends kubectl' after adding https://pkgs.k8s.io/core:/stable:/v1.32/deb/ (see https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/), or 'brew install kubectl' (macOS); the other tests run without it" >&2
  fi
fi
