#!/usr/bin/env bash
# Cross-compiles the native addon for win32-x64 (default) or win32-ia32 on
# Linux with mingw-w64 and writes it where node-gyp-build finds it, under the
# name the prebuild workflow gives it (scripts/prebuild-name.cjs:
# prebuilds/win32-<arch>/node.napi.node, which @electron/rebuild finds too).
#
#   npm run build:win-cross                  # x64 (Debian g++-mingw-w64-x86-64)
#   npm run build:win-cross -- --arch ia32   # x86 (Debian g++-mingw-w64-i686)
#
# Warnings are errors, with -Wshadow -Wconversion -Wsign-conversion -pedantic
# on top of -Wall -Wextra: close to what MSVC's /W4 /WX (the prebuild
# workflow, WINSOCK2_WERROR=1) rejects, so code that breaks MSVC breaks here
# first. This script is the project's own build; a user's source build
# (node-gyp via the install script) never treats warnings as errors.
# (Debian's clang cannot stand in for MSVC here: with
# --target=x86_64-pc-windows-msvc it defines _MSC_VER and not __GNUC__, so
# mingw-w64's _mingw.h defines __attribute__(x) away, which breaks clang's own
# intrinsics headers, and libstdc++ needs the __GCC_ATOMIC_* macros; MSVC mode
# needs MSVC's STL and the Windows SDK, which Debian does not have. In GNU
# mode, --target=x86_64-w64-mingw32 with -Wshadow-all -Wshorten-64-to-32
# -Wmicrosoft, the sources are clean too; it is not a separate step.)
#
# Node-API is linked through a DELAY-LOAD import library made from
# node-api-headers' def/node_api.def (NAME NODE.EXE) plus a delay-load hook
# (native/delay_load_hook.cc) that resolves NODE.EXE to the host process, so
# the addon loads in electron.exe or a renamed node.exe too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

arch=x64
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="${2:-}"; shift 2 ;;
    --arch=*) arch="${1#--arch=}"; shift ;;
    *) echo "build-win-cross: unknown argument $1 (usage: build-win-cross.sh [--arch x64|ia32])" >&2; exit 2 ;;
  esac
done
case "$arch" in
  x64) triple=x86_64-w64-mingw32; apt_gxx=g++-mingw-w64-x86-64; apt_binutils=binutils-mingw-w64-x86-64; machine=i386:x86-64 ;;
  # x86: Node-API functions are __cdecl (NAPI_CDECL), so node_api.def's
  # undecorated names are right; dlltool -m i386 adds the leading underscore
  # of the C symbol and imports the plain name, as node.exe exports it.
  ia32) triple=i686-w64-mingw32; apt_gxx=g++-mingw-w64-i686; apt_binutils=binutils-mingw-w64-i686; machine=i386 ;;
  *) echo "build-win-cross: --arch must be x64 or ia32 (got '$arch')" >&2; exit 2 ;;
esac
CXX=$triple-g++-posix
DLLTOOL=$triple-dlltool
OBJDUMP=$triple-objdump
STRINGS=$triple-strings  # binutils-mingw-w64: no host binutils needed

need_apt=()
command -v "$CXX" >/dev/null || need_apt+=("$apt_gxx")
command -v "$DLLTOOL" >/dev/null || need_apt+=("$apt_binutils")
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
build=build/cross-win32-$arch
target="$(node scripts/prebuild-name.cjs "$arch")"
out="$(dirname "$target")"
mkdir -p "$build" "$out"

"$DLLTOOL" -m "$machine" -d node_modules/node-api-headers/def/node_api.def -y "$build/libnode_api_delay.a"

# Sources and defines: native/build.json, as binding.gyp and CMakeLists.txt
# (plus the delay-load hook, which node-gyp and cmake-js bring themselves).
mapfile -t sources < <(node -p "require('./native/build.json').sources.join('\n')")
mapfile -t defines < <(node -p "require('./native/build.json').defines.map((d) => '-D' + d).join('\n')")
sources+=(native/delay_load_hook.cc)
flags=(
  -std=c++17 -O2 -g0 -shared -static
  -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -pedantic -Werror
  "${defines[@]}"
  -isystem "$napi_headers" -isystem "$addon_api"
)
# Compile the sources in parallel, then link.
pids=(); objs=()
for src in "${sources[@]}"; do
  obj="$build/$(basename "${src%.cc}").o"
  objs+=("$obj")
  "$CXX" "${flags[@]}" -c "$src" -o "$obj" & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ "$status" -eq 0 ] || { echo "build-win-cross: compile failed" >&2; exit 1; }
"$CXX" "${flags[@]}" "${objs[@]}" -o "$target" \
  "$build/libnode_api_delay.a" -lws2_32 -Wl,--gc-sections -s

# Only system DLLs may be imported; NODE.EXE only through the delay-load table.
imports="$("$OBJDUMP" -p "$target" | awk '/DLL Name:/ {print toupper($3)}' | sort -u)"
echo "build-win-cross: imports:" "$imports"
for dll in $imports; do
  case "$dll" in
    KERNEL32.DLL|WS2_32.DLL|MSVCRT.DLL|NTDLL.DLL|ADVAPI32.DLL|USER32.DLL|API-MS-WIN-*|NODE.EXE) ;;
    *) echo "build-win-cross: unexpected import $dll" >&2; exit 1 ;;
  esac
done
if "$OBJDUMP" -p "$target" | awk '/The Import Tables/,/Delay Import Tables|^$/' | grep -qi 'DLL Name: NODE.EXE'; then
  echo "build-win-cross: NODE.EXE is a plain import; it must be delay-loaded" >&2
  exit 1
fi
# The delay-loaded names must be node.exe's export names: napi_* as they are,
# no leading underscore or @N stdcall decoration (the x86 .def pitfalls).
# mingw's delay-import tables have no data-directory entry objdump would
# decode, so the name table is read as the strings it is (the binary is
# stripped: no other napi_* strings remain besides our one export).
all_strings="$("$STRINGS" -a "$target")"
delay_names="$(grep -E '^_*(napi|node_api)_[^ ]*$' <<<"$all_strings" | grep -vx 'napi_register_module_v1' || true)"
if [ -z "$delay_names" ] || ! grep -qx 'NODE.EXE' <<<"$all_strings"; then
  echo "build-win-cross: no Node-API imports from NODE.EXE found" >&2
  exit 1
fi
bad_names="$(printf '%s\n' "$delay_names" | grep -Ev '^(napi|node_api)_[A-Za-z0-9_]+$' || true)"
if [ -n "$bad_names" ]; then
  echo "build-win-cross: decorated Node-API import names (node.exe exports them plain):" "$bad_names" >&2
  exit 1
fi
echo "build-win-cross: $(printf '%s\n' "$delay_names" | wc -l) Node-API functions delay-loaded from NODE.EXE"
echo "build-win-cross: wrote $target"
