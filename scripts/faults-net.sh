#!/usr/bin/env bash
# The faults-net matrix (test/faults-net/): installs what it needs when it
# can (iproute2 and nftables, Debian/Ubuntu, as root or with sudo), then runs
# `npm run faults`. `--short` runs the CI subset (under 3 minutes).
# Without root or network namespaces the harness says why and does not run.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "faults-net: missing ${missing[*]} and no apt-get here; install them by hand" >&2
    exit 1
  fi
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  echo "faults-net: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--short" ]; then
  export FAULTS_SHORT=1
fi
npm run faults --silent
