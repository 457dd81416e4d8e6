#!/usr/bin/env bash
# badinput.sh ALLOT - every command of allot over a corpus of hostile inputs, generated here.
#
# Each case runs under a time limit (a hang fails it) and checks the exit code (0 ok, 1 usage,
# 2 bad input, 3 I/O, 4 check failed, 5 unsupported), the message shape ("allot CMD: FILE:LINE:
# FIELD: problem" where a file and line apply) and that nothing is left behind: no temporary file
# (*.allot-tmp.*), no partial output, no empty output directory, and an earlier output intact.
# Inputs: invalid and truncated JSON, BOM, CRLF, NUL bytes, huge lines and numbers, wrong types,
# duplicate and escaped ids, duplicate members, deep nesting, empty and special files; outputs:
# unwritable paths, a full disk (ulimit -f), symlinks, FIFOs, kept modes, signals mid-write.
# Never writes to a device: /dev/null is only ever read.
set -u
A=$1
W=$(mktemp -d "${TMPDIR:-/tmp}/allot-badinput-XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
LIMIT=${ALLOT_BADINPUT_TIMEOUT:-60} # seconds per command (sanitizer builds are slower)
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}

# Nothing temporary may remain anywhere under $W, and no output of a failed run.
leftovers() {
    find "$W" -name '*.allot-tmp.*' 2>/dev/null
    find "$W" -name 'o.*' 2>/dev/null
}

# run NAME WANT_RC MSG_REGEX CMD_ARGS... : run allot, check the exit code, the first line of
# stderr against MSG_REGEX (extended regex; "" = anything) and, when it failed, no leftovers.
run() {
    local name=$1 want=$2 re=$3
    shift 3
    rm -f "$W"/o.*
    timeout "$LIMIT" "$A" "$@" >"$W/stdout" 2>"$W/stderr"
    local rc=$?
    local msg
    msg=$(grep -m1 '^allot' "$W/stderr")
    if [ "$rc" -eq 124 ]; then
        bad "$name: no result within ${LIMIT}s (hang)"
        return
    fi
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, expected $want: $(head -c 300 "$W/stderr")"
        return
    fi
    if [ -n "$re" ] && ! printf '%s\n' "$msg" | grep -qE -- "$re"; then
        bad "$name: message '$msg' does not match /$re/"
        return
    fi
    if [ "$want" -ne 0 ] && [ -n "$(leftovers)" ]; then
        bad "$name: left behind: $(leftovers | tr '\n' ' ')"
        return
    fi
    ok
}

# ---- fixtures ------------------------------------------------------------------------------------

# 16 queries x 6 graded samples of model "m" (answers, scores, costs), features, meta.
gen_runs() {
    awk -v n="${1:-16}" 'BEGIN {
        for (i = 0; i < n; i++) {
            printf "{\"id\":\"q%d\",\"prompt\":\"Question %d: what is %d + %d?\",\"gold\":\"%d\",", i, i, i, i * 3, i * 4
            printf "\"meta\":{\"level\":%d},\"features\":{\"f\":%d.5},\"samples\":[", i % 5, i
            for (j = 0; j < 6; j++) {
                c = ((i + j) % 3 != 0) ? "true" : "false"
                a = (c == "true") ? sprintf("%d", i * 4) : sprintf("w%d", j)
                printf "%s{\"model\":\"m\",\"correct\":%s,\"answer\":\"%s\",\"score\":0.%d,\"cost\":1}", j ? "," : "", c, a, (i * 7 + j) % 10
            }
            printf "]}\n"
        }
    }'
}
gen_runs 16 >"$W/runs.jsonl"
G=$(head -1 "$W/runs.jsonl") # one good line

"$A" curves "$W/runs.jsonl" --tiers majority@1,2,4,6 --out "$W/curves.jsonl" --quiet >/dev/null 2>&1 ||
    bad "fixture: curves"
"$A" train "$W/curves.jsonl" --budget 3 --rounds 5 --folds 2 --test-fraction 0.25 --out "$W/policy.json" \
    --quiet >/dev/null 2>&1 || bad "fixture: train"
HDR=$(head -1 "$W/curves.jsonl")
ROW=$(sed -n 2p "$W/curves.jsonl")

# jsonl NAME LINES... : write the lines (printf %b: \n, \r, \0, \xef escapes work) to $W/NAME
jsonl() {
    local f="$W/$1"
    shift
    : >"$f"
    for l in "$@"; do printf '%b\n' "$l" >>"$f"; done
}

# ---- 1. labelled runs: curves and replay ---------------------------------------------------------

