#!/usr/bin/env bash
# The gate case: wrk on Linux against node.exe under Wine serving http and
# https (bench/wine-gate.js): node.exe's plain http(s).Server against the same
# server behind the native provider's conditional accept, on the hand-off
# data path (libuv: Node's own TCP handle) and the addon's own (addon), with
# keep-alive and with a connection per request (Connection: close).
# Modes alternate within each round; medians of the rounds are reported, and
# each gate's ratio to plain. node.exe and wineserver are pinned to one CPU,
# wrk to the other (Wine on 2 vCPUs swings with scheduling: compare only
# within one run).
#
#   npm run build:win-cross && npm run build:test && bash scripts/bench-wine-gate.sh
# Env: BENCH_GATE_ROUNDS (3), BENCH_GATE_SECONDS (5), BENCH_GATE_CONNECTIONS (16),
#      BENCH_GATE_PROTOS (http,https), BENCH_GATE_MODES (plain,libuv,addon),
#      BENCH_CPUS (0: node.exe's CPU; wrk gets the next; "" = no pinning).
# Output: a table on stdout; raw wrk output in .cache/bench-wine-gate/run-*/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The benchmarks' own prefix: its wineserver starts pinned with node.exe,
# and stopping a server never touches another Wine user's processes.
export WINEPREFIX="${WINEPREFIX:-$root/.cache/wineprefix-bench}"
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh
wine_setup
command -v wrk >/dev/null || apt_install wrk
[ -f prebuilds/win32-x64/node.napi.node ] || bash scripts/build-win-cross.sh
[ -f out/lib/index.js ] || npx tsc -p tsconfig.test.json

rounds="${BENCH_GATE_ROUNDS:-3}"
seconds="${BENCH_GATE_SECONDS:-5}"
conns="${BENCH_GATE_CONNECTIONS:-16}"
IFS=, read -r -a protos <<<"${BENCH_GATE_PROTOS:-http,https}"
IFS=, read -r -a modes <<<"${BENCH_GATE_MODES:-plain,libuv,addon}"
cpus="${BENCH_CPUS-0}"
pin=()
wrk_pin=()
if [ -n "$cpus" ] && command -v taskset >/dev/null; then
  pin=(taskset -c "$cpus")
  ncpu=$(nproc)
  if [ "$ncpu" -gt 1 ]; then wrk_pin=(taskset -c "$(( (${cpus%%[,-]*} + 1) % ncpu ))"); fi
fi
results="$root/.cache/bench-wine-gate/run-$(date +%Y%m%dT%H%M%S)-$$"
mkdir -p "$results"

server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# start_server <mode> <proto> <tag>: node.exe serving; sets port.
start_server() {
  local mode="$1" proto="$2" tag="$3" data=""
  [ "$mode" = addon ] && data=addon
  [ "$mode" = libuv ] && data=libuv
  rm -f "$results/$tag.port"
  PREBUILDS_ONLY=1 WINSOCK2_NATIVE_DATA="$data" "${pin[@]}" wine "$NODE_EXE" bench/wine-gate.js "$mode" "$proto" "Z:$results/$tag.port" \
    </dev/null >"$results/$tag.stdout" 2>"$results/$tag.stderr" &
  server_pid=$!
  local waited=0
  until [ -s "$results/$tag.port" ]; do
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -gt 300 ] || ! kill -0 "$server_pid" 2>/dev/null; then
      echo "bench-wine-gate: the $mode $proto server did not start:" >&2
      cat "$results/$tag.stderr" >&2
      return 1
    fi
  done
  port="$(cat "$results/$tag.port")"
}

# One wrk run; prints requests/s (0 when wrk reports errors beyond a few).
measure() {
  local url="$1" close="$2" tag="$3" args=(-t1 -c"$conns" -d"${seconds}s" --latency)
  [ "$close" = 1 ] && args+=(-H 'Connection: close')
  "${wrk_pin[@]}" wrk -t1 -c"$conns" -d1s "${args[@]:3}" "$url" >/dev/null 2>&1 || true  # warm-up
  "${wrk_pin[@]}" wrk "${args[@]}" "$url" >"$results/$tag.wrk" 2>&1 || true
  awk '/^Requests\/sec:/ { print $2 }' "$results/$tag.wrk"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A samples
for proto in "${protos[@]}"; do
  for close in 0 1; do
    for ((r = 1; r <= rounds; r++)); do
      # Rotate the order each round: no mode always runs first or last.
      n=${#modes[@]}
      for ((i = 0; i < n; i++)); do
        mode="${modes[$(( (i + r) % n ))]}"
        tag="$proto-close$close-$mode-r$r"
        start_server "$mode" "$proto" "$tag"
        rps="$(measure "$proto://127.0.0.1:$port/" "$close" "$tag")"
        stop_server
        samples["$proto,$close,$mode"]+="${rps:-0} "
      done
    done
  done
done

printf '%-6s %-22s %-7s %12s %8s   %s\n' proto connections mode 'req/s (med)' '÷ plain' 'rounds'
for proto in "${protos[@]}"; do
  for close in 0 1; do
    label="keep-alive"
    [ "$close" = 1 ] && label="one per request"
    base="$(tr ' ' '\n' <<<"${samples["$proto,$close,plain"]:-}" | grep . | median)"
    for mode in "${modes[@]}"; do
      med="$(tr ' ' '\n' <<<"${samples["$proto,$close,$mode"]}" | grep . | median)"
      ratio="-"
      if [ "$mode" != plain ] && awk -v b="$base" 'BEGIN { exit !(b > 0) }'; then ratio="$(awk -v m="$med" -v b="$base" 'BEGIN { printf "%.2f", m / b }')"; fi
      printf '%-6s %-22s %-7s %12.0f %8s   %s\n' "$proto" "$label" "$mode" "$med" "$ratio" "${samples["$proto,$close,$mode"]}"
    done
  done
done
echo "bench-wine-gate: raw output in $results ($rounds rounds x ${seconds}s, $conns connections, wrk -t1)" >&2
