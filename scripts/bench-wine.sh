#!/usr/bin/env bash
# npm run bench:wine: the providers under Wine against node.exe's own net,
# in one process each, pinned to one CPU (node.exe and wineserver; Wine on
# 2 vCPUs swings 3-7x with scheduling: compare only within one setting).
#
#   native:   bench/wine-native.js via scripts/bench-wine-native.sh
#             (bulk 256 MiB one way; accept rate with a JS condition)
#   idle:     idle connections' resident memory, native vs net (10,000 by
#             default), via scripts/bench-wine-idle.sh (bench/wine-idle.js)
#   framed: the bench harness (out-bench/run.js) under Wine, same cases
#             (bulk; conn-seq = connect -> JS condition -> accept -> close)
#
# Reuses scripts/wine-env.sh (Debian packages, the node.exe cache in .cache/,
# the Windows 10 prefix) in the benchmarks' own prefix, .cache/wineprefix-bench
# (as bench-wine-native.sh), so its wineserver starts pinned with node.exe and
# other Wine runs are not disturbed.
# node.exe's stdout/stderr go to files (pipes give EBADF under Wine); the
# files are printed afterwards. Results: bench/results/wine-<timestamp>.json.
#
# Env: BENCH_WINE_PROVIDERS (native,idle,emulated,framed), BENCH_PAIRS (5),
#      BENCH_IDLE_CONNECTIONS (10000), BENCH_IDLE_PAIRS (1),
#      BENCH_CPUS (0; "" = no pinning), BENCH_ARGS (extra harness arguments),
#      BENCH_WINE_TIMEOUT (seconds per provider, 900).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export WINEPREFIX="${WINEPREFIX:-$root/.cache/wineprefix-bench}"
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh
wine_setup

npm run build --silent
npm run build:bench --silent

providers="${BENCH_WINE_PROVIDERS:-native,idle,emulated,framed}"
pairs="${BENCH_PAIRS:-5}"
export BENCH_PAIRS="$pairs"
cpus="${BENCH_CPUS-0}"
export BENCH_CPUS="$cpus"
pin=()
if [ -n "$cpus" ] && command -v taskset >/dev/null; then pin=(taskset -c "$cpus"); fi

stamp="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
work="$root/.cache/bench-wine-harness"
mkdir -p "$work" bench/results
native_json=""
idle_json=""
framed_json=""
status=0

if [[ ",$providers," == *",native,"* ]]; then
  echo "== bench:wine native (bench/wine-native.js, pinned to CPU ${cpus:-none})" >&2
  # wine-native.js loads out/lib when it exists: bring it up to date (best effort).
  npx tsc -p tsconfig.test.json >/dev/null 2>&1 || echo "bench:wine: could not rebuild out/ (tsconfig.test.json); using what is there" >&2
  # Its output (it prints node.exe's stdout file) is kept here; a JSON line last holds the figures.
  native_out="$work/native-$stamp.txt"
  # A hung run must not hang bench:wine: timeout kills the whole process group, node.exe included.
  if { [ -f prebuilds/win32-x64/node.napi.node ] || bash scripts/build-win-cross.sh; } \
     && timeout -k 10 "${BENCH_WINE_TIMEOUT:-900}" bash scripts/bench-wine-native.sh | tee "$native_out"; then
    native_json="$native_out"
  else
    status=1
    if grep -q '^{' "$native_out" 2>/dev/null; then
      # Its figures were printed before it failed (e.g. an error after the last run): keep them, say so.
      echo "bench:wine: the native run exited non-zero after printing its results (stderr above); they are kept" >&2
      native_json="$native_out"
    else
      echo "bench:wine: the native provider did not run (see above); continuing with framed" >&2
    fi
  fi
fi

if [[ ",$providers," == *",idle,"* ]]; then
  echo "== bench:wine idle connections (scripts/bench-wine-idle.sh, pinned to CPU ${cpus:-none})" >&2
  idle_out="$work/idle-$stamp.txt"
  if timeout -k 10 "${BENCH_WINE_TIMEOUT:-900}" bash scripts/bench-wine-idle.sh | tee "$idle_out"; then
    idle_json="$idle_out"
  else
    status=1
    echo "bench:wine: the idle-connections run failed (see above)" >&2
  fi
fi

if [[ ",$providers," == *",framed,"* ]]; then
  echo "== bench:wine framed (out-bench/run.js under Wine, pinned to CPU ${cpus:-none})" >&2
  # The prefix's wineserver is started by a pinned node.exe (it inherits the
  # affinity), here or in the native run just before.
  framed_json="$work/framed-$stamp.json"
  set +e
  # shellcheck disable=SC2086
  PREBUILDS_ONLY=1 timeout -k 10 "${BENCH_WINE_TIMEOUT:-900}" "${pin[@]}" wine "$NODE_EXE" out-bench/run.js --provider framed --cases bulk,conn-seq \
    --pairs "$pairs" --label "wine, pinned to CPU ${cpus:-none}" --out "$framed_json" ${BENCH_ARGS:-} \
    </dev/null >"$work/stdout.txt" 2>"$work/stderr.txt"
  rc=$?
  set -e
  cat "$work/stdout.txt"
  if [ "$rc" -ne 0 ]; then
    cat "$work/stderr.txt" >&2
    echo "bench:wine: the framed run exited with $rc" >&2
    status=1
    framed_json=""
  fi
fi

node out-bench/wine-summary.js --out "bench/results/wine-$stamp.json" --cpus "${cpus:-none}" \
  ${native_json:+--native "$native_json"} ${idle_json:+--idle "$idle_json"} ${framed_json:+--framed "$framed_json"}
exit "$status"