L=':[0-9]+: ' # file:line:
jsonl e_invalid.jsonl "$G" '{"id":"x","samples":[{"correct":true}'
jsonl e_garbage.jsonl "$G" '{"id":"x","samples":[{"correct":true}]} trailing'
jsonl e_nul.jsonl "$G" '{"id":"x","samples":[{"correct":true}]}\0'
jsonl e_type.jsonl '{"id":"x","samples":[{"correct":"yes","answer":"1"}]}'
jsonl e_idtype.jsonl '{"id":5,"samples":[{"correct":true,"answer":"1"}]}'
jsonl e_samples_obj.jsonl '{"id":"x","samples":{"correct":true}}'
jsonl e_huge_num.jsonl '{"id":"x","samples":[{"correct":true,"answer":"1","cost":1e999}]}'
jsonl e_neg_cost.jsonl '{"id":"x","samples":[{"correct":true,"answer":"1","cost":-1}]}'
jsonl e_dup_id.jsonl "$G" "$G"
jsonl e_nul_id.jsonl '{"id":"a\\u0000b","samples":[{"correct":true,"answer":"1"}]}' \
    '{"id":"a\\u0000c","samples":[{"correct":true,"answer":"1"}]}'
# control characters between tokens (cJSON skips them) ahead of a \u0000: the scan must finish
jsonl e_ctl_nul.jsonl '{"id":"a",\x01"meta":{\x01"x":[1,\x01{"y":"p\\u0000"}\x02]},"samples":[{"correct":true,"answer":"1"}]}'
jsonl e_esc_id.jsonl '{"id":"\\u0061","samples":[{"correct":true,"answer":"1"}]}' \
    '{"id":"a","samples":[{"correct":true,"answer":"1"}]}'
jsonl e_dup_member.jsonl '{"id":"x","samples":[{"correct":true,"answer":"1"}],"samples":[{"correct":false}]}'
jsonl e_dup_feature.jsonl '{"id":"x","features":{"a":1,"a":2},"samples":[{"correct":true,"answer":"1"}]}'
# objects of more than 8 members are checked with a hash set, smaller ones pairwise (runtime_io.c)
jsonl e_dup_feature_large.jsonl '{"id":"x","features":{"f0":0,"f1":1,"f2":2,"f3":3,"f4":4,"f5":5,"f6":6,"f7":7,"f8":8,"f3":9,"f10":10},"samples":[{"correct":true,"answer":"1"}]}'
jsonl e_dup_feature_large_early.jsonl '{"id":"x","features":{"f0":0,"f1":1,"f1":2,"f3":3,"f4":4,"f5":5,"f6":6,"f7":7,"f8":8,"f9":9,"f0":10},"samples":[{"correct":true,"answer":"1"}]}'
printf '%s\n{"id":"y","sam' "$G" >"$W/e_truncated.jsonl"
awk 'BEGIN { printf "{\"id\":\"x\",\"meta\":"; for (i = 0; i < 3000; i++) printf "["; for (i = 0; i < 3000; i++) printf "]"; print ",\"samples\":[{\"correct\":true}]}" }' >"$W/e_deep.jsonl"
awk 'BEGIN { printf "{\"id\":\"x\",\"features\":{"; for (i = 0; i < 5000; i++) printf "%s\"f%d\":%d", i ? "," : "", i, i; print "},\"samples\":[{\"correct\":true,\"answer\":\"1\"}]}" }' >"$W/e_many_features.jsonl"
awk 'BEGIN { printf "{\"id\":\"x\",\"samples\":["; for (i = 0; i < 1000001; i++) printf "%s{\"correct\":true}", i ? "," : ""; print "]}" }' >"$W/e_many_samples.jsonl"
: >"$W/e_empty.jsonl"
printf '\n  \n\t\n' >"$W/e_blank.jsonl"
mkdir -p "$W/e_dir.jsonl"
{ printf '\xef\xbb\xbf'; cat "$W/runs.jsonl"; } >"$W/ok_bom.jsonl"
sed 's/$/\r/' "$W/runs.jsonl" >"$W/ok_crlf.jsonl"
# a huge (8 MB) prompt on one line: read, not a hang
awk -v g="$G" 'BEGIN { s = "x"; while (length(s) < 8388608) s = s s; sub(/"prompt":"[^"]*"/, "\"prompt\":\"" s "\"", g); print g }' >"$W/ok_huge_line.jsonl"

