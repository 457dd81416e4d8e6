#!/usr/bin/env bash
# Fails if the runtime shared library needs anything beyond libc, libm and cJSON (and the
# toolchain's own runtime objects), or if any runtime source includes a trainer-only header.
set -u
lib=$1
fail=0
needed=$(readelf -d "$lib" | awk '/NEEDED/ {gsub(/[\[\]]/, "", $5); print $5}')
for so in $needed; do
  case "$so" in
    libc.so*|libm.so*|libcjson.so*|ld-linux*|libgcc_s.so*) echo "ok: $so" ;;
    *) echo "FAIL: runtime depends on $so"; fail=1 ;;
  esac
done
src=$(dirname "$0")/../../runtime
if grep -rnE '#include *[<"](glpk|linear|xgboost/|trainer/|curves|oracle|runs_reader)' "$src"; then
  echo "FAIL: the runtime includes a trainer-only header"; fail=1
fi
if [ $fail -eq 0 ]; then echo "layering: 1 passed, 0 failed"; else echo "layering: 0 passed, 1 failed"; fi
exit $fail
