#!/usr/bin/env bash
# Usage: test_seq_cli.sh ALLOT_BINARY
# Sequential policies through the CLI: allot train --stages, allot audit (cross-fitted), allot predict
# with partial samples, and the bad inputs of the issue: each a clear error (exit code, file:line:
# field) with nothing partial written.
set -u
allot=$1
pass=0; fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# 240 queries of 12 samples: easy (p .85), hard (p .1), contested (p .5); wrong answers spread over 3
awk 'BEGIN { srand(7); for (q = 0; q < 240; q++) { p = (q % 3 == 0) ? 0.85 : (q % 3 == 1) ? 0.1 : 0.5;
  printf "{\"id\":\"c%03d\",\"prompt\":\"question %d\",\"samples\":[", q, q;
  for (i = 0; i < 12; i++) { r = rand() < p; a = r ? q : 1000 + int(rand() * 3);
    printf "%s{\"answer\":\"%d\",\"correct\":%s}", (i ? "," : ""), a, (r ? "true" : "false") }
  printf "]}\n" } }' > "$tmp/runs.jsonl"

for part in 0 1; do
  "$allot" train "$tmp/runs.jsonl" --stages majority@1,2,4,8,12 --budget 4 --test-part $part/2 --orderings 4 \
    --continuations 8 --quiet -o "$tmp/s$part.json" > "$tmp/train$part.out" 2>&1; rc=$?
  check "train --stages --test-part $part/2 exits 0 (rc=$rc)" test $rc -eq 0
  check "train reports runtime parity" grep -q "same inputs, predictions and decisions" "$tmp/train$part.out"
done
check "the bundle is version 2 with a sequential section" \
  test "$(jq -r '.version, .sequential.stages[4].k, .classifier.input' "$tmp/s0.json" | tr '\n' ' ')" = "2 12 state "

"$allot" audit "$tmp/runs.jsonl" --policy "$tmp/s0.json" --policy "$tmp/s1.json" -o "$tmp/audit" --quiet \
  --orderings 8 --bootstrap 200 > "$tmp/audit.out" 2>&1; rc=$?
check "audit of two cross-fitted bundles exits 0 (rc=$rc)" test $rc -eq 0
check "audit pools every query" test "$(jq .n_queries "$tmp/audit/report.json")" = 240
check "audit report opens with its verdict" grep -q '^\*\*Verdict' "$tmp/audit/report.md"
check "audit compares with Adaptive-Consistency" \
  test "$(jq '.policy_refit.at_equal_spend["adaptive-consistency"].available' "$tmp/audit/report.json")" = true
check "the re-fitted spend is within the budget" \
  awk -v c="$(jq .policy_refit.cost "$tmp/audit/report.json")" 'BEGIN { exit !(c <= 4) }'
"$allot" audit "$tmp/runs.jsonl" --policy "$tmp/s0.json" --budget 4 --sweep 1,2 -o "$tmp/a2" >/dev/null 2>&1
check "--sweep with a sequential bundle exits 1" test $? -eq 1

# replay: the sequential bundle beside uniform on its held-out queries, within the budget
"$allot" replay "$tmp/runs.jsonl" --policy "$tmp/s0.json" --heldout-only --sweep 4 --methods uniform,policy --json \
  > "$tmp/replay.json" 2> "$tmp/e"; rc=$?
check "replay --policy (sequential) exits 0 (rc=$rc)" test $rc -eq 0
check "replay: the policy ran within the budget" \
  test "$(jq '.budgets[0].methods.policy.ran and .budgets[0].methods.policy.spent.mean <= 4' "$tmp/replay.json")" = true
check "replay: the policy beats uniform on these runs" \
  test "$(jq '.budgets[0].methods.policy.accuracy.mean > .budgets[0].methods.uniform.accuracy.mean' "$tmp/replay.json")" = true

