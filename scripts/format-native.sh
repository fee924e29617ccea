#!/usr/bin/env bash
# clang-format over native/ (Debian's clang-format). `--check` only reports files that differ.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v clang-format >/dev/null; then
  echo "format-native: clang-format is missing; install Debian's clang-format package" >&2
  exit 1
fi
mapfile -t files < <(find native -type f \( -name '*.cc' -o -name '*.h' -o -name '*.c' \) | sort)
if [[ ${1:-} == --check ]]; then
  clang-format --dry-run --Werror "${files[@]}"
else
  clang-format -i "${files[@]}"
fi
