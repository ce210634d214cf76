#!/usr/bin/env bash
# clang-format over native/ (the C++ addon), with the repository's
# .clang-format. `--check` reports files that would change (exit 1);
# `--write` rewrites them. Used by `npm run format` and `npm run format:check`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mode="${1:-}"
if [ "$mode" != "--check" ] && [ "$mode" != "--write" ]; then
  echo "usage: $0 --check|--write" >&2
  exit 2
fi
if ! command -v clang-format >/dev/null 2>&1; then
  echo "clang-format is not installed; run: bash scripts/ci-install-tools.sh (apt-get install clang-format)" >&2
  exit 1
fi
files=()
while IFS= read -r f; do files+=("$f"); done < <(git ls-files -co --exclude-standard -- 'native/*.cc' 'native/*.h')
if [ "$mode" = "--write" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
fi