T='--tiers pass@1'
run "curves: invalid JSON" 2 "^allot curves: .*e_invalid.jsonl:2: invalid JSON" curves "$W/e_invalid.jsonl" $T --out "$W/o.c"
run "curves: trailing garbage" 2 "e_garbage.jsonl:2: invalid JSON: trailing text" curves "$W/e_garbage.jsonl" $T --out "$W/o.c"
run "curves: NUL byte" 2 "e_nul.jsonl:2: invalid JSON: a NUL byte" curves "$W/e_nul.jsonl" $T --out "$W/o.c"
run "curves: truncated last line" 2 "e_truncated.jsonl:2: invalid JSON" curves "$W/e_truncated.jsonl" $T --out "$W/o.c"
run "curves: wrong type" 2 "${L}samples\[0\]\.correct: expected true or false" curves "$W/e_type.jsonl" $T --out "$W/o.c"
run "curves: id not a string" 2 "${L}id: expected a string" curves "$W/e_idtype.jsonl" $T --out "$W/o.c"
run "curves: samples not an array" 2 "${L}samples: expected an array" curves "$W/e_samples_obj.jsonl" $T --out "$W/o.c"
run "curves: 1e999" 2 "${L}samples\[0\]\.cost: not a finite number" curves "$W/e_huge_num.jsonl" $T --out "$W/o.c"
run "curves: negative cost" 2 "${L}samples\[0\]\.cost: negative" curves "$W/e_neg_cost.jsonl" $T --out "$W/o.c"
run "curves: duplicate id" 2 ":2: id: duplicate id" curves "$W/e_dup_id.jsonl" $T --out "$W/o.c"
run "curves: ids differing after \\u0000" 2 ":1: id: contains \\\\u0000" curves "$W/e_nul_id.jsonl" $T --out "$W/o.c"
run "curves: \\u0000 after control characters" 2 ":1: meta\\.x\\[1\\]\\.y: contains \\\\u0000" curves "$W/e_ctl_nul.jsonl" $T --out "$W/o.c"
run "curves: escaped id equal to a plain one" 2 ":2: id: duplicate id" curves "$W/e_esc_id.jsonl" $T --out "$W/o.c"
run "curves: duplicate member" 2 ":1: samples: duplicate member" curves "$W/e_dup_member.jsonl" $T --out "$W/o.c"
run "curves: duplicate feature" 2 ":1: features\.a: duplicate member" curves "$W/e_dup_feature.jsonl" $T --out "$W/o.c"
run "curves: duplicate among 11 features" 2 ":1: features\.f3: duplicate member" curves "$W/e_dup_feature_large.jsonl" $T --out "$W/o.c"
run "curves: duplicate among the first 8 of 11 features" 2 ":1: features\.f1: duplicate member" curves "$W/e_dup_feature_large_early.jsonl" $T --out "$W/o.c"
run "curves: nesting 3000 deep" 2 ":1: invalid JSON" curves "$W/e_deep.jsonl" $T --out "$W/o.c"
run "curves: 5000 features" 2 ":1: features: 5000 features, at most 4096" curves "$W/e_many_features.jsonl" $T --out "$W/o.c"
run "curves: 1000001 samples" 2 ":1: samples: 1000001 samples, at most 1000000" curves "$W/e_many_samples.jsonl" $T --out "$W/o.c"
run "curves: empty file" 2 "e_empty.jsonl: no queries: the file is empty" curves "$W/e_empty.jsonl" $T --out "$W/o.c"
run "curves: blank lines only" 2 "no queries" curves "$W/e_blank.jsonl" $T --out "$W/o.c"
run "curves: /dev/null" 2 "/dev/null: no queries" curves /dev/null $T --out "$W/o.c"
run "curves: a directory" 3 "e_dir.jsonl: is a directory" curves "$W/e_dir.jsonl" $T --out "$W/o.c"
run "curves: missing file" 3 "no-such.jsonl: cannot open" curves "$W/no-such.jsonl" $T --out "$W/o.c"
run "curves: BOM accepted" 0 "" curves "$W/ok_bom.jsonl" $T --out "$W/ok_bom.c" --quiet
run "curves: CRLF accepted" 0 "" curves "$W/ok_crlf.jsonl" $T --out "$W/ok_crlf.c" --quiet
cmp -s "$W/ok_bom.c" "$W/ok_crlf.c" || [ "$(sed 1d "$W/ok_bom.c")" = "$(sed 1d "$W/ok_crlf.c")" ] && ok ||
    bad "BOM and CRLF inputs give different curves"
run "curves: 8 MB line" 0 "" curves "$W/ok_huge_line.jsonl" $T --out "$W/ok_huge.c" --quiet
run "curves: --permutations 1e8" 1 "^allot curves: --permutations: not an integer in 2\.\.100000" \
    curves "$W/runs.jsonl" --tiers majority@32 --permutations 100000000
run "curves: 5000 tiers" 1 "more than 4096 tiers" curves "$W/runs.jsonl" \
    --tiers "pass@$(seq -s, 1 5000)"
jsonl e_tierfile.json '{"tiers":[{"rule":"pass","k":1},{"rule":"pass","k":1}]}'
run "curves: tier file with a tier twice" 2 "tier pass@1 given twice" curves "$W/runs.jsonl" --tiers-file "$W/e_tierfile.json"
jsonl e_tierfile2.json '{"tiers":[{"rule":"pass","k":1}],"tiers":[]}'
run "curves: tier file with a duplicate member" 2 "e_tierfile2.json: tiers: duplicate member" curves "$W/runs.jsonl" --tiers-file "$W/e_tierfile2.json"

