#!/usr/bin/env bash
# check_runtime_only.sh SOURCE_DIR CC CXX CMAKE ALLOT GEN_RUNS
#
# The serving runtime needs cJSON and libm only. Without a container, the other dependencies are
# hidden from CMake and from the compiler:
#   - CMake searches only a fake root (CMAKE_FIND_ROOT_PATH, modes ONLY) holding cJSON and libm,
#     and pkg-config sees only libcjson.pc;
#   - glpk.h, linear.h, zlib.h and xgboost/c_api.h come first on the include path as headers that
#     stop the compiler (#error);
#   - there is no C++ compiler (CMAKE_CXX_COMPILER points nowhere).
# First a sanity check: the full project must fail to configure there. Then a runtime-only tree
# (-DALLOT_RUNTIME_ONLY=ON) configures, builds, passes its own ctest (abi, layering, python),
# installs without bin/allot, and a C program built on the installed tree with pkg-config prints the
# tiers `allot predict` prints. Last, a downstream project embeds allot with FetchContent
# (tests/install/fetch) under the same conditions and its programs print the same tiers.
set -u
src=$1 cc=$2 cxx=$3 cmake=$4 allot=$5 genruns=$6
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
for tool in jq pkg-config; do
  command -v "$tool" > /dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
pkg-config --exists libcjson || { echo "skipped: no libcjson.pc"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset ALLOT_LIBRARY LD_LIBRARY_PATH PYTHONPATH CMAKE_PREFIX_PATH
jobs=${ALLOT_INSTALL_TEST_JOBS:-2}

# ---- the hidden world ----------------------------------------------------------------------------
root=$tmp/root
inc=$(pkg-config --variable=includedir libcjson)
lib=$(pkg-config --variable=libdir libcjson)
mkdir -p "$root$inc" "$root$lib" "$tmp/pc" "$tmp/poison/xgboost"
ln -s "$inc/cjson" "$root$inc/cjson"
for f in "$lib"/libcjson.so*; do ln -s "$f" "$root$lib/"; done
libm=$("$cc" -print-file-name=libm.so)
mkdir -p "$root$(dirname "$libm")"
ln -sf "$libm" "$root$(dirname "$libm")/"
cp "$(pkg-config --variable=pcfiledir libcjson)/libcjson.pc" "$tmp/pc/"
export PKG_CONFIG_LIBDIR=$tmp/pc PKG_CONFIG_PATH=
for h in glpk.h linear.h zlib.h xgboost/c_api.h; do
  printf '#error "%s is hidden by check_runtime_only.sh: the runtime must not include it"\n' "$h" > "$tmp/poison/$h"
done
hidden=(-DCMAKE_FIND_ROOT_PATH="$root" -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY
        -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-I$tmp/poison" -DCMAKE_BUILD_TYPE=Release)

# sanity: with the real C++ compiler, the full project cannot configure here
if "$cmake" -S "$src" -B "$tmp/full" "${hidden[@]}" -DCMAKE_CXX_COMPILER="$cxx" > "$tmp/full.log" 2>&1; then
  bad "sanity: the full project configured with GLPK, LIBLINEAR, XGBoost and zlib hidden (the test hides nothing)"
else
  check "sanity: the full project fails to configure with the trainer's dependencies hidden" \
    grep -q -E "ZLIB|GLPK|glpk|LIBLINEAR|XGBOOST" "$tmp/full.log"
fi

# ---- queries and the reference ---------------------------------------------------------------------
"$genruns" --seed 3 --queries 200 --samples 1 --out "$tmp/runs.jsonl"
queries_tsv "$tmp/runs.jsonl" "$tmp/q.tsv"
bundle=$src/models/default-xgboost.json
"$allot" predict --model "$bundle" "$tmp/runs.jsonl" | cut -f1,2 > "$tmp/ref"

# ---- a runtime-only tree ---------------------------------------------------------------------------
nocxx=-DCMAKE_CXX_COMPILER=/nonexistent/c++
if "$cmake" -S "$src" -B "$tmp/rt" "${hidden[@]}" "$nocxx" -DALLOT_RUNTIME_ONLY=ON > "$tmp/rt.log" 2>&1; then
  ok "runtime-only: configures (cJSON and libm only, no C++ compiler)"
else
  bad "runtime-only: configure"
  tail -20 "$tmp/rt.log"
  finish
fi
check "runtime-only: looked for none of GLPK, LIBLINEAR, XGBoost, zlib" \
  sh -c "! grep -q -E '^(GLPK|LIBLINEAR|XGBOOST|ZLIB)_' '$tmp/rt/CMakeCache.txt'"
if "$cmake" --build "$tmp/rt" -j"$jobs" > "$tmp/rt-build.log" 2>&1; then
  ok "runtime-only: builds with the trainer's headers poisoned"
else
  bad "runtime-only: build"
  grep -E "error|Error" "$tmp/rt-build.log" | head -10
  finish
fi
if ctest --test-dir "$tmp/rt" --output-on-failure > "$tmp/rt-ctest.log" 2>&1; then
  ok "runtime-only: its ctest passes ($(grep -c 'Test #' "$tmp/rt-ctest.log") tests)"
else
  bad "runtime-only: ctest"
  tail -30 "$tmp/rt-ctest.log"
fi
"$cmake" --install "$tmp/rt" --prefix "$tmp/rtp" > /dev/null 2>&1
check "runtime-only: installs no bin/allot" test ! -e "$tmp/rtp/bin/allot"
pc=$(find "$tmp/rtp" -name allot.pc | head -1)
check "runtime-only: installs allot.pc" test -n "$pc"
if [ -n "$pc" ]; then
  export PKG_CONFIG_LIBDIR=$tmp/pc:$(dirname "$pc")
  libdir=$(dirname "$(dirname "$pc")")
  # shellcheck disable=SC2046
  if "$cc" -std=c11 -Wall -Wextra -Werror "$here/consumer.c" $(pkg-config --cflags --libs allot) \
       -Wl,-rpath,"$libdir" -o "$tmp/c_rt"; then
    "$tmp/c_rt" "$bundle" "$tmp/q.tsv" | cut -f1,2 > "$tmp/c_rt.out"
    same_file "runtime-only install: a C consumer prints the tiers of allot predict" "$tmp/ref" "$tmp/c_rt.out"
  else
    bad "runtime-only install: the C consumer builds"
  fi
fi

# ---- FetchContent ----------------------------------------------------------------------------------
export PKG_CONFIG_LIBDIR=$tmp/pc
if "$cmake" -S "$here/fetch" -B "$tmp/fetch" "${hidden[@]}" "$nocxx" -DALLOT_SOURCE_DIR="$src" > "$tmp/fetch.log" 2>&1 &&
   "$cmake" --build "$tmp/fetch" -j"$jobs" >> "$tmp/fetch.log" 2>&1; then
  ok "FetchContent: a downstream project embeds the runtime (dependencies hidden, no C++)"
  for exe in consumer_shared consumer_static; do
    "$tmp/fetch/$exe" "$bundle" "$tmp/q.tsv" | cut -f1,2 > "$tmp/$exe.out"
    same_file "FetchContent: $exe prints the tiers of allot predict" "$tmp/ref" "$tmp/$exe.out"
  done
else
  bad "FetchContent consumer"
  grep -E "Error|error" "$tmp/fetch.log" | head -10
fi
finish
