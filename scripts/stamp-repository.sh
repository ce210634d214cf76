#!/usr/bin/env bash
# Sets repository, homepage and bugs in a packed tarball's package.json from
# the GitHub repository the release runs in, and packs it again. npm refuses
# `npm publish --provenance` for a package.json without `repository` (E422),
# and the address is known only where the release runs, so neither
# package.json in git nor the README carries it.
#
#   bash scripts/stamp-repository.sh TARBALL OWNER/NAME SERVER_URL OUT_DIR
#
# release.yml runs it with $GITHUB_REPOSITORY and $GITHUB_SERVER_URL;
# test/package.test.ts runs it with a sample repository and checks the
# fields and that no file other than package.json changed. Prints the path
# of the stamped tarball.
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: $0 TARBALL OWNER/NAME SERVER_URL OUT_DIR" >&2
  exit 2
fi
tarball="$1"
repo="$2"
server="${3%/}"
out="$4"
if [[ ! "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]]; then
  echo "$0: OWNER/NAME must look like octo-org/winsock2, not '$repo'" >&2
  exit 2
fi
if [[ ! "$server" =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?$ ]]; then
  echo "$0: SERVER_URL must look like https://github.com, not '$server'" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar xzf "$tarball" -C "$work"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$work/package"
npm pkg set \
  repository.type=git \
  "repository.url=git+$server/$repo.git" \
  "homepage=$server/$repo#readme" \
  "bugs.url=$server/$repo/issues"
# Packed as it was: no lifecycle scripts (prepare would rebuild dist/ from sources the tarball does not have).
name="$(npm pack --ignore-scripts --silent --pack-destination "$out")"
echo "$out/$name"