# replay reads the same files through the same reader
run "replay: invalid JSON" 2 "e_invalid.jsonl:2: invalid JSON" replay "$W/e_invalid.jsonl" --budget 2 --out "$W/o.d"
run "replay: NUL byte" 2 "e_nul.jsonl:2: invalid JSON: a NUL byte" replay "$W/e_nul.jsonl" --budget 2 --out "$W/o.d"
run "replay: duplicate id" 2 ":2: id: duplicate id" replay "$W/e_dup_id.jsonl" --budget 2 --out "$W/o.d"
run "replay: empty file" 2 "no query has samples" replay "$W/e_empty.jsonl" --budget 2 --out "$W/o.d"
run "replay: /dev/null" 2 "no query has samples" replay /dev/null --budget 2 --out "$W/o.d"
run "replay: a directory" 3 "is a directory" replay "$W/e_dir.jsonl" --budget 2 --out "$W/o.d"
awk 'BEGIN { for (i = 0; i < 8; i++) { printf "{\"id\":\"q%d\",\"samples\":[", i; for (j = 0; j < 4; j++) printf "%s{\"correct\":%s}", j ? "," : "", (i + j) % 2 ? "true" : "false"; print "]}" } }' >"$W/e_noanswer.jsonl"
run "replay: samples without answers (was 0% silently)" 2 "e_noanswer.jsonl:1: samples\[0\]\.answer: missing" \
    replay "$W/e_noanswer.jsonl" --sweep 1,2 --out "$W/o.d"
run "replay: BOM accepted" 0 "" replay "$W/ok_bom.jsonl" --budget 2 --quiet --shuffles 0
# a policy over two models: replay deals one model's samples, so it must refuse the other's tiers
awk 'BEGIN { for (i = 0; i < 16; i++) { printf "{\"id\":\"q%d\",\"prompt\":\"p %d\",\"samples\":[", i, i;
    for (j = 0; j < 8; j++) { c = (i + j) % (j < 4 ? 3 : 2) == 0; printf "%s{\"model\":\"%s\",\"correct\":%s,\"answer\":\"%s\",\"cost\":%d}", j ? "," : "", j < 4 ? "a" : "b", c ? "true" : "false", c ? "g" : "w" j, j < 4 ? 1 : 4 }
    print "]}" } }' >"$W/two.jsonl"
"$A" curves "$W/two.jsonl" --tiers a:majority@1,2,b:majority@1,2 --out "$W/two.curves.jsonl" --quiet >/dev/null 2>&1 &&
    "$A" train "$W/two.curves.jsonl" --budget 3 --rounds 5 --folds 2 --out "$W/two.json" --quiet >/dev/null 2>&1 ||
    bad "fixture: two-model policy"
run "replay --policy: a tier of another model (was dealt --model's samples)" 5 "tier 'b:majority@1' draws from another model than the one replayed" \
    replay "$W/two.jsonl" --model a --budget 3 --policy "$W/two.json" --methods uniform,policy

# ---- 2. curves files: solve, train, audit ----------------------------------------------------------

C="$W/curves.jsonl"
jsonl c_header_only.jsonl "$HDR"
jsonl c_no_format.jsonl '{"version":1,"tiers":[{"name":"a"}]}' '{"id":"x","acc":[1],"cost":[1],"se":[0]}'
jsonl c_acc.jsonl '{"format":"allot-curves","version":1,"tiers":[{"name":"a"}]}' '{"id":"x","acc":[1.5],"cost":[1],"se":[0]}'
jsonl c_inf.jsonl '{"format":"allot-curves","version":1,"tiers":[{"name":"a"}]}' '{"id":"x","acc":[1e999],"cost":[1],"se":[0]}'
jsonl c_type.jsonl '{"format":"allot-curves","version":1,"tiers":[{"name":"a"}]}' '{"id":"x","acc":"1","cost":[1],"se":[0]}'
jsonl c_dup_tier.jsonl '{"format":"allot-curves","version":1,"tiers":[{"name":"a"},{"name":"a"}]}' '{"id":"x","acc":[1,1],"cost":[1,1],"se":[0,0]}'
jsonl c_garbage.jsonl "$HDR" "$ROW xyz"
jsonl c_nul.jsonl "$HDR" "$ROW\\0"
awk 'BEGIN { printf "{\"format\":\"allot-curves\",\"version\":1,\"tiers\":["; for (i = 0; i < 5000; i++) printf "%s{\"name\":\"t%d\"}", i ? "," : "", i; print "]}" }' >"$W/c_many_tiers.jsonl"
{ printf '\xef\xbb\xbf'; cat "$C"; } >"$W/c_bom.jsonl"
sed 's/$/\r/' "$C" >"$W/c_crlf.jsonl"
for cmd in solve train; do
    extra="--budget 3"
    [ $cmd = train ] && extra="--budget 3 --rounds 5 --folds 2 --out $W/o.p"
    run "$cmd: header only" 2 "^allot $cmd: .*c_header_only.jsonl:1: no queries" $cmd "$W/c_header_only.jsonl" $extra
    run "$cmd: no format" 2 "c_no_format.jsonl:1: format: missing" $cmd "$W/c_no_format.jsonl" $extra
    run "$cmd: acc 1.5" 2 "c_acc.jsonl:2: acc\[0\]: outside \[0,1\]" $cmd "$W/c_acc.jsonl" $extra
    run "$cmd: acc 1e999" 2 "c_inf.jsonl:2: acc\[0\]: expected a finite number" $cmd "$W/c_inf.jsonl" $extra
    run "$cmd: acc a string" 2 "c_type.jsonl:2: acc: expected an array" $cmd "$W/c_type.jsonl" $extra
    run "$cmd: duplicate tier" 2 "c_dup_tier.jsonl:1: tiers\[1\]\.name: duplicate tier" $cmd "$W/c_dup_tier.jsonl" $extra
    run "$cmd: trailing garbage" 2 "c_garbage.jsonl:2: invalid JSON: trailing text" $cmd "$W/c_garbage.jsonl" $extra
    run "$cmd: NUL byte" 2 "c_nul.jsonl:2: invalid JSON: a NUL byte" $cmd "$W/c_nul.jsonl" $extra
    run "$cmd: 5000 tiers" 2 "c_many_tiers.jsonl:1: tiers: 5000 tiers, at most 4096" $cmd "$W/c_many_tiers.jsonl" $extra
    run "$cmd: empty file" 2 "e_empty.jsonl: empty file" $cmd "$W/e_empty.jsonl" $extra
    run "$cmd: /dev/null" 2 "/dev/null: empty file" $cmd /dev/null $extra
    run "$cmd: a directory" 3 "e_dir.jsonl: is a directory" $cmd "$W/e_dir.jsonl" $extra
