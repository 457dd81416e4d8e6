# common.sh - helpers shared by the install tests (sourced).
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
  echo "install: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit $?
}
# queries RUNS_JSONL OUT_TSV: id, prompt, record (features + meta) with jq's @tsv escapes
queries_tsv() {
  jq -r '[.id, .prompt, (with_entries(select(.key == "features" or .key == "meta")) | tojson)] | @tsv' "$1" > "$2"
}
# same_file DESCRIPTION A B: the files are equal and not empty
same_file() {
  if [ -s "$2" ] && cmp -s "$2" "$3"; then ok "$1"; else
    bad "$1"
    diff "$2" "$3" | head -5
  fi
}
