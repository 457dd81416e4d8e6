#!/usr/bin/env bash
# Usage: check_sweep_cli.sh ALLOT DATASETS_DIR. Runs `allot replay --sweep --out DIR` on the two
# GSM8K sample files and checks the outputs a user reads: table.md, table.json (every method) and the accuracy-versus-budget plot.
set -u
allot=$1; data=$2
[ -d "$data" ] || { echo "skipped: $data not found"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { local name=$1; shift; if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi; }
for f in gsm8k-llama2-13b-pot48 gsm8k-train-codex10; do
  "$allot" replay "$data/$f.jsonl" --sweep 1,4,16 --shuffles 2 --out "$tmp/$f" >"$tmp/$f.txt" 2>"$tmp/$f.err"
  check "$f: exit 0" test $? -eq 0
  for out in table.md table.json accuracy_vs_budget.png accuracy_vs_budget.svg accuracy_vs_budget.gp; do
    check "$f: $out written" test -s "$tmp/$f/$out"
  done
  check "$f: table.md has the upper-bound label" grep -q "upper bound, not deployable" "$tmp/$f/table.md"
  for m in uniform elimination ucb gap entropy adaptive-consistency early-stop bins-oracle bins-predicted oracle; do
    check "$f: table.json reports $m" grep -q "\"$m\"" "$tmp/$f/table.json"
  done
done
echo "replay-cli: $pass passed, $fail failed"
test $fail -eq 0