done
run "solve --check glpk: header only (was exit 1)" 2 "c_header_only.jsonl:1: no queries" solve "$W/c_header_only.jsonl" --budget 3 --check glpk
run "solve: BOM accepted" 0 "" solve "$W/c_bom.jsonl" --budget 3
run "solve: CRLF accepted" 0 "" solve "$W/c_crlf.jsonl" --budget 3

# a hard GLPK check must end within its limit and say that it gave up
awk 'BEGIN { srand(7); print "{\"format\":\"allot-curves\",\"version\":1,\"tiers\":[{\"name\":\"t1\"},{\"name\":\"t2\"},{\"name\":\"t3\"},{\"name\":\"t4\"},{\"name\":\"t5\"},{\"name\":\"t6\"},{\"name\":\"t7\"},{\"name\":\"t8\"}]}";
    for (i = 0; i < 3000; i++) { a = 0; printf "{\"id\":\"q%d\",\"acc\":[", i; for (t = 0; t < 8; t++) { a += rand() * (1 - a) * 0.5; printf "%s%.6f", t ? "," : "", a } printf "],\"cost\":[1,2,3,4,5,6,7,8],\"se\":[0,0,0,0,0,0,0,0]}\n" } }' >"$W/c_big.jsonl"
start=$(date +%s)
run "solve --check glpk: gives up within --check-time-limit" 4 "glpk check: gave up: .*time limit" \
    solve "$W/c_big.jsonl" --budget 4 --check glpk --check-time-limit 0.001
[ $(($(date +%s) - start)) -le 20 ] && ok || bad "solve --check glpk took $(($(date +%s) - start)) s"
run "solve --check-time-limit 0" 1 "--check-time-limit: not a number" solve "$C" --budget 3 --check glpk --check-time-limit 0

# train options
TR="--rounds 5 --folds 2 --quiet"
run "train --nthread 100000 (was SIGSEGV)" 1 "^allot train: --nthread: not an integer in 1\.\.256" \
    train "$C" --budget 3 --nthread 100000 --out "$W/o.p"
run "train --rounds 1e9" 1 "--rounds: not an integer in 1\.\.100000" train "$C" --budget 3 --rounds 1000000000 --out "$W/o.p"
run "train --test-fraction/--folds leave too few" 2 "--test-fraction 0\.9 .*--folds 5" \
    train "$C" --budget 3 --test-fraction 0.9 --folds 5 --out "$W/o.p"
run "train --test-part/--folds leave too few" 2 "--test-part 0/2 holds out .* too few for --folds 1000" \
    train "$C" --budget 3 --learner xgboost --test-part 0/2 --folds 1000 --out "$W/o.p"
# tiers named like anything (the old bundle writer's placeholders among them) make a valid bundle
sed '1s/"name":"majority@1"/"name":"@@ALLOT_FEATURES@@"/; 1s/"name":"majority@2"/"name":"\\"@@ALLOT_PROVENANCE@@\\""/' "$C" >"$W/c_placeholder.jsonl"
run "train: tiers named like placeholders" 0 "" train "$W/c_placeholder.jsonl" --budget 3 $TR --out "$W/ph.json"
run "predict: on that bundle" 0 "" predict --model "$W/ph.json" "$W/runs.jsonl"
grep -q '@@ALLOT_FEATURES@@' "$W/stdout" && ok || bad "placeholder-named tier missing from predict's output"

# ---- 3. bundles: predict, audit, replay --policy -----------------------------------------------------

