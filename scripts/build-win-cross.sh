#!/usr/bin/env bash
# Cross-compiles the native addon for win32-x64 on Linux with mingw-w64 and
# writes it where node-gyp-build finds it, named as prebuildify 6 names a
# Node-API build: prebuilds/win32-x64/winsock2.node.
#
# Node-API is linked through a DELAY-LOAD import library made from
# node-api-headers' def/node_api.def (NAME NODE.EXE) plus a delay-load hook
# (native/delay_load_hook.cc) that resolves NODE.EXE to the host process, so
# the addon loads in electron.exe or a renamed node.exe too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

CXX=x86_64-w64-mingw32-g++-posix
DLLTOOL=x86_64-w64-mingw32-dlltool
OBJDUMP=x86_64-w64-mingw32-objdump

need_apt=()
command -v "$CXX" >/dev/null || need_apt+=(g++-mingw-w64-x86-64)
command -v "$DLLTOOL" >/dev/null || need_apt+=(binutils-mingw-w64-x86-64)
command -v x86_64-w64-mingw32-widl >/dev/null || need_apt+=(mingw-w64-tools)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "build-win-cross: installing ${need_apt[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}"
fi
if [ ! -f node_modules/node-api-headers/def/node_api.def ] || [ ! -f node_modules/node-addon-api/napi.h ]; then
  npm install --no-audit --no-fund
fi

napi_headers="$(node -p "require('node-api-headers').include_dir")"
addon_api="$(node -p "require('node-addon-api').include_dir")"
build=build/cross-win32-x64
out=prebuilds/win32-x64
mkdir -p "$build" "$out"

"$DLLTOOL" -d node_modules/node-api-headers/def/node_api.def -y "$build/libnode_api_delay.a"

flags=(
  -std=c++17 -O2 -g0 -shared -static
  -Wall -Wextra -Werror
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_CPP_EXCEPTIONS_ALL -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
  -DNODE_ADDON_API_DISABLE_DEPRECATED
  -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 -DUNICODE -D_UNICODE
  -isystem "$napi_headers" -isystem "$addon_api"
)
# Compile the sources in parallel, then link.
pids=(); objs=()
for src in native/*.cc; do
  obj="$build/$(basename "${src%.cc}").o"
  objs+=("$obj")
  "$CXX" "${flags[@]}" -c "$src" -o "$obj" & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ "$status" -eq 0 ] || { echo "build-win-cross: compile failed" >&2; exit 1; }
"$CXX" "${flags[@]}" "${objs[@]}" -o "$out/winsock2.node" \
  "$build/libnode_api_delay.a" -lws2_32 -Wl,--gc-sections -s

# Only system DLLs may be imported; NODE.EXE only through the delay-load table.
imports="$("$OBJDUMP" -p "$out/winsock2.node" | awk '/DLL Name:/ {print toupper($3)}' | sort -u)"
echo "build-win-cross: imports:" "$imports"
for dll in $imports; do
  case "$dll" in
    KERNEL32.DLL|WS2_32.DLL|MSVCRT.DLL|NTDLL.DLL|ADVAPI32.DLL|USER32.DLL|API-MS-WIN-*|NODE.EXE) ;;
    *) echo "build-win-cross: unexpected import $dll" >&2; exit 1 ;;
  esac
done
if "$OBJDUMP" -p "$out/winsock2.node" | awk '/The Import Tables/,/Delay Import Tables|^$/' | grep -qi 'DLL Name: NODE.EXE'; then
  echo "build-win-cross: NODE.EXE is a plain import; it must be delay-loaded" >&2
  exit 1
fi
echo "build-win-cross: wrote $out/winsock2.node"