# a cascade: its later model drawn alone is a uniform setting too (cheaper than escalating to it)
awk 'BEGIN { srand(11); for (q = 0; q < 240; q++) { p = (q % 3 == 0) ? 0.8 : (q % 3 == 1) ? 0.15 : 0.45;
  P = p + 0.3 > 0.95 ? 0.95 : p + 0.3;
  printf "{\"id\":\"k%03d\",\"prompt\":\"question %d\",\"samples\":[", q, q;
  for (i = 0; i < 10; i++) { big = i >= 6; r = rand() < (big ? P : p); a = r ? q : 1000 + int(rand() * 3);
    printf "%s{\"model\":\"%s\",\"answer\":\"%d\",\"correct\":%s,\"cost\":%d}", (i ? "," : ""),
      big ? "large" : "small", a, (r ? "true" : "false"), big ? 4 : 1 }
  printf "]}\n" } }' > "$tmp/casc.jsonl"
"$allot" train "$tmp/casc.jsonl" --stages 'small:majority@1,2,4 > large:majority@1,2' --learner xgboost --budget 6 \
  --orderings 4 --continuations 4 --quiet -o "$tmp/casc.json" > /dev/null 2>&1; rc=$?
check "a cascade policy trains (rc=$rc)" test $rc -eq 0
"$allot" audit "$tmp/casc.jsonl" --policy "$tmp/casc.json" -o "$tmp/casc-a" --quiet --no-plots --orderings 4 \
  --bootstrap 200 > /dev/null 2>&1; rc=$?
check "its audit exits 0 (rc=$rc)" test $rc -eq 0
r=$tmp/casc-a/report.json
check "  ... lists the large model's stages drawn alone, at their own cost" \
  test "$(jq -c '[.families["one model alone"][] | [.name, (.cost * 1000 | round / 1000)]]' "$r")" = '[["large:majority@1 alone",4],["large:majority@2 alone",8]]'
check "  ... and uniform at equal spend is at least every uniform setting it could afford" \
  test "$(jq '.policy_refit as $p | [.families.stage[], .families["one model alone"][] | select(.cost <= $p.cost) | .acc]
    | all(. <= $p.at_equal_spend.uniform.acc + 1e-12)' "$r")" = true
check "one model: no 'one model alone' family" test "$(jq '.families | has("one model alone")' "$tmp/audit/report.json")" = false

# static policies cross-fit the same way: --test-part on a curves file holds out the same halves
"$allot" curves "$tmp/runs.jsonl" --tiers majority@1,2,4,8,12 --quiet -o "$tmp/sc.jsonl" > /dev/null 2>&1
for part in 0 1; do
  "$allot" train "$tmp/sc.jsonl" --budget 4 --learner xgboost --target value --rounds 20 --test-part $part/2 \
    --quiet -o "$tmp/v$part.json" > /dev/null 2>&1; rc=$?
  check "static train --test-part $part/2 on curves exits 0 (rc=$rc)" test $rc -eq 0
  check "static part $part holds out the sequential policy's queries" \
    test "$(jq -c '.provenance.split.test_ids | sort' "$tmp/v$part.json")" = \
         "$(jq -c '.provenance.split.test_ids | sort' "$tmp/s$part.json")"
done
check "the static halves are disjoint and cover every query" \
  test "$(jq -s '[.[].provenance.split.test_ids[]] | unique | length' "$tmp/v0.json" "$tmp/v1.json")" = 240
check "the static bundle records its part" \
  test "$(jq -c '.provenance.split | [.test_part, .test_parts, .test_fraction]' "$tmp/v1.json")" = "[1,2,0.5]"
"$allot" audit "$tmp/sc.jsonl" --policy "$tmp/v1.json" --budget 4 --sweep 3 --sweep-retrain --no-plots --quiet \
  -o "$tmp/va" > "$tmp/va.out" 2>&1; rc=$?