P="$W/policy.json"
head -c 2000 "$P" >"$W/b_truncated.json"
{ cat "$P"; printf 'garbage\n'; } >"$W/b_garbage.json"
sed 's/^{/{"classifier":{"kind":"constant","classes":[0]},/' "$P" >"$W/b_dup_member.json"
{ printf '\xef\xbb\xbf'; cat "$P"; } >"$W/b_bom.json"
sed 's/"format":"allot-policy"/"format":"allot-policy\\u0000x"/' "$P" >"$W/b_nul.json"
printf '{"format":"allot-policy","version":1e999}\n' >"$W/b_inf.json"
run "predict: truncated bundle" 2 "b_truncated.json: policy: not valid JSON" predict --model "$W/b_truncated.json" "$W/runs.jsonl"
run "predict: bundle with trailing garbage" 2 "b_garbage.json: policy: text after the JSON document" predict --model "$W/b_garbage.json" "$W/runs.jsonl"
run "predict: duplicate member" 2 "b_dup_member.json: classifier: duplicate member" predict --model "$W/b_dup_member.json" "$W/runs.jsonl"
run "predict: \\u0000 in the bundle" 2 "b_nul.json: format: contains \\\\u0000" predict --model "$W/b_nul.json" "$W/runs.jsonl"
run "predict: version 1e999" 2 "b_inf.json: version: must be a positive integer" predict --model "$W/b_inf.json" "$W/runs.jsonl"
run "predict: BOM bundle accepted" 0 "" predict --model "$W/b_bom.json" "$W/runs.jsonl"
run "predict: bundle is a directory" 3 "e_dir.jsonl" predict --model "$W/e_dir.jsonl" "$W/runs.jsonl"
run "predict: bundle is /dev/null" 2 "/dev/null: policy: not valid JSON" predict --model /dev/null "$W/runs.jsonl"
run "predict: --rule value on a tier bundle" 1 "--rule value: .* is a tier policy" predict --model "$P" --rule value "$W/runs.jsonl"
run "audit: duplicate member" 2 "b_dup_member.json" audit "$C" --policy "$W/b_dup_member.json" --budget 3 --out "$W/o.a/deep"
[ ! -e "$W/o.a" ] && ok || bad "audit left an empty output directory behind"
run "audit: a directory as the policy" 3 "e_dir.jsonl: is a directory" audit "$C" --policy "$W/e_dir.jsonl" --budget 3 --out "$W/o.a"
run "audit: /dev/null as the policy" 2 "/dev/null" audit "$C" --policy /dev/null --budget 3 --out "$W/o.a"
run "replay --policy: duplicate member" 2 "b_dup_member.json" replay "$W/runs.jsonl" --budget 2 --policy "$W/b_dup_member.json" --out "$W/o.r/deep"
[ ! -e "$W/o.r" ] && ok || bad "replay left an empty output directory behind"

# queries for predict
run "predict: trailing garbage (was exit 0)" 2 "^allot predict: .*e_garbage.jsonl:2: invalid JSON: trailing text" predict --model "$P" "$W/e_garbage.jsonl"
run "predict: NUL byte (was exit 0)" 2 "e_nul.jsonl:2: invalid JSON: a NUL byte" predict --model "$P" "$W/e_nul.jsonl"
run "predict: id not a string" 2 "e_idtype.jsonl:1: id: must be a string" predict --model "$P" "$W/e_idtype.jsonl"
run "predict: duplicate member" 2 "e_dup_member.jsonl:1: samples: duplicate member" predict --model "$P" "$W/e_dup_member.jsonl"
run "predict: \\u0000 in an id" 2 "e_nul_id.jsonl:1: id: contains" predict --model "$P" "$W/e_nul_id.jsonl"
run "predict: empty input" 0 "" predict --model "$P" "$W/e_empty.jsonl"
run "predict: /dev/null input" 0 "" predict --model "$P" /dev/null
run "predict: a directory" 3 "is a directory" predict --model "$P" "$W/e_dir.jsonl"
run "predict: BOM and CRLF" 0 "" predict --model "$P" "$W/ok_crlf.jsonl"
jsonl e_tab_id.jsonl '{"id":"a\\tb\\nc\\\\d","prompt":"x"}'
run "predict: tab and newline in an id" 0 "" predict --model "$P" "$W/e_tab_id.jsonl"
[ "$(wc -l <"$W/stdout")" -eq 1 ] && [ "$(awk -F'\t' '{print NF}' "$W/stdout")" -eq 5 ] &&
    grep -q '^a\\tb\\nc\\\\d	' "$W/stdout" && ok || bad "predict TSV: id not escaped: $(cat "$W/stdout")"

# ---- 4. import ----------------------------------------------------------------------------------------

