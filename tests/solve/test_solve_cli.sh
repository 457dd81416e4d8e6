#!/bin/sh
# allot solve command line: exit codes, figures on a hand-checked instance, --json, --frontier,
# --method both, --check glpk and --out-allocation.  Usage: test_solve_cli.sh ALLOT SRC_DIR WORK_DIR
set -u
ALLOT=$1; SRC=$2; WORK=$3
mkdir -p "$WORK" || exit 1
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_solve_cli.sh: FAIL: $*" >&2; }
check_rc() { # expected-rc description command...
    want=$1; what=$2; shift 2
    "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, expected $want ($(head -c 300 "$WORK/err"))"; fi
}
C="$SRC/small.curves.jsonl"

check_rc 0 "--help" "$ALLOT" solve --help
grep -q "Exit codes" "$WORK/out" && ok || bad "--help lacks the exit codes"
check_rc 1 "missing --budget" "$ALLOT" solve "$C"
check_rc 1 "bad --budget" "$ALLOT" solve "$C" --budget -1
check_rc 1 "bad --method" "$ALLOT" solve "$C" --budget 2 --method simplex
check_rc 1 "bad --check" "$ALLOT" solve "$C" --budget 2 --check cplex
check_rc 1 "unknown option" "$ALLOT" solve "$C" --budget 2 --frobnicate
check_rc 3 "missing file" "$ALLOT" solve "$WORK/does-not-exist.jsonl" --budget 2
printf '{"format":"allot-curves","version":1,"tiers":[{"name":"a"}]}\n{"id":"x","acc":[1.5],"cost":[1],"se":[0]}\n' >"$WORK/badcurves.jsonl"
check_rc 2 "acc outside [0,1]" "$ALLOT" solve "$WORK/badcurves.jsonl" --budget 2

# Budget 2 (total 8): greedy by slope: medium t1->t2 (0.2), hard t2->t4 (0.15) needs t1->t2 (0.1)
# first... the hulls: easy (1,.9)(2,.95)(4,.99): slopes .05,.02; medium .2,.1; hard .1,.15 -> hull
# (1,.1)(4,.5) slope .1333; odd: none. Walk: medium .2 (cost 5), hard .1333 (8): budget exhausted,
# medium .1 is the crossing with weight 0 -> lambda* = 0.1, integral acc (.9+.6+.5+0)/4 = 0.5.
check_rc 0 "solve --json --method both --check glpk" "$ALLOT" solve "$C" --budget 2 --json --method both --check glpk \
    --frontier --out-allocation "$WORK/alloc.csv"
if command -v jq >/dev/null 2>&1; then
    jq -e '.oracle.mean_acc == 0.5 and (.oracle.lambda - 0.1 | fabs) < 1e-12 and .oracle.fractional == null and .oracle.feasible' \
        "$WORK/out" >/dev/null && ok || bad "json oracle figures: $(cat "$WORK/out")"
    jq -e '.glpk.ok and .glpk.int_solved and (.glpk.lp_value - 0.5 | fabs) < 1e-12' "$WORK/out" >/dev/null && ok ||
        bad "json glpk figures"
    jq -e '.methods.agree and .bisect.mean_acc == 0.5' "$WORK/out" >/dev/null && ok || bad "json bisect figures"
    jq -e '.best_uniform.tier == "t2" and (.frontier | length) == 6 and .frontier[0].lambda == null' "$WORK/out" \
        >/dev/null && ok || bad "json baselines/frontier"
else
    grep -q '"mean_acc":	0.5' "$WORK/out" && ok || bad "json lacks mean_acc 0.5"
fi
printf 'id,tier\neasy,t1\nmedium,t2\nhard,t4\n"q,""odd""",t1\n' >"$WORK/alloc.want"
cmp -s "$WORK/alloc.csv" "$WORK/alloc.want" && ok || bad "allocation file differs: $(cat "$WORK/alloc.csv")"
ls "$WORK" | grep -q '\.allot-tmp\.' && bad "temporary file left behind" || ok

# budget 1.5: LP has a fractional query
check_rc 0 "solve 1.5" "$ALLOT" solve "$C" --budget 1.5
grep -q "fractional query medium: t1 -> t2, weight 1.0000\|fractional query hard" "$WORK/out" && ok ||
    bad "fractional query not reported: $(cat "$WORK/out")"
grep -q "vs t1" "$WORK/out" && ok || bad "no comparison with the best uniform tier"
# infeasible budget: reported, exit 0
check_rc 0 "infeasible" "$ALLOT" solve "$C" --budget 0.5 --check glpk
grep -q "INFEASIBLE" "$WORK/out" && ok || bad "infeasible not reported"
grep -q "no single tier fits" "$WORK/out" && ok || bad "no uniform tier message"

echo "solve-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