check "audit --sweep-retrain reproduces a --test-part split (rc=$rc)" test $rc -eq 0
check "the static audit is on the held-out half" test "$(jq '.policies[0].n_test' "$tmp/va/report.json")" = 120
# one static policy trained alone is judged against uniform as the selection judges it, and says so
"$allot" train "$tmp/sc.jsonl" --budget 4 --learner liblinear --target value --json -o "$tmp/one.json" \
  > "$tmp/one.out" 2> /dev/null; rc=$?
check "one static policy --json exits 0 (rc=$rc)" test $rc -eq 0
"$allot" train "$tmp/sc.jsonl" --budget 4 --quiet -o "$tmp/sel-c.json" > /dev/null 2>&1
check "  ... its out-of-fold gain over uniform is the selection's figure for that candidate" \
  test "$(jq -c '.vs_uniform | [.oof_gain, .oof_gain_lo, .oof_gain_hi]' "$tmp/one.out")" = \
       "$(jq -c '.provenance.selection.candidates[] | select(.name == "liblinear-value") | [.gain, .gain_ci95_lo, .gain_ci95_hi]' "$tmp/sel-c.json")"
"$allot" train "$tmp/sc.jsonl" --budget 4 --learner liblinear --target value -o "$tmp/one.json" > "$tmp/one.txt" 2>&1
if [ "$(jq '.vs_uniform.beats_uniform_out_of_fold' "$tmp/one.out")" = true ]; then
  check "  ... no warning when it beats uniform" test -z "$(grep WARNING "$tmp/one.txt")"
else
  check "  ... a WARNING when it does not beat uniform" grep -q "^WARNING .*uniform policy" "$tmp/one.txt"
fi
check "  ... the table shows the gain" grep -q "^out of fold vs uniform" "$tmp/one.txt"
"$allot" train "$tmp/sc.jsonl" --budget 4 --learner xgboost --test-part 0/2 --test-fraction 0.3 -o "$tmp/vx.json" \
  > /dev/null 2> "$tmp/e"; rc=$?
check "--test-part with --test-fraction: usage error (rc=$rc)" test $rc -eq 1
check "  ... naming both" grep -q -- "--test-part and --test-fraction" "$tmp/e"
check "  ... and no bundle written" test ! -e "$tmp/vx.json"

# predict: no sample yet -> draw the first stage; samples completing the last stage -> stop
head -2 "$tmp/runs.jsonl" | jq -c '.samples |= []' > "$tmp/p0.jsonl"
"$allot" predict -m "$tmp/s0.json" "$tmp/p0.jsonl" > "$tmp/p0.out" 2>&1
check "predict before any sample draws stage majority@1" test "$(cut -f2,4 "$tmp/p0.out" | head -1)" = "$(printf 'draw\tmajority@1 +1')"
head -1 "$tmp/runs.jsonl" | jq -c '.samples |= map(del(.correct))' > "$tmp/p1.jsonl"
"$allot" predict -m "$tmp/s0.json" --json "$tmp/p1.jsonl" > "$tmp/p1.out" 2>&1
check "predict at the last stage stops with an answer" \
  test "$(jq -r '.decision + " " + .stage' "$tmp/p1.out")" = "stop majority@12"
head -1 "$tmp/runs.jsonl" | jq -c '.samples |= .[0:3]' > "$tmp/p3.jsonl"
"$allot" predict -m "$tmp/s0.json" "$tmp/p3.jsonl" > /dev/null 2> "$tmp/e"; rc=$?
check "predict: samples between stages exit 2 (rc=$rc)" test $rc -eq 2
check "predict: the message names file:line: samples" grep -q "p3.jsonl:1: samples:" "$tmp/e"
head -1 "$tmp/runs.jsonl" | jq -c '.samples += .samples' > "$tmp/p24.jsonl"
"$allot" predict -m "$tmp/s0.json" "$tmp/p24.jsonl" > /dev/null 2> "$tmp/e"; rc=$?
check "predict: more samples than the ladder exits 2 (rc=$rc)" test $rc -eq 2