R="--models a,b"
printf 'sample_id,prompt,a,a|total_cost,b,b|total_cost\nr1,hi,1,0.1,0,0.2\nr2,"x, y",0,0.1,1,0.3\n' >"$W/router.csv"
printf '{"sample_id":"r1","a":1,"a|total_cost":0.1,"b":0,"b|total_cost":0.2}\n' >"$W/router.jsonl"
awk 'BEGIN { print "sample_id,prompt,a,a|total_cost,b,b|total_cost"; for (i = 0; i < 300; i++) printf "r%d,prompt number %d,%d,0.1,%d,0.2\n", i, i, i % 2, (i + 1) % 2 }' >"$W/router_big.csv"
jsonl i_garbage.jsonl '{"sample_id":"r1","a":1,"a|total_cost":0.1} x'
jsonl i_dup.jsonl '{"sample_id":"r1","a":1,"a":0,"a|total_cost":0.1}'
{ printf '\xef\xbb\xbf'; cat "$W/router.csv"; } >"$W/i_bom.csv"
run "import router: ok" 0 "" import router "$W/router.csv" --out "$W/imp.jsonl"
run "import router: BOM csv" 0 "" import router "$W/i_bom.csv" --out "$W/imp_bom.jsonl"
cmp -s "$W/imp.jsonl" "$W/imp_bom.jsonl" && ok || bad "import: a BOM changes the result"
run "import router: trailing garbage" 2 "i_garbage.jsonl:1: invalid JSON: trailing text" import router "$W/i_garbage.jsonl" --out "$W/o.i"
run "import router: duplicate member" 2 "i_dup.jsonl:1: a: duplicate member" import router "$W/i_dup.jsonl" --out "$W/o.i"
printf '{"sample_id":"r1","a":1,"a|total_cost":0.1}\n{"sample_id":"r2","a":1,"a|total_cost":0.1}\0\n' >"$W/i_nul.jsonl"
run "import router: NUL byte" 2 "i_nul.jsonl:2: .*NUL" import router "$W/i_nul.jsonl" --out "$W/o.i"
run "import router: a directory" 3 "is a directory" import router "$W/e_dir.jsonl" --out "$W/o.i"
run "import lm-eval: invalid JSON" 2 "e_invalid.jsonl:" import lm-eval --grader exact --task t "$W/e_invalid.jsonl" --out "$W/o.i"

# ---- 5. outputs ---------------------------------------------------------------------------------------

# unwritable places (as root permissions do not stop us: a path through a file, /proc)
: >"$W/afile"
run "curves: output under a file" 3 "o.c|afile" curves "$W/runs.jsonl" $T --out "$W/afile/o.c"
run "curves: output in /proc" 3 "cannot create a temporary file" curves "$W/runs.jsonl" $T --out /proc/allot-no-such-dir/o.c
run "curves: output is a directory" 3 "e_dir.jsonl: is a directory" curves "$W/runs.jsonl" $T --out "$W/e_dir.jsonl"
run "solve: allocation under a file" 3 "" solve "$C" --budget 3 --out-allocation "$W/afile/o.csv"
run "audit: output under a file" 3 "cannot create directory" audit "$C" --policy "$P" --budget 3 --out "$W/afile/o.a"
run "replay: output under a file" 3 "cannot create directory" replay "$W/runs.jsonl" --budget 2 --out "$W/afile/o.r"

# a full disk: the file-size limit (ulimit -f, 1 KiB blocks) makes every write beyond it fail
full() { # NAME CMD...: under ulimit -f 1, expect exit 3 "File too large" and nothing left
    local name=$1
    shift
    rm -f "$W"/o.*
    (ulimit -f 1 && exec timeout "$LIMIT" "$A" "$@") >"$W/stdout" 2>"$W/stderr"
    local rc=$?
    if [ $rc -ne 3 ] || ! grep -q "File too large" "$W/stderr"; then
        bad "$name: full disk: exit $rc, expected 3 with 'File too large': $(head -c 300 "$W/stderr")"
    elif [ -n "$(leftovers)" ]; then
        bad "$name: full disk: left behind: $(leftovers | tr '\n' ' ')"
    else
        ok
    fi
}
full "curves" curves "$W/runs.jsonl" --tiers majority@1,2,4 --out "$W/o.c" --quiet
full "solve --out-allocation" solve "$W/c_big.jsonl" --budget 3 --out-allocation "$W/o.csv"
full "train" train "$C" --budget 3 $TR --out "$W/o.p"
full "audit" audit "$C" --policy "$P" --budget 3 --bootstrap 10 --no-plots --quiet --out "$W/o.a"
[ ! -e "$W/o.a/report.json" ] && [ ! -e "$W/o.a/report.md" ] && ok || bad "audit: a report was written on a full disk"
rm -rf "$W/o.a"
full "replay" replay "$W/runs.jsonl" --budget 2 --shuffles 0 --quiet --out "$W/o.r"
rm -rf "$W/o.r"
full "import" import router "$W/router_big.csv" --out "$W/o.i"

