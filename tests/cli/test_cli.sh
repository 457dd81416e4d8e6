#!/usr/bin/env bash
# Usage: test_cli.sh ALLOT_BINARY
set -u
allot=$1
pass=0; fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$allot" --help >"$tmp/help" 2>&1; rc=$?
check "allot --help exits 0" test $rc -eq 0
check "allot --help lists exit codes" grep -q "Exit codes" "$tmp/help"
"$allot" >/dev/null 2>&1; check "allot without a command exits 1" test $? -eq 1
"$allot" no-such-command >/dev/null 2>&1; check "unknown command exits 1" test $? -eq 1
"$allot" --version >"$tmp/v" 2>&1; check "--version exits 0" test $? -eq 0
check "--version prints a version" grep -qE '^allot [0-9]+\.[0-9]+\.[0-9]+' "$tmp/v"

for cmd in curves solve train audit predict replay; do
  "$allot" $cmd --help >"$tmp/h" 2>&1; rc=$?
  check "allot $cmd --help exits 0" test $rc -eq 0
  check "allot $cmd --help documents exit codes" grep -q "Exit codes" "$tmp/h"
  check "allot $cmd --help shows usage" grep -qi "usage" "$tmp/h"
  "$allot" $cmd --no-such-option >/dev/null 2>"$tmp/e"; rc=$?
  check "allot $cmd --no-such-option exits 1" test $rc -eq 1
  check "allot $cmd names itself in errors" grep -q "allot $cmd" "$tmp/e"
  "$allot" $cmd /no/such/file.jsonl --budget 1 --out "$tmp/x" >/dev/null 2>"$tmp/e"; rc=$?
  check "allot $cmd on a missing file fails (rc=$rc)" test $rc -ne 0
  check "allot $cmd on a missing file leaves no output" test ! -e "$tmp/x"
done
echo "cli: $pass passed, $fail failed"
test $fail -eq 0
