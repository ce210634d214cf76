#!/usr/bin/env bash
# npm run soak:wine: the soak (test/soak/main.ts) on the native provider, with
# Windows node.exe under Wine (Wine's real ws2_32). TCP/IP carries no connect
# or disconnect data, so the soak runs in band (see main.ts). Not part of CI.
#
#   npm run soak:wine
#   SOAK_CONNECTIONS=50000 SOAK_SEED=7 npm run soak:wine
# Env: the soak's (SOAK_CONNECTIONS 20000 here, SOAK_CONCURRENCY, SOAK_MAX_PAYLOAD,
#      SOAK_*_RATE, SOAK_SEED); SOAK_WINE_TIMEOUT (seconds, 1800).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh
wine_setup
[ -f prebuilds/win32-x64/node.napi.node ] || bash scripts/build-win-cross.sh
npx tsc -p tsconfig.test.json

results="$root/.cache/soak-wine/run-$(date +%Y%m%dT%H%M%S)-$$"
mkdir -p "$results"
set +e
# node.exe's stdout/stderr must be files under Wine (pipes give EBADF).
SOAK_PROVIDER=native SOAK_CONNECTIONS="${SOAK_CONNECTIONS:-20000}" PREBUILDS_ONLY=1 \
  timeout -k 10 "${SOAK_WINE_TIMEOUT:-1800}" wine "$NODE_EXE" out/test/soak/main.js \
  </dev/null >"$results/stdout.txt" 2>"$results/stderr.txt"
status=$?
set -e
# The progress line uses \r: keep its last state only.
tr '\r' '\n' <"$results/stdout.txt" | grep -v '^[0-9]*/[0-9]* connections' || true
cat "$results/stderr.txt" >&2
echo "soak:wine: exited with $status (output in $results)" >&2
exit "$status"
