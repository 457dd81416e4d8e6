#!/usr/bin/env bash
# Usage: check_exports.sh CC INCLUDE_DIR SHARED_LIB STATIC_LIB
#
# The runtime's binary interface is exactly its public headers:
#   1. every function declared in include/allot/*.h is marked ALLOT_API;
#   2. the dynamic symbols liballot.so exports (nm -D) are exactly those functions: nothing
#      declared is missing, no internal helper (allot_rt_*, allot_ladder_create_cjson, ...) leaks;
#   3. every global symbol liballot.a defines starts with allot_ (a static link adds no other name
#      to the program's namespace).
# Declarations are read from the preprocessed headers (the compiler, not a regex over the source):
# ALLOT_API is defined to a marker, so an unmarked declaration is seen as such.
set -u
cc=$1 inc=$2 so=$3 ar=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# Statements (split at ; { }) of the text that comes from include/allot/*.h; a function declaration
# is a statement whose first allot_* identifier is followed by '(' and that is not a typedef.
printf '#include "allot/allot.h"\n' > "$tmp/all.c"
if ! "$cc" -E -std=c11 -DALLOT_API=__allot_api_marker__ -I "$inc" "$tmp/all.c" > "$tmp/pp.i"; then
  bad "the public headers do not preprocess"
  exit 1
fi
awk -v inc="$inc/allot/" '
  /^# [0-9]+ "/ { f = $3; gsub(/"/, "", f); mine = index(f, inc) == 1; next }
  mine { printf "%s ", $0 }' "$tmp/pp.i" | tr ';{}' '\n\n\n' > "$tmp/stmts"
awk '!/^[ \t]*typedef/ && match($0, /allot_[A-Za-z0-9_]*[ \t]*\(/) {
       name = substr($0, RSTART, RLENGTH); sub(/[ \t]*\($/, "", name)
       print name, (index($0, "__allot_api_marker__") ? "marked" : "unmarked") }' "$tmp/stmts" |
  sort -u > "$tmp/declared"
n_decl=$(wc -l < "$tmp/declared")
if [ "$n_decl" -lt 50 ]; then bad "only $n_decl declarations found in $inc/allot: the parse is broken"; fi
unmarked=$(awk '$2 == "unmarked" { print $1 }' "$tmp/declared")
if [ -z "$unmarked" ]; then ok "all $n_decl public functions are marked ALLOT_API"; else
  bad "declared without ALLOT_API: $(echo $unmarked)"; fi
awk '{ print $1 }' "$tmp/declared" | sort -u > "$tmp/decl_names"

nm -D --defined-only "$so" | awk '{ print $NF }' |
  grep -v -x -E '_init|_fini|_edata|_end|__bss_start' | sort -u > "$tmp/exported"
extra=$(comm -13 "$tmp/decl_names" "$tmp/exported")
missing=$(comm -23 "$tmp/decl_names" "$tmp/exported")
if [ -z "$extra" ]; then ok "liballot.so exports nothing beyond the headers ($(wc -l < "$tmp/exported") symbols)"; else
  bad "exported but not declared in include/allot: $(echo $extra)"; fi
if [ -z "$missing" ]; then ok "every declared function is exported"; else
  bad "declared but not exported: $(echo $missing)"; fi

nm -g --defined-only "$ar" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u > "$tmp/static_globals"
foreign=$(grep -v '^allot_' "$tmp/static_globals")
if [ -s "$tmp/static_globals" ] && [ -z "$foreign" ]; then
  ok "liballot.a defines only allot_* globals ($(wc -l < "$tmp/static_globals"))"
else
  bad "liballot.a defines globals outside allot_*: $(echo $foreign)"
fi

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
major=$(awk '/^#define ALLOT_VERSION_MAJOR/ { print $3 }' "$inc/allot/allot.h")
if [ "$soname" = "liballot.so.$major" ]; then ok "soname $soname = liballot.so.ALLOT_VERSION_MAJOR"; else
  bad "soname '$soname' is not liballot.so.$major (ALLOT_VERSION_MAJOR)"; fi

echo "abi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
