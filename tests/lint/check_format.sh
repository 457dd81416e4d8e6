#!/usr/bin/env bash
# Usage: check_format.sh SOURCE_DIR. Fails listing the files clang-format would change.
# Fix with: git ls-files '*.c' '*.h' | xargs clang-format -i
set -u
cd "$1" || exit 1
command -v clang-format >/dev/null || { echo "skipped: clang-format not installed"; exit 77; }
pass=0; fail=0
while IFS= read -r f; do
  if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "not formatted: $f"; fi
done < <(find include runtime trainer datasets tests bench examples -name '*.[ch]' | sort)
echo "lint: $pass passed, $fail failed"
test $fail -eq 0
