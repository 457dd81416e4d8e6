#!/usr/bin/env bash
# Usage: test_seq_shared.sh ALLOT_BINARY DATASETS_DIR
# The issue's protocol on real runs: on gsm8k-train-codex10 and gsm8k-llama2-13b-pot48, at mean
# budgets 4 and 8, a sequential policy trained on one half of the queries and evaluated on the other,
# then the halves swapped (--test-part 0/2 and 1/2), so that every query is evaluated once by a
# policy that never saw it. Prints the table; asserts that the policy beats uniform allocation at
# equal spend (paired bootstrap interval above zero) within the budget. The comparison with
# Adaptive-Consistency at equal spend is printed, not asserted (see docs/sequential.md), and so are
# early stopping at equal spend and a static value policy (XGBoost, prompt features, trained on the
# curves of the ladder's tiers with the same --test-part halves; the two halves' audits pooled, their
# intervals combined as independent normal halves).
set -u
allot=$1; data=$2
for f in gsm8k-train-codex10 gsm8k-llama2-13b-pot48; do
  if [ ! -f "$data/$f.jsonl" ]; then echo "skipped: $data/$f.jsonl not found (../shared absent)"; exit 77; fi
done
pass=0; fail=0
check() { local name=$1; shift; if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# The static value policy on the same halves: curves of the ladder's tiers, one bundle per half,
# each audited on its held-out half at the re-fitted price; the halves pooled.
static_value() {
  local f=$1 stages=$2 B=$3 tiers c=$tmp/$1.curves.jsonl
  tiers=$(echo "${stages#majority@}" | tr ',' '\n' | sed 's/^/majority@/' | paste -sd, -)
  [ -f "$c" ] || "$allot" curves "$data/$f.jsonl" --tiers "$tiers" --quiet -o "$c" > /dev/null || return 1
  for part in 0 1; do
    "$allot" train "$c" --budget "$B" --learner xgboost --target value --test-part $part/2 --quiet \
      -o "$tmp/$f-v$B-$part.json" > /dev/null &&
    "$allot" audit "$c" --policy "$tmp/$f-v$B-$part.json" --budget "$B" --quiet --no-plots \
      -o "$tmp/$f-av$B-$part" > /dev/null || { echo "FAIL: static value policy $f $B $part"; return 1; }
  done
  jq -s -r '[.[] | .policies[0] as $p | $p.learned.refit as $r | {n: $p.n_test, acc: $r.acc, cost: $r.cost,
      d: $r.learned_minus_uniform.mean, lo: $r.learned_minus_uniform.ci95_lo, hi: $r.learned_minus_uniform.ci95_hi}] as $h
    | ($h | map(.n) | add) as $n
    | {acc: ($h | map(.acc * .n) | add / $n), cost: ($h | map(.cost * .n) | add / $n), d: ($h | map(.d * .n) | add / $n),
       wl: ($h | map(((.d - .lo) * .n / $n) | . * .) | add | sqrt), wh: ($h | map(((.hi - .d) * .n / $n) | . * .) | add | sqrt)}
    | "  static value policy (xgboost, same halves): acc \(.acc*10000|round/10000) at spend \(.cost*1000|round/1000),"
    + " vs uniform at B \(.d*10000|round/100) [\((.d - .wl)*10000|round/100), \((.d + .wh)*10000|round/100)]"' \
    "$tmp/$f-av$B-0/report.json" "$tmp/$f-av$B-1/report.json"
}
printf '%-24s %3s %8s %8s %8s %20s %8s %20s %8s %7s\n' dataset B spend policy uniform "policy-uniform [CI]" AC \
  "policy-AC [CI]" oracle capture
for f in gsm8k-train-codex10 gsm8k-llama2-13b-pot48; do
  case $f in
    gsm8k-train-codex10) stages=majority@1,2,3,4,5,6,7,8,9,10 ;;
    *) stages=majority@1,2,3,4,6,8,12,16,24,32,48 ;;
  esac
  for B in 4 8; do
    for part in 0 1; do
      "$allot" train "$data/$f.jsonl" --stages $stages --budget $B --test-part $part/2 --quiet \
        -o "$tmp/$f-$B-$part.json" > /dev/null || { echo "FAIL: train $f $B $part"; exit 1; }
    done
    "$allot" audit "$data/$f.jsonl" --policy "$tmp/$f-$B-0.json" --policy "$tmp/$f-$B-1.json" --quiet --no-plots \
      -o "$tmp/$f-$B" > /dev/null || { echo "FAIL: audit $f $B"; exit 1; }
    r=$tmp/$f-$B/report.json
    jq -r --arg f "$f" --arg B "$B" '.policy_refit as $p | $p.at_equal_spend as $e
      | [$f, $B, ($p.cost|.*1000|round/1000), ($p.acc|.*10000|round/10000), ($e.uniform.acc|.*10000|round/10000),
         "\($e.uniform.delta*10000|round/100) [\($e.uniform.ci95[0]*10000|round/100), \($e.uniform.ci95[1]*10000|round/100)]",
         ($e["adaptive-consistency"].acc|.*10000|round/10000),
         "\($e["adaptive-consistency"].delta*10000|round/100) [\($e["adaptive-consistency"].ci95[0]*10000|round/100), \($e["adaptive-consistency"].ci95[1]*10000|round/100)]",
         ($e.oracle.acc|.*10000|round/10000), ($e.oracle.gain_capture|.*100|round/100)] | @tsv' "$r" |
      awk -F'\t' '{ printf "%-24s %3s %8s %8s %8s %20s %8s %20s %8s %7s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
    jq -r '.policy_refit.at_equal_spend["early-stop"] as $e | if $e.available == false then "  early stop: n/a, \($e.note)"
      else "  early stop at equal spend: acc \($e.acc*10000|round/10000), policy - early stop \($e.delta*10000|round/100)"
      + " [\($e.ci95[0]*10000|round/100), \($e.ci95[1]*10000|round/100)]" end' "$r"
    static_value "$f" "$stages" "$B"
    check "$f B=$B: beats uniform at equal spend (CI above zero)" \
      test "$(jq '.policy_refit.at_equal_spend.uniform.ci95[0] > 0' "$r")" = true
    check "$f B=$B: within the budget" test "$(jq ".policy_refit.cost <= $B" "$r")" = true
    jq -r --arg B "$B" '.policy_controller | "  online controller: acc \(.acc*10000|round/10000) at spend \(.cost*1000|round/1000)"
      + " (\((.cost / ($B|tonumber) - 1)*10000|round/100)% of the budget over), vs uniform \(.at_equal_spend.uniform.delta*10000|round/100)"
      + " [\(.at_equal_spend.uniform.ci95[0]*10000|round/100), \(.at_equal_spend.uniform.ci95[1]*10000|round/100)]"
      + ", vs AC \(.at_equal_spend["adaptive-consistency"].delta*10000|round/100)"' "$r"
    check "$f B=$B: the online controller overspends by at most 1%" \
      test "$(jq ".policy_controller.cost <= 1.01 * $B" "$r")" = true
    check "$f B=$B: every query evaluated once" test "$(jq .n_queries "$r")" = "$(grep -c . "$data/$f.jsonl")"
  done
done
echo "sequential shared: $pass passed, $fail failed"
test $fail -eq 0