# figures: a truncated image is never renamed into place; figures missing is never exit 0
if command -v gnuplot >/dev/null 2>&1; then
    rm -rf "$W/fig" "$W"/o.*
    (ulimit -f 24 && exec timeout "$LIMIT" "$A" audit "$C" --policy "$P" --budget 3 --bootstrap 10 --quiet \
        --out "$W/fig") >/dev/null 2>"$W/stderr"
    rc=$?
    [ $rc -eq 3 ] && grep -q "incomplete\|too large" "$W/stderr" && ok ||
        bad "audit figures on a full disk: exit $rc: $(head -c 300 "$W/stderr")"
    for f in "$W"/fig/*.svg; do
        [ -e "$f" ] || continue
        tail -c 10 "$f" | grep -q '</svg>' && ok || bad "truncated figure renamed into place: $f"
    done
    [ -z "$(leftovers)" ] && ok || bad "audit figures: left behind: $(leftovers | tr '\n' ' ')"
fi
mkdir -p "$W/nognuplot"
(T_=$(command -v timeout) && PATH="$W/nognuplot" exec "$T_" "$LIMIT" "$A" audit "$C" --policy "$P" --budget 3 --bootstrap 10 --quiet \
    --out "$W/nofig") >/dev/null 2>"$W/stderr"
rc=$?
[ $rc -eq 5 ] && grep -q "gnuplot not found" "$W/stderr" && [ -e "$W/nofig/report.md" ] && [ -e "$W/nofig/report.json" ] &&
    ok || bad "audit --quiet without gnuplot: exit $rc (must not be 0): $(head -c 300 "$W/stderr")"

# symlinks are written through, FIFOs written into, existing modes and the umask kept
echo old >"$W/target.jsonl"
chmod 600 "$W/target.jsonl"
ln -s target.jsonl "$W/link.jsonl"
run "curves: through a symlink" 0 "" curves "$W/runs.jsonl" $T --out "$W/link.jsonl" --quiet
[ -L "$W/link.jsonl" ] && grep -q allot-curves "$W/target.jsonl" && ok || bad "symlink replaced or not written through"
[ "$(stat -c %a "$W/target.jsonl")" = 600 ] && ok || bad "existing mode 0600 not kept: $(stat -c %a "$W/target.jsonl")"
ln -s no-such-dir/x "$W/dangling.jsonl"
run "curves: dangling symlink" 3 "dangling.jsonl: a symbolic link" curves "$W/runs.jsonl" $T --out "$W/dangling.jsonl"
[ -L "$W/dangling.jsonl" ] && ok || bad "dangling symlink replaced"
(umask 077 && exec "$A" curves "$W/runs.jsonl" $T --out "$W/umask.jsonl" --quiet) >/dev/null 2>&1
[ "$(stat -c %a "$W/umask.jsonl")" = 600 ] && ok || bad "umask 077 not respected: $(stat -c %a "$W/umask.jsonl")"
(umask 022 && exec "$A" curves "$W/runs.jsonl" $T --out "$W/umask2.jsonl" --quiet) >/dev/null 2>&1
[ "$(stat -c %a "$W/umask2.jsonl")" = 644 ] && ok || bad "umask 022: mode $(stat -c %a "$W/umask2.jsonl")"
mkfifo "$W/fifo"
(timeout "$LIMIT" cat "$W/fifo" >"$W/fifo.out") &
reader=$!
run "curves: into a FIFO" 0 "" curves "$W/runs.jsonl" $T --out "$W/fifo" --quiet
wait $reader
[ -p "$W/fifo" ] && grep -q allot-curves "$W/fifo.out" && ok || bad "FIFO output replaced or not written into"

# a failed train (here: a bundle the options make impossible? no: the output is a directory) keeps
# the earlier bundle; an interrupted run removes its temporary file and keeps the earlier output
cp "$P" "$W/keep.json"
run "train: fails before writing" 2 "--test-fraction" train "$C" --budget 3 --test-fraction 0.95 --folds 2 --out "$W/keep.json"
cmp -s "$P" "$W/keep.json" && ok || bad "a failed train replaced the earlier bundle"

# signals mid-write: import streams into its temporary file while its input (a FIFO) stays open
for sig in TERM INT; do
    echo "earlier output" >"$W/sig.jsonl"
    rm -f "$W/in.fifo"
    mkfifo "$W/in.fifo"
    timeout "$LIMIT" "$A" import router "$W/in.fifo" --out "$W/sig.jsonl" >/dev/null 2>&1 &
    pid=$!
    exec 3>"$W/in.fifo"
    head -2 "$W/router.csv" >&3
    for _ in $(seq 100); do
        [ -n "$(find "$W" -name 'sig.jsonl.allot-tmp.*')" ] && break
        sleep 0.05
    done
    [ -n "$(find "$W" -name 'sig.jsonl.allot-tmp.*')" ] && ok || bad "SIG$sig: no temporary file seen mid-write"
    kill -$sig $pid 2>/dev/null
    wait $pid
    rc=$?
    exec 3>&-
    [ -z "$(find "$W" -name '*.allot-tmp.*')" ] && ok || bad "SIG$sig: temporary file left: $(find "$W" -name '*.allot-tmp.*')"
    [ "$(cat "$W/sig.jsonl")" = "earlier output" ] && ok || bad "SIG$sig: the earlier output was touched"
    [ $rc -ne 0 ] && ok || bad "SIG$sig: exit 0 after a signal"
done

echo "badinput: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