# the default selection on labelled runs: static candidates on the ladder's curves, a sequential policy
# with each learner, and uniform, on one split; the best that beats uniform out of fold is shipped
"$allot" train "$tmp/runs.jsonl" --budget 4 --orderings 4 --continuations 8 -o "$tmp/sel.json" \
  > "$tmp/sel.out" 2> "$tmp/sel.err"; rc=$?
check "train RUNS (default selection) exits 0 (rc=$rc)" test $rc -eq 0
check "the default ladder is majority k = 1, 2, 4, 8 and the pool (12)" \
  grep -q "^ladder  *majority@1,2,4,8,12$" "$tmp/sel.out"
for c in xgboost-tier xgboost-value liblinear-tier liblinear-value xgboost-sequential liblinear-sequential uniform; do
  check "the selection lists $c" grep -q "^$c " "$tmp/sel.out"
done
shipped=$(jq -r .provenance.selection.shipped "$tmp/sel.json")
check "the selection ships a sequential policy on these runs (got $shipped)" \
  test "$(jq -r .provenance.selection.shipped "$tmp/sel.json" | sed 's/.*-//')" = sequential
check "no pool note when every query holds 12 samples" test -z "$(grep "note:" "$tmp/sel.err")"
# one query with a smaller pool caps the default ladder: the note names it and how to go longer
{ cat "$tmp/runs.jsonl"; echo '{"id":"short","prompt":"q","samples":[{"answer":"1","correct":true},{"answer":"2","correct":false}]}'; } \
  > "$tmp/short.jsonl"
"$allot" train "$tmp/short.jsonl" --budget 2 --learner liblinear --orderings 2 --continuations 2 --quiet \
  -o "$tmp/short.json" > "$tmp/short.out" 2> "$tmp/short.err"; rc=$?
check "a small pool: still trains (rc=$rc)" test $rc -eq 0
check "  ... on the ladder up to that pool" test "$(jq -c '[.sequential.stages[].k]' "$tmp/short.json")" = "[1,2]"
check "  ... and says why, naming the query and the way out" \
  grep -q "note: the default ladder ends at the smallest pool (2 samples): 1 of 241 queries hold no more (first: id 'short', line 241); the largest pool holds 12.*length >= 12" "$tmp/short.err"
check "the shipped bundle is the sequential one (version 2)" test "$(jq .version "$tmp/sel.json")" = 2
"$allot" audit "$tmp/runs.jsonl" --policy "$tmp/sel.json" -o "$tmp/sel-audit" --quiet --orderings 4 \
  --bootstrap 200 --no-plots > /dev/null 2>&1; rc=$?
check "the shipped policy audits on its held-out queries (rc=$rc)" test $rc -eq 0
check "... 20% of 240 held out" test "$(jq .n_queries "$tmp/sel-audit/report.json")" = 48
# a static policy trained through the selection's curves audits on the runs themselves (same split)
"$allot" curves "$tmp/runs.jsonl" --tiers majority@1,2,4,8,12 -o "$tmp/c.jsonl" --quiet > /dev/null
"$allot" train "$tmp/c.jsonl" --learner xgboost --budget 4 -o "$tmp/st.json" --quiet > /dev/null 2>&1
"$allot" audit "$tmp/runs.jsonl" --policy "$tmp/st.json" --budget 4 -o "$tmp/st-a1" --quiet --no-plots > /dev/null 2>&1
"$allot" audit "$tmp/c.jsonl" --policy "$tmp/st.json" --budget 4 -o "$tmp/st-a2" --quiet --no-plots > /dev/null 2>&1
check "a static policy audited on the runs = on their curves" \
  test "$(jq -c '.policies[0].learned' "$tmp/st-a1/report.json")" = "$(jq -c '.policies[0].learned' "$tmp/st-a2/report.json")"
