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

# One set of conventions: "Usage:" first, the exit codes last, -h/--help, -V/--version, -o/--out.
ver=$("$allot" --version | sed 's/^allot //')
check "-V is --version" test "$("$allot" -V)" = "allot $ver"
for cmd in curves solve train audit predict replay; do
  "$allot" $cmd --version >"$tmp/v" 2>&1; rc=$?
  check "allot $cmd --version exits 0" test $rc -eq 0
  check "allot $cmd --version prints 'allot $cmd $ver'" test "$(cat "$tmp/v")" = "allot $cmd $ver"
  check "allot $cmd -V prints the version" test "$("$allot" $cmd -V 2>&1)" = "allot $cmd $ver"
  "$allot" $cmd -h >"$tmp/h" 2>&1; rc=$?
  check "allot $cmd -h exits 0" test $rc -eq 0
  check "allot $cmd -h is --help" cmp -s "$tmp/h" <("$allot" $cmd --help 2>&1)
  check "allot $cmd --help starts with 'Usage: allot $cmd'" test "$(head -1 "$tmp/h" | cut -c1-$((13 + ${#cmd})))" = "Usage: allot $cmd"
  check "allot $cmd --help ends with the exit codes" grep -q "Exit codes" <(tail -2 "$tmp/h")
  check "allot $cmd --help has an Options: section" grep -q "^Options:" "$tmp/h"
  check "allot $cmd --help documents -h, --help" grep -q -- "-h, --help" "$tmp/h"
  check "allot $cmd --help documents -V, --version" grep -q -- "-V, --version" "$tmp/h"
  if grep -q -- "--out " "$tmp/h"; then
    check "allot $cmd --help documents -o, --out" grep -q -- "-o, --out" "$tmp/h"
  fi
done

# Option values: errors name the option and the value (exit 1).
for cmd in curves train audit replay; do
  for bad in -1 +1 1x "" " 1" 0x10 1.5 18446744073709551616; do
    "$allot" $cmd in.jsonl --seed "$bad" >/dev/null 2>"$tmp/e"; rc=$?
    check "allot $cmd --seed '$bad' exits 1 (rc=$rc)" test $rc -eq 1
    check "allot $cmd --seed '$bad' names option and value" \
      grep -qF "allot $cmd: --seed: not an unsigned 64-bit integer: '$bad'" "$tmp/e"
  done
done
"$allot" train in.jsonl --budget 4 --eta 2 >/dev/null 2>"$tmp/e"
check "range errors say the range" grep -qF "allot train: --eta: not a number in (0, 1]: '2'" "$tmp/e"
"$allot" solve in.jsonl --budget -1 >/dev/null 2>"$tmp/e"; rc=$?
check "a negative budget exits 1" test $rc -eq 1
check "budget errors name the value" grep -qF "allot solve: --budget: not a number >= 0: '-1'" "$tmp/e"
"$allot" audit in.jsonl --sweep 1,,2 >/dev/null 2>"$tmp/e"; rc=$?
check "an empty list item exits 1" test $rc -eq 1
"$allot" replay in.jsonl --sweep=1,x >/dev/null 2>"$tmp/e"
check "list errors name the item" grep -qF "allot replay: --sweep: item 2 ('x') is not a number > 0: '1,x'" "$tmp/e"
"$allot" train in.jsonl --budget 4 --learner forest >/dev/null 2>"$tmp/e"
check "choice errors list the choices" grep -qF "allot train: --learner: not one of xgboost, liblinear: 'forest'" "$tmp/e"

# Seeds reach the bundle's provenance exactly: a number up to 2^53, a decimal string above.
runs="$tmp/runs.jsonl"
for i in $(seq 1 60); do
  words=$(printf 'step %.0s' $(seq 1 $((i % 7 + 1))))
  c1=$([ $((i % 3)) -eq 0 ] && echo true || echo false); c2=$([ $((i % 2)) -eq 0 ] && echo true || echo false)
  printf '{"id":"q%d","prompt":"%s?","samples":[{"correct":%s},{"correct":%s},{"correct":true},{"correct":%s}]}\n' \
    "$i" "$words" "$c1" "$c2" "$c1" >>"$runs"
done
"$allot" curves "$runs" --tiers pass@1,2,4 -o "$tmp/curves.jsonl" --quiet >/dev/null 2>"$tmp/e"; rc=$?
check "curves -o writes the curves file (rc=$rc)" test $rc -eq 0 -a -s "$tmp/curves.jsonl"
for seed in 1 9007199254740992 9007199254740993 18446744073709551615; do
  "$allot" train "$tmp/curves.jsonl" --budget 2 --folds 2 --seed $seed -o "$tmp/p.json" --quiet >/dev/null 2>"$tmp/e"
  rc=$?
  check "train --seed $seed -o writes the bundle (rc=$rc: $(head -c 200 "$tmp/e"))" test $rc -eq 0 -a -s "$tmp/p.json"
  if [ $seed = 1 ] || [ $seed = 9007199254740992 ]; then want=$seed; else want="\"$seed\""; fi
  for key in '"seed"' '"split":{"test_fraction":0.2,"folds":2,"seed"'; do
    check "seed $seed recorded as $want at $key" grep -qF "$key:$want," "$tmp/p.json"
  done
done
echo "cli: $pass passed, $fail failed"
test $fail -eq 0
