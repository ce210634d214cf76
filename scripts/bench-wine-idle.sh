#!/usr/bin/env bash
# Idle connections under Wine: resident memory per accepted connection of
# the native provider vs node.exe's own net (bench/wine-idle.js; the peer,
# bench/idle-peer.js, is Linux node so one process need not hold both ends).
# One process per implementation, alternating; prints a JSON line last.
#   bash scripts/bench-wine-idle.sh
# Env: BENCH_IDLE_CONNECTIONS (10000), BENCH_IDLE_PAIRS (1), BENCH_CPUS (0).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export WINEPREFIX="${WINEPREFIX:-$root/.cache/wineprefix-bench}"
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh
wine_setup
[ -f prebuilds/win32-x64/node.napi.node ] || bash scripts/build-win-cross.sh
[ -f out/lib/index.js ] || npx tsc -p tsconfig.test.json

n="${BENCH_IDLE_CONNECTIONS:-10000}"
pairs="${BENCH_IDLE_PAIRS:-1}"
cpus="${BENCH_CPUS-0}"
pin=()
if [ -n "$cpus" ] && command -v taskset >/dev/null; then pin=(taskset -c "$cpus"); fi
results="$root/.cache/bench-wine-idle/run-$(date +%Y%m%dT%H%M%S)-$$"
mkdir -p "$results"

run() {  # run <impl> <i>
  local dir="$results/$1-$2"
  mkdir -p "$dir"
  node bench/idle-peer.js "$1" "$n" "$dir" & local peer=$!
  local rc=0
  PREBUILDS_ONLY=1 timeout -k 10 900 "${pin[@]}" wine "$NODE_EXE" --expose-gc --max-semi-space-size=1 bench/wine-idle.js "$1" "$n" "$dir" \
    </dev/null >"$dir/stdout.txt" 2>"$dir/stderr.txt" || rc=$?
  wait "$peer" || rc=1
  cat "$dir/stderr.txt" >&2
  if [ "$rc" -ne 0 ] || [ ! -f "$dir/result-$1.json" ]; then
    echo "bench-wine-idle: $1 run $2 failed ($rc)" >&2
    return 1
  fi
}

for i in $(seq 1 "$pairs"); do
  if [ $((i % 2)) -eq 1 ]; then run native "$i"; run net "$i"; else run net "$i"; run native "$i"; fi
done
node bench/wine-idle-summary.js "$results"
