#!/usr/bin/env bash
# Native provider vs node.exe's own net, both under Wine in one process,
# pinned to one CPU (node.exe and wineserver: Wine on 2 vCPUs swings 3-7x
# with scheduling; compare only within one setting).
#   npm run build:win-cross && npm run build:test && bash scripts/bench-wine-native.sh
# Env: BENCH_PAIRS (5), BENCH_BULK_MIB (256), BENCH_ACCEPTS (1000),
#      BENCH_CASES (bulk,bulk-libuv,accept,accept-libuv; also bulk-handle,
#      accept-server, accept-client),
#      BENCH_CPUS (0; "" = no pinning).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# A prefix of its own: its wineserver starts with this run, under the same
# CPU pinning as node.exe (and other Wine users of .cache/ are not disturbed).
export WINEPREFIX="${WINEPREFIX:-$root/.cache/wineprefix-bench}"
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh
wine_setup
[ -f prebuilds/win32-x64/node.napi.node ] || bash scripts/build-win-cross.sh
[ -f out/lib/index.js ] || npx tsc -p tsconfig.test.json

cpus="${BENCH_CPUS-0}"
pin=()
if [ -n "$cpus" ] && command -v taskset >/dev/null; then pin=(taskset -c "$cpus"); fi
if pgrep -f "wineserver.*" -a 2>/dev/null | grep -q .; then
  echo "bench-wine-native: note: a wineserver is running; if it serves $WINEPREFIX it is not pinned" >&2
fi
results="$root/.cache/bench-wine/run-$(date +%Y%m%dT%H%M%S)-$$"  # one folder per run: runs may overlap
mkdir -p "$results"
set +e
PREBUILDS_ONLY=1 "${pin[@]}" wine "$NODE_EXE" bench/wine-native.js </dev/null >"$results/stdout.txt" 2>"$results/stderr.txt"
status=$?
set -e
cat "$results/stdout.txt"
cat "$results/stderr.txt" >&2
exit "$status"
