#!/usr/bin/env bash
# `npm test`: everything a fresh clone needs, then type checks, lint with the boundary rules, unit,
# integration and end-to-end tests. Ends with the line `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
summaries=$(mktemp -d)
trap 'rm -rf "$summaries"' EXIT
checks_passed=0
checks_failed=0

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }
check() { # name, command...: a whole-repo check counted as one test
  local name=$1; shift
  step "$name"
  if "$@"; then checks_passed=$((checks_passed + 1)); else checks_failed=$((checks_failed + 1)); echo "FAILED: $name"; fi
}

step "dependencies"
bash tools/scripts/ensure-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

check "type check and build (tsc -b)" npx tsc -b tsconfig.json
check "lint with module boundaries (eslint)" bash -c 'npx nx show projects >/dev/null && npx eslint . --max-warnings 0'

built=1
[ "$checks_failed" -eq 0 ] || built=0
kinds=(unit int e2e)
if [ "$built" -eq 1 ]; then
  for kind in "${kinds[@]}"; do
    step "$kind tests"
    node tools/scripts/run-tests.mjs --kind "$kind" --summary-file "$summaries/$kind.json"
  done
  step "tools tests"
  node tools/scripts/run-tests.mjs --tools --summary-file "$summaries/tools.json"
else
  echo "skipping the test runs: the build or lint failed"
fi

total=$(node -e '
  const fs = require("fs"); const dir = process.argv[1];
  let p = Number(process.argv[2]), f = Number(process.argv[3]), s = 0;
  for (const name of fs.readdirSync(dir)) {
    const r = JSON.parse(fs.readFileSync(dir + "/" + name, "utf8"));
    p += r.passed; f += r.failed; s += r.skipped;
  }
  // The last line is exactly `N passed, N failed`, which CI reads; skipped tests (a server that cannot run
  // here, each saying why) are reported on the line before it.
  if (s) console.log(`${s} skipped (see the skip reasons above)`);
  console.log(`${p} passed, ${f} failed`);
' "$summaries" "$checks_passed" "$checks_failed")
echo
echo "$total"
case "$total" in *" 0 failed"*) exit 0 ;; *) exit 1 ;; esac
