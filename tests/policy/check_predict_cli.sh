#!/bin/sh
# allot predict on a trained bundle: output shape, JSON Lines, rule/mu overrides, errors and exit codes.
allot=$1
dir=$2
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$allot" predict --help > "$tmp/help"; check "--help exits 0" "[ $? -eq 0 ]"
check "--help lists exit codes" "grep -q 'Exit codes' '$tmp/help'"

"$allot" predict --model "$dir/xgb.json" < "$dir/queries.jsonl" > "$tmp/out.tsv"; rc=$?
check "text output exits 0 (rc $rc)" "[ $rc -eq 0 ]"
check "one line per query" "[ \$(wc -l < '$tmp/out.tsv') -eq \$(wc -l < '$dir/queries.jsonl') ]"
check "text line has 5 tab-separated fields" "awk -F'\t' 'NF != 5 { exit 1 }' '$tmp/out.tsv'"
check "ids in input order" "[ \"\$(head -1 '$tmp/out.tsv' | cut -f1)\" = q0 ]"

"$allot" predict --model "$dir/xgb.json" --json "$dir/queries.jsonl" > "$tmp/out.jsonl"; rc=$?
check "--json exits 0" "[ $rc -eq 0 ]"
check "--json: one object per line" "[ \$(grep -c '^{\"id\":\"q[0-9]*\",\"tier\":\"t[0-9]\",\"tier_index\":[0-9]' '$tmp/out.jsonl') -eq 1000 ]"
check "--json: probabilities per tier" "head -1 '$tmp/out.jsonl' | grep -q '\"probabilities\":{\"t0\":.*\"t3\":'"
check "--json and text agree on tiers" "[ \"\$(cut -f2 '$tmp/out.tsv' | md5sum)\" = \"\$(sed 's/.*\"tier\":\"\\([^\"]*\\)\".*/\\1/' '$tmp/out.jsonl' | md5sum)\" ]"

"$allot" predict --model "$dir/xgb.json" --mu 1000 "$dir/queries.jsonl" > "$tmp/cheap.tsv"
check "--mu 1000 picks the cheapest class everywhere" "[ \$(cut -f2 '$tmp/cheap.tsv' | sort -u | wc -l) -eq 1 ]"
"$allot" predict --model "$dir/xgb.json" --rule argmax --json "$dir/queries.jsonl" > "$tmp/argmax.jsonl"
check "--rule argmax reported" "grep -q '\"rule\":\"argmax\"' '$tmp/argmax.jsonl'"
"$allot" predict --model "$dir/lin.json" "$dir/queries_lin.jsonl" > "$tmp/lin.tsv"; rc=$?
check "liblinear policy predicts (rc $rc)" "[ $rc -eq 0 ] && [ \$(wc -l < '$tmp/lin.tsv') -eq 1000 ]"

# errors
"$allot" predict < /dev/null 2> "$tmp/err"; rc=$?
check "missing --model: exit 1 (rc $rc)" "[ $rc -eq 1 ]"
"$allot" predict --model /nonexistent.json < /dev/null 2> "$tmp/err"; rc=$?
check "missing policy file: exit 3 (rc $rc)" "[ $rc -eq 3 ] && grep -q nonexistent '$tmp/err'"
printf '{"format":"allot-policy","version":1,"tiers":[]}' > "$tmp/bad.json"
"$allot" predict --model "$tmp/bad.json" < /dev/null 2> "$tmp/err"; rc=$?
check "invalid bundle: exit 2 naming the field (rc $rc)" "[ $rc -eq 2 ] && grep -q 'tiers' '$tmp/err'"
head -c 3000 "$dir/xgb.json" > "$tmp/trunc.json"
"$allot" predict --model "$tmp/trunc.json" < /dev/null 2> "$tmp/err"; rc=$?
check "truncated bundle: exit 2 (rc $rc)" "[ $rc -eq 2 ]"
printf '{"id":"a","prompt":"x"}\n\n{"id":"b"}\n' | "$allot" predict --model "$dir/xgb.json" > /dev/null 2> "$tmp/err"; rc=$?
check "missing prompt: exit 2, line 3, field prompt (rc $rc)" "[ $rc -eq 2 ] && grep -q '<stdin>:3: prompt: missing' '$tmp/err'"
printf '{"id":1,"prompt":"x"}\n' | "$allot" predict --model "$dir/xgb.json" > /dev/null 2> "$tmp/err"; rc=$?
check "numeric id: exit 2 naming id (rc $rc)" "[ $rc -eq 2 ] && grep -q ':1: id: must be a string' '$tmp/err'"
printf '{"id":"a","prompt":"x"\n' | "$allot" predict --model "$dir/xgb.json" > /dev/null 2> "$tmp/err"; rc=$?
check "bad JSON line: exit 2 (rc $rc)" "[ $rc -eq 2 ] && grep -q ':1: invalid JSON' '$tmp/err'"
printf '{"id":"a","prompt":"x","meta":3}\n' | "$allot" predict --model "$dir/xgb.json" > /dev/null 2> "$tmp/err"; rc=$?
check "meta not an object: exit 2 (rc $rc)" "[ $rc -eq 2 ] && grep -q 'meta: must be an object' '$tmp/err'"
"$allot" predict --model "$dir/xgb.json" --mu inf < /dev/null 2> /dev/null; rc=$?
check "--mu inf: exit 1 (rc $rc)" "[ $rc -eq 1 ]"
out=$(printf '{"id":"a","prompt":"How many apples?"}\n' | "$allot" predict --model "$dir/xgb.json" --mu -0.5 --json); rc=$?
check "--mu -0.5 (a negative price raises the spend): exit 0, calibrated at -0.5 (rc $rc)" \
    "[ $rc -eq 0 ] && echo '$out' | grep -q '\"rule\":\"calibrated\",\"mu\":-0.5'"
"$allot" predict --model "$dir/xgb.json" /nonexistent.jsonl 2> /dev/null; rc=$?
check "missing input: exit 3 (rc $rc)" "[ $rc -eq 3 ]"

echo "policy: $pass passed, $fail failed"
[ $fail -eq 0 ]