check "... on its own held-out split" test "$(jq -r '.policies[0].evaluation.mode' "$tmp/st-a1/report.json")" = "held-out split"
# precomputed tiers: static candidates only; several models: the ladder is the user's choice
jq -c '{id, prompt, tiers: {"cheap": {acc: (if .samples[0].correct then 1 else 0 end), cost: 1},
  "dear": {acc: ([.samples[0:4][] | select(.correct)] | length / 4), cost: 4}}}' "$tmp/runs.jsonl" > "$tmp/pre.jsonl"
"$allot" train "$tmp/pre.jsonl" --budget 2 -o "$tmp/pre.json" > "$tmp/pre.out" 2>&1; rc=$?
check "train on precomputed tiers (default selection) exits 0 (rc=$rc)" test $rc -eq 0
check "... without sequential candidates" test -z "$(grep sequential "$tmp/pre.out" || true)"
jq -c '.samples |= (to_entries | map(.value + {model: (if .key < 6 then "small" else "large" end)}))' \
  "$tmp/runs.jsonl" > "$tmp/two.jsonl"
"$allot" train "$tmp/two.jsonl" --budget 2 -o "$tmp/two.json" 2> "$tmp/e" > /dev/null; rc=$?
check "two models without --stages exit 2 (rc=$rc)" test $rc -eq 2
check "... suggesting a --stages cascade" grep -q -- "--stages 'small:majority" "$tmp/e"

# bad inputs of training: nothing written
jq -c '.samples |= map(del(.answer))' "$tmp/runs.jsonl" > "$tmp/noans.jsonl"
"$allot" train "$tmp/noans.jsonl" --stages majority@1,2 --learner xgboost --budget 2 --quiet -o "$tmp/x.json" 2> "$tmp/e"; rc=$?
check "samples without answer for a majority stage exit 2 (rc=$rc)" test $rc -eq 2
check "... naming file:line: samples[0].answer" grep -q "noans.jsonl:1: samples\[0\].answer: missing" "$tmp/e"
"$allot" train "$tmp/runs.jsonl" --stages majority@4,2 --learner xgboost --budget 2 --quiet -o "$tmp/x.json" 2> "$tmp/e"; rc=$?
check "a ladder that does not increase exits 1 (rc=$rc)" test $rc -eq 1
check "... saying so" grep -q "must increase" "$tmp/e"
"$allot" train "$tmp/runs.jsonl" --stages 'small:majority@1 > large:majority@1' --learner xgboost --budget 2 --quiet -o "$tmp/x.json" 2> "$tmp/e"; rc=$?
check "a cascade naming a model absent from the file exits 2 (rc=$rc)" test $rc -eq 2
check "... naming the model" grep -q "model 'small'" "$tmp/e"
"$allot" train "$tmp/runs.jsonl" --stages majority@1,2 --target value --budget 2 -o "$tmp/x.json" 2> "$tmp/e"; rc=$?
check "--target on labelled runs exits 1 (rc=$rc)" test $rc -eq 1
check "... pointing at allot curves" grep -q "allot curves" "$tmp/e"
"$allot" train "$tmp/runs.jsonl" --learner xgboost --hash-dim 16 --budget 2 -o "$tmp/x.json" 2> "$tmp/e"; rc=$?
check "a static-only option with one sequential policy exits 1 (rc=$rc)" test $rc -eq 1
"$allot" train "$tmp/runs.jsonl" --stages majority@1,2,4,8,12,24 --learner xgboost --budget 2 --quiet -o "$tmp/x.json" 2> "$tmp/e"; rc=$?
check "a ladder beyond the pools exits 2 (rc=$rc)" test $rc -eq 2
check "no partial bundle is left behind" test ! -e "$tmp/x.json"
check "no temporary file is left behind" test -z "$(ls "$tmp" | grep -E 'tmp' || true)"

echo "sequential cli: $pass passed, $fail failed"
test $fail -eq 0
