#!/usr/bin/env bash
# Usage: test_import_cli.sh ALLOT_BINARY FIXTURE_DIR
# `allot import` on fixtures written in each source format's documented shape: what it writes,
# the pipe import | curves | solve for each format, gzip and stdin inputs, and every kind of bad
# input (named by file, line and field, exit 2, nothing written).
set -u
allot=$1
fx=$2
pass=0; fail=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}
has() { grep -qF -- "$2" "$1"; }
jqe() { jq -e "$@" >/dev/null; }
command -v jq >/dev/null || { echo "skipped: jq not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

lm=samples_gsm8k-cot-self-consistency_2024-05-13T12-34-56.789012.jsonl
lm_old=samples_arithmetic_2023-11-02T10-00-00.000001.jsonl
cp "$fx"/*.jsonl "$fx"/*.csv .

# ---- lm-evaluation-harness ---------------------------------------------------------------------
"$allot" import lm-eval --grader numeric "$lm" "$lm_old" --out lm.jsonl --quiet >sum 2>err; rc=$?
check "lm-eval: exit 0" test $rc -eq 0
check "lm-eval: one query per document (filter repeats skipped)" test "$(wc -l <lm.jsonl)" -eq 6
check "lm-eval: summary counts the skipped filter rows" has sum "4 rows repeating a document"
check "lm-eval: id from task + doc_id" test "$(jq -r 'select(.meta.doc_id == 2) | .id' lm.jsonl | head -1)" = gsm8k-cot-self-consistency/2
check "lm-eval: every generation re-graded (4 per doc)" test "$(jq -s '[.[0].samples[].correct] | map(select(.)) | length' lm.jsonl)" -eq 3
check "lm-eval: gold normalised from the #### target" test "$(jq -r -s '.[3].gold' lm.jsonl)" = 3000
check "lm-eval: answers normalised (3,000 -> 3000)" test "$(jq -r -s '[.[3].samples[].answer] | join(" ")' lm.jsonl)" = "3000 3000 4000 3000"
check "lm-eval: prompt from arguments.gen_args_0.arg_0" jqe -s '.[0].prompt | endswith("April and May?\nA:")' lm.jsonl
check "lm-eval: prompt from the older arguments[0][0]" test "$(jq -r 'select(.id == "arithmetic/1") | .prompt' lm.jsonl)" = $'Question: What is 1,000 + 234?\nAnswer:'
check "lm-eval: a non-extractable answer is null" test "$(jq -s '.[1].samples[3].answer' lm.jsonl)" = null
check "lm-eval: non-extractable answers reported on stderr" has err "1 of 20 samples had no answer the grader could extract"
check "lm-eval: ... with file, line and field" has err "$lm:2: resps[0][3]"
"$allot" curves lm.jsonl --tiers majority@1,2 --cap-k --quiet --out lm_curves.jsonl >/dev/null 2>&1
check "lm-eval: the output reads back" test $? -eq 0
gzip -c "$lm" >"$lm.gz"
"$allot" import lm-eval --grader numeric "$lm" --out plain.jsonl --quiet >/dev/null 2>&1
"$allot" import lm-eval --grader numeric "$lm.gz" --out gz.jsonl --quiet >/dev/null 2>&1
check "lm-eval: a .gz input gives the same runs" cmp -s plain.jsonl gz.jsonl
gzip -c "$lm" | "$allot" import lm-eval --grader numeric --task gsm8k-cot-self-consistency - --out stdin.jsonl --quiet >/dev/null 2>&1
check "lm-eval: gzip on stdin with --task gives the same runs" cmp -s plain.jsonl stdin.jsonl
"$allot" import lm-eval --grader numeric - --out x.jsonl <"$lm" >/dev/null 2>err; rc=$?
check "lm-eval: stdin without --task is a usage error" test $rc -eq 1
check "lm-eval: ... that says to give --task" has err "give --task"

# ---- OpenAI Batch API / vLLM ------------------------------------------------------------------
"$allot" import openai --grader regex/numeric --regex 'Answer: *\$?([0-9.,]+)' --requests openai_batch_requests.jsonl \
  openai_batch_output.jsonl --out oa.jsonl --quiet >sum 2>err; rc=$?
check "openai: exit 0" test $rc -eq 0
check "openai: one query per response, in the output's order" test "$(jq -r .id oa.jsonl | tr '\n' ' ')" = "gsm8k-2 gsm8k-0 gsm8k-1 "
check "openai: n choices = n samples" test "$(jq -s '[.[].samples | length] | add' oa.jsonl)" -eq 12
check "openai: prompt = the last user message" jqe -s '.[1].prompt | startswith("Natalia sold clips")' oa.jsonl
check "openai: gold from body.metadata.gold" test "$(jq -r -s '.[2].gold' oa.jsonl)" = 10
check "openai: model from the response" test "$(jq -r -s '.[0].samples[0].model' oa.jsonl)" = gpt-4o-mini-2024-07-18
check "openai: per-choice tokens from logprobs" test "$(jq -c -s '[.[2].samples[].cost]' oa.jsonl)" = "[10,2,2,3]"
check "openai: otherwise completion tokens split evenly" test "$(jq -c -s '[.[1].samples[].cost]' oa.jsonl)" = "[7,7,7,7]"
check "openai: the even split is reported" has sum "2 responses gave no per-choice token counts"
"$allot" import openai --grader regex/numeric --regex 'Answer: *\$?([0-9.,]+)' --requests openai_batch_requests.jsonl \
  openai_batch_output.jsonl --prompt-price 0.00000015 --completion-price 0.0000006 --out oa_usd.jsonl --quiet >sum 2>&1
check "openai: prices give dollars (prompt tokens shared by the choices)" \
  jqe -s '(.[1].samples[0].cost - (7 * 0.0000006 + 40 * 0.00000015 / 4)) | fabs < 1e-15' oa_usd.jsonl
check "openai: dollar costs stay visible in the summary" grep -qE '0\.00000[0-9]|[0-9]e-0[0-9]' sum
"$allot" import openai --grader numeric --requests completions_requests.jsonl completions_responses.jsonl --out cmp.jsonl --quiet >/dev/null 2>&1; rc=$?
check "openai: bare completion responses join by position" test "$rc-$(jq -r .id cmp.jsonl | tr '\n' ' ')" = "0-arith-0 arith-1 "
check "openai: completions text and top-level gold" test "$(jq -c -s '[.[0].samples[].correct]' cmp.jsonl)" = "[true,false,true]"

jq -c '.response.body + {custom_id}' openai_batch_output.jsonl >bare_with_ids.jsonl
"$allot" import openai --grader regex/numeric --regex 'Answer: *\$?([0-9.,]+)' --requests openai_batch_requests.jsonl \
  bare_with_ids.jsonl --out bare.jsonl --quiet >/dev/null 2>&1
check "openai: bare responses with a custom_id join by id" cmp -s oa.jsonl bare.jsonl
"$allot" import openai --grader numeric --requests completions_requests.jsonl completions_responses.jsonl --out - --json \
  --quiet >cmp_stdout.jsonl 2>json_summary
check "openai: --json summary on stderr when the data goes to stdout" test "$(jq -r '.n_samples' json_summary)" = 6
check "openai: ... and only the data on stdout" test "$(wc -l <cmp_stdout.jsonl)" -eq 2

# ---- search-and-learn --------------------------------------------------------------------------
"$allot" import sal best_of_n_completions.jsonl --model Llama-3.2-1B-Instruct --out sal.jsonl --quiet >sum 2>err; rc=$?
check "sal: exit 0 (grader boxed by default)" test $rc -eq 0
check "sal: id from unique_id" test "$(jq -r -s '.[0].id' sal.jsonl)" = test/prealgebra/1233.json
check "sal: step_scores from scores" test "$(jq -c -s '.[0].samples[0].step_scores' sal.jsonl)" = "[0.91,0.95,0.97]"
check "sal: score = last step score by default" test "$(jq -s '.[0].samples[1].score' sal.jsonl)" = 0.2
check "sal: cost = completion_tokens" test "$(jq -c -s '[.[1].samples[].cost]' sal.jsonl)" = "[90,75,60,256]"
check "sal: \\dfrac and 14/3 group with \\frac{14}{3}" test "$(jq -r -s '[.[1].samples[0,1].answer] | unique | length' sal.jsonl)" -eq 1
check "sal: meta subject and level" test "$(jq -c -s '.[2].meta' sal.jsonl)" = '{"subject":"Number Theory","level":3}'
check "sal: a completion without \\boxed is null" test "$(jq -s '.[1].samples[3].answer' sal.jsonl)" = null
"$allot" import sal best_of_n_completions.jsonl --agg min --out sal_min.jsonl --quiet >/dev/null 2>&1
check "sal: --agg min" test "$(jq -s '.[0].samples[0].score' sal_min.jsonl)" = 0.91

# ---- router tables -----------------------------------------------------------------------------
"$allot" import router routerbench.csv --out r_csv.jsonl --quiet >sum 2>err; rc=$?
check "router: CSV exit 0" test $rc -eq 0
"$allot" import router routerbench.jsonl --out r_jsonl.jsonl --quiet >/dev/null 2>&1
check "router: CSV and JSONL give the same runs" cmp -s r_csv.jsonl r_jsonl.jsonl
check "router: one tier per model" test "$(jq -r -s '.[0].tiers | keys_unsorted | join(",")' r_csv.jsonl)" = "gpt-3.5-turbo-1106,gpt-4-1106-preview,meta/llama-2-70b-chat"
check "router: quoted CSV prompt with quotes and newlines" jqe -s '.[0].prompt | contains("(\"type one-a\") supernova?\nA.")' r_csv.jsonl
check "router: acc and cost" test "$(jq -c -s '.[3].tiers["gpt-4-1106-preview"]' r_csv.jsonl)" = '{"acc":0.9,"cost":0.0117}'
check "router: dollar costs visible in the summary (not 0.0000)" grep -qE 'meta/llama-2-70b-chat +5 +0\.5200 +0\.0001658' sum
gzip -c routerbench.csv | "$allot" import router - --models gpt-4-1106-preview,gpt-3.5-turbo-1106 --out r_two.jsonl --quiet >/dev/null 2>&1
check "router: --models picks and orders (gzip on stdin)" test "$(jq -r -s '.[0].tiers | keys_unsorted | join(",")' r_two.jsonl)" = "gpt-4-1106-preview,gpt-3.5-turbo-1106"

# ---- the pipe import | curves | solve, one fixture per format ------------------------------------
pipe() {  # pipe NAME BUDGET CURVES_TIERS IMPORT_ARGS...
  local name=$1 budget=$2 tiers=$3; shift 3
  set -o pipefail
  "$allot" import "$@" --out - --quiet 2>/dev/null | "$allot" curves - $tiers --out - --quiet 2>/dev/null |
    "$allot" solve - --budget "$budget" >"pipe_$name" 2>&1
  local rc=$?
  set +o pipefail
  check "pipe $name: import | curves | solve exits 0" test $rc -eq 0
  check "pipe $name: solve allocated every query" grep -q "tier counts" "pipe_$name"
}
pipe lm-eval 2 "--tiers majority@1,2,4" lm-eval --grader numeric "$lm"
pipe openai 14 "--tiers majority@1,2,4" openai --grader regex/numeric --regex 'Answer: *([0-9.,]+)' --requests openai_batch_requests.jsonl openai_batch_output.jsonl
pipe sal 100 "--tiers majority@1,2,4,best@4/last" sal best_of_n_completions.jsonl
pipe router 0.001 "" router routerbench.csv

# ---- bad input: file:line: field, exit 2, nothing written ---------------------------------------
bad() {  # bad NAME EXPECTED_MESSAGE IMPORT_ARGS... (the output is out.jsonl, which must not appear)
  local name=$1 msg=$2; shift 2
  rm -f out.jsonl
  "$allot" import "$@" --out out.jsonl --quiet >/dev/null 2>err; local rc=$?
  check "$name: exit 2 (rc=$rc)" test $rc -eq 2
  check "$name: names \"$msg\"" has err "$msg"
  check "$name: nothing written" test ! -e out.jsonl
  check "$name: no temporary file left" test -z "$(ls out.jsonl*.allot-tmp.* 2>/dev/null)"
  "$allot" import "$@" --out - --quiet >stdout 2>/dev/null
  check "$name: nothing on stdout with --out -" test ! -s stdout
}
bad_lm() { head -n "$1" "$lm" >"$2"; printf '%s\n' "$3" >>"$2"; }
bad_lm 2 samples_cut_2024-01-01T00-00-00.jsonl '{"doc_id": 9, "resps": [["x"]'
bad "lm-eval malformed line" "samples_cut_2024-01-01T00-00-00.jsonl:3: invalid JSON" lm-eval --grader numeric samples_cut_2024-01-01T00-00-00.jsonl
bad_lm 1 samples_ll_2024-01-01T00-00-00.jsonl '{"doc_id": 7, "target": "1", "arguments": [["ctx", " a"]], "resps": [[[-1.5, false]], [[-0.5, true]]]}'
bad "lm-eval loglikelihood rows" "samples_ll_2024-01-01T00-00-00.jsonl:2: resps[0][0]: expected a string" lm-eval --grader exact samples_ll_2024-01-01T00-00-00.jsonl
bad_lm 4 samples_rerun_2024-01-01T00-00-00.jsonl '{"doc_id": 0, "target": "72", "resps": [["a", "b"]]}'
bad "lm-eval same document, other generations" "samples_rerun_2024-01-01T00-00-00.jsonl:5: resps: document" lm-eval --grader numeric samples_rerun_2024-01-01T00-00-00.jsonl
bad_lm 0 samples_notarget_2024-01-01T00-00-00.jsonl '{"doc_id": 0, "resps": [["72"]]}'
bad "lm-eval target missing" "samples_notarget_2024-01-01T00-00-00.jsonl:1: target: missing" lm-eval --grader numeric samples_notarget_2024-01-01T00-00-00.jsonl
bad_lm 0 samples_nonum_2024-01-01T00-00-00.jsonl '{"doc_id": 0, "target": "Paris", "resps": [["72"]]}'
bad "lm-eval gold the grader cannot use" "samples_nonum_2024-01-01T00-00-00.jsonl:1: target: no number" lm-eval --grader numeric samples_nonum_2024-01-01T00-00-00.jsonl

oa=(openai --grader numeric --requests openai_batch_requests.jsonl)
jq -c 'if .custom_id == "gsm8k-0" then .response.body.choices = [] else . end' openai_batch_output.jsonl >o_nochoices.jsonl
bad "openai response without choices" "o_nochoices.jsonl:2: response.body.choices: empty" "${oa[@]}" o_nochoices.jsonl
jq -c 'if .custom_id == "gsm8k-0" then del(.response.body.choices) else . end' openai_batch_output.jsonl >o_nochoices2.jsonl
bad "openai response without a choices field" "o_nochoices2.jsonl:2: response.body.choices: missing" "${oa[@]}" o_nochoices2.jsonl
head -n 2 openai_batch_output.jsonl >o_short.jsonl
bad "openai request without a response" "openai_batch_requests.jsonl:2: custom_id: no response to \"gsm8k-1\"" "${oa[@]}" o_short.jsonl
jq -c 'if .custom_id == "gsm8k-0" then .custom_id = "gsm8k-99" else . end' openai_batch_output.jsonl >o_unknown.jsonl
bad "openai response to no request" "o_unknown.jsonl:2: custom_id: no request \"gsm8k-99\"" "${oa[@]}" o_unknown.jsonl
jq -c 'if .custom_id == "gsm8k-1" then .response.body.usage.completion_tokens = "17" else . end' openai_batch_output.jsonl >o_costtype.jsonl
bad "openai cost field of the wrong type" "o_costtype.jsonl:3: response.body.usage.completion_tokens: expected a number" "${oa[@]}" o_costtype.jsonl
jq -c 'if .custom_id == "gsm8k-2" then (.response = null | .error = {"code": "server_error", "message": "overloaded"}) else . end' openai_batch_output.jsonl >o_failed.jsonl
bad "openai failed request" "o_failed.jsonl:1: error: the request failed (overloaded)" "${oa[@]}" o_failed.jsonl
jq -c 'if .custom_id == "gsm8k-2" then .response.status_code = 429 else . end' openai_batch_output.jsonl >o_429.jsonl
bad "openai HTTP error status" "o_429.jsonl:1: response.status_code: 429" "${oa[@]}" o_429.jsonl
cat openai_batch_output.jsonl openai_batch_output.jsonl >o_twice.jsonl
bad "openai two responses to one request" "o_twice.jsonl:4: custom_id: a second response" "${oa[@]}" o_twice.jsonl
jq -c 'del(.body.metadata)' openai_batch_requests.jsonl >r_nogold.jsonl
bad "openai request without a reference" "r_nogold.jsonl:1: gold: missing" openai --grader numeric --requests r_nogold.jsonl openai_batch_output.jsonl
printf '{"custom_id": "gsm8k-0", "body": {}\n' >r_bad.jsonl
bad "openai malformed request line" "r_bad.jsonl:1: invalid JSON" openai --grader numeric --requests r_bad.jsonl openai_batch_output.jsonl

jq -c 'if .unique_id == "test/algebra/2584.json" then .completion_tokens[2] = "60" else . end' best_of_n_completions.jsonl >s_costtype.jsonl
bad "sal cost field of the wrong type" "s_costtype.jsonl:2: completion_tokens[2]: expected a number" sal s_costtype.jsonl
jq -c 'if .unique_id == "test/algebra/2584.json" then .scores[1] = 0.5 else . end' best_of_n_completions.jsonl >s_scores.jsonl
bad "sal step scores of the wrong type" "s_scores.jsonl:2: scores[1]: expected an array" sal s_scores.jsonl
cat best_of_n_completions.jsonl best_of_n_completions.jsonl >s_twice.jsonl
bad "sal duplicate id" "s_twice.jsonl:4: id: duplicate id \"test/prealgebra/1233.json\"" sal s_twice.jsonl
jq -c 'del(.answer)' best_of_n_completions.jsonl >s_noanswer.jsonl
bad "sal answer missing" "s_noanswer.jsonl:1: answer: missing" sal s_noanswer.jsonl

jq -c 'if .sample_id == "hellaswag.val.31" then .["gpt-4-1106-preview|total_cost"] = "0.00061" else . end' routerbench.jsonl >t_costtype.jsonl
bad "router cost field of the wrong type" "t_costtype.jsonl:3: gpt-4-1106-preview|total_cost: expected a number" router t_costtype.jsonl
sed 's/,0.0117,/,lots,/' routerbench.csv >t_costtext.csv
bad "router CSV cost that is not a number" "gpt-4-1106-preview|total_cost: expected a number (a cost), found \"lots\"" router t_costtext.csv
jq -c 'if .sample_id == "mtbench.3" then .["gpt-3.5-turbo-1106"] = 8 else . end' routerbench.jsonl >t_acc.jsonl
bad "router score outside [0,1]" "t_acc.jsonl:4: gpt-3.5-turbo-1106: outside [0,1]" router t_acc.jsonl
printf 'sample_id,prompt,m,m|total_cost\nq1,"never closed,1,0.1\n' >t_quote.csv
bad "router CSV quote never closed" "t_quote.csv:2: field 2: quoted field not closed" router t_quote.csv
printf 'sample_id,prompt,m,m|total_cost\nq1,p,1\n' >t_fields.csv
bad "router CSV row with too few fields" "t_fields.csv:2: expected 4 fields" router t_fields.csv

jq -c 'del(.["meta/llama-2-70b-chat"], .["meta/llama-2-70b-chat|total_cost"])' routerbench.jsonl | sed 's/"sample_id":"/"sample_id":"b-/' >t_fewer.jsonl
bad "router tables with different models" "t_fewer.jsonl:1: 2 models where the earlier tables have 3" router routerbench.jsonl t_fewer.jsonl
bad "router id column missing" "routerbench.jsonl:1: id: no such column" router --id-column id routerbench.jsonl
head -c 2000 "$lm.gz" >samples_trunc_2024-01-01T00-00-00.jsonl.gz
rm -f out.jsonl
"$allot" import lm-eval --grader numeric samples_trunc_2024-01-01T00-00-00.jsonl.gz --out out.jsonl --quiet >/dev/null 2>err; rc=$?
check "truncated .gz: exit 3" test $rc -eq 3
check "truncated .gz: named" has err "samples_trunc_2024-01-01T00-00-00.jsonl.gz:"
check "truncated .gz: nothing written" test ! -e out.jsonl
echo old >kept.jsonl
"$allot" import sal s_costtype.jsonl --out kept.jsonl --quiet >/dev/null 2>&1
check "a failed import leaves an existing output untouched" test "$(cat kept.jsonl)" = old

# ---- usage -------------------------------------------------------------------------------------
"$allot" import --help >h 2>&1; rc=$?
check "--help exits 0 and lists exit codes" test "$rc$(grep -c 'Exit codes' h)" = 01
usage() {  # usage NAME ARGS...
  local name=$1; shift
  "$allot" import "$@" >/dev/null 2>err; local rc=$?
  check "usage: $name exits 1 (rc=$rc)" test $rc -eq 1
  check "usage: $name names allot import" has err "allot import"
}
usage "unknown format" nosuch "$lm" --out x.jsonl
usage "no --out" lm-eval --grader numeric "$lm"
usage "no input" lm-eval --grader numeric --out x.jsonl
usage "lm-eval without a grader" lm-eval "$lm" --out x.jsonl
usage "a grader for router tables" router --grader exact routerbench.csv --out x.jsonl
usage "openai without --requests" openai --grader numeric openai_batch_output.jsonl --out x.jsonl
usage "unknown grader" lm-eval --grader bogus "$lm" --out x.jsonl
usage "stdin twice" openai --grader numeric --requests - - --out x.jsonl
usage "unknown option" lm-eval --no-such-option "$lm" --out x.jsonl
check "usage errors write nothing" test ! -e x.jsonl

echo "import.cli: $pass passed, $fail failed"
test $fail -eq 0
