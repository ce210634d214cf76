#!/usr/bin/env bash
# Node's own test-net-*.js against winsock2/net (docs/net.md, "Node's own
# net tests"): each test runs on node:net and then with only require('net')
# changed to winsock2/net; every test that passes on node:net must pass on
# winsock2/net too, except those test/node-core/differences.ts names with
# their reason. Fails on any other failure, and on a listed test that passes.
#
# The tests come from Debian's source of Node.js (bookworm's nodejs, 18.20.4:
# the newest Node whose source this machine's registries carry), pinned by
# checksum and cached in .cache/node-tests/; nothing of it is committed.
# They run on the Node that runs this script (20 here): the few that fail
# on node:net itself are reported and left out.
set -euo pipefail
cd "$(dirname "$0")/.."

version=18.20.4
tarball="nodejs_${version}+dfsg.orig.tar.xz"
sha256=6ce58062c71eae37d9c5ac31eeaeff9c2d48561d21c2849179d056c9c1bd9ebc
cache=.cache/node-tests
tree="$cache/node-v${version}"

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
if [ ${#missing[@]} -gt 0 ] && [ ! -f "$tree/.complete" ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "node-net-tests: missing ${missing[*]}; install them by hand" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$tree/.complete" ]; then
  mkdir -p "$cache"
  if [ ! -f "$cache/$tarball" ] || ! echo "$sha256  $cache/$tarball" | sha256sum -c --status; then
    echo "node-net-tests: downloading Node.js ${version}'s sources (Debian, ~29 MB)"
    got=0
    for pool in debian/pool/main debian-security/pool/updates/main; do
      if curl -fsSL --retry 3 -o "$cache/$tarball.part" "http://deb.debian.org/$pool/n/nodejs/$tarball"; then
        got=1
        break
      fi
    done
    if [ "$got" -ne 1 ]; then
      echo "node-net-tests: could not download $tarball from deb.debian.org" >&2
      exit 1
    fi
    echo "$sha256  $cache/$tarball.part" | sha256sum -c --status || {
      echo "node-net-tests: $tarball does not match its checksum" >&2
      exit 1
    }
    mv "$cache/$tarball.part" "$cache/$tarball"
  fi
  rm -rf "$tree"
  tar -xJf "$cache/$tarball" -C "$cache" --wildcards \
    "node-v${version}/test/common/*" "node-v${version}/test/fixtures/*" "node-v${version}/test/parallel/test-net-*"
  touch "$tree/.complete"
fi

npm run build --silent
npm run build:test --silent
node out/test/node-core/run.js "$tree" "$@"
