#!/usr/bin/env bash
# Cross-compiles the raw ws2_32 probe (test/probe/winsock-probe.cc, no Node,
# no addon code) with mingw-w64, as the addon is: build/probe/winsock-probe.exe.
# On Windows CI it is built with MSVC through test/probe/CMakeLists.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
CXX=x86_64-w64-mingw32-g++-posix
if ! command -v "$CXX" >/dev/null; then
  echo "build-probe: $CXX is missing (apt-get install g++-mingw-w64-x86-64)" >&2
  exit 1
fi
mkdir -p build/probe
# -static: no libstdc++/libwinpthread DLLs to find under Wine.
"$CXX" -std=c++17 -O2 -g0 -static -Wall -Wextra -Wshadow -Wconversion -Werror \
  -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 -DUNICODE -D_UNICODE \
  test/probe/winsock-probe.cc -o build/probe/winsock-probe.exe -lws2_32 -luser32 -s
echo "build-probe: wrote build/probe/winsock-probe.exe"
