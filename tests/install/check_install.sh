#!/usr/bin/env bash
# check_install.sh BUILD_DIR SOURCE_DIR GEN_RUNS CC CXX CMAKE [PYTHON3]
#
# Programs built and run against the INSTALLED tree only: `cmake --install` to a temporary prefix,
# which is then moved (every installed path must be relative), and
#   - a C program via pkg-config, linked to liballot.so.1 and to liballot.a,
#   - a C++ program (allot::allot) and the C one (allot::allot_static) via find_package(allot),
#   - a Python script importing the installed package (which finds the installed library itself),
# must print the tiers the installed `allot predict` prints, for every bundle of models/, on the
# same queries, and agree with each other to the last bit of the probability. A sequential bundle
# (models/, else `allot train --stages` when the CLI has it, else the hand-made fixture of
# tests/python/seq_fixture.py) is stepped by the C, C++ and Python programs alike.
set -u
build=$1 src=$2 genruns=$3 cc=$4 cxx=$5 cmake=$6 python=${7:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
for tool in jq pkg-config readelf; do
  command -v "$tool" > /dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset ALLOT_LIBRARY LD_LIBRARY_PATH PYTHONPATH PKG_CONFIG_PATH

# ---- 1. install, move, inspect -----------------------------------------------------------------
if ! "$cmake" --install "$build" --prefix "$tmp/stage" > "$tmp/install.log" 2>&1; then
  bad "cmake --install"
  tail -20 "$tmp/install.log"
  finish
fi
mv "$tmp/stage" "$tmp/prefix"
P=$tmp/prefix
pc=$(find "$P" -name allot.pc | head -1)
libdir=$(dirname "$(dirname "$pc")")
major=$(awk '/^#define ALLOT_VERSION_MAJOR/ { print $3 }' "$src/include/allot/allot.h")
version=$(awk '/^#define ALLOT_VERSION_(MAJOR|MINOR|PATCH)/ { printf "%s%s", sep, $3; sep = "." }' "$src/include/allot/allot.h")
for f in include/allot/allot.h include/allot/allot_export.h include/allot/allot_sequential.h bin/allot \
         share/doc/allot/README.md share/doc/allot/runtime.md share/doc/allot/python.md \
         lib/python3/dist-packages/allot/__init__.py lib/python3/dist-packages/allot/_libpath.py; do
  check "installed: $f" test -e "$P/$f"
done
for f in liballot.so.$major liballot.so liballot.a pkgconfig/allot.pc cmake/allot/allotConfig.cmake \
         cmake/allot/allotConfigVersion.cmake cmake/allot/allotTargets.cmake; do
  check "installed: \$libdir/$f" test -e "$libdir/$f"
done
soname=$(readelf -d "$libdir/liballot.so.$major" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
check "soname $soname" test "$soname" = "liballot.so.$major"
check "liballot.so.$major links to the versioned file" test -f "$libdir/liballot.so.$version"

export PKG_CONFIG_PATH=$libdir/pkgconfig
check "pkg-config --modversion allot = $version" test "$(pkg-config --modversion allot)" = "$version"
libs=$(pkg-config --libs allot)
check "pkg-config --libs allot: -lallot from the moved prefix ($libs)" \
  test "$(cd "$(echo "$libs" | sed -n 's/.*-L\([^ ]*\).*/\1/p')" && pwd -P)" = "$(cd "$libdir" && pwd -P)"
check "pkg-config --static --libs allot adds cJSON and libm" sh -c "pkg-config --static --libs allot | grep -q -- -lcjson && pkg-config --static --libs allot | grep -q -- -lm"

# ---- 2. the consumers ---------------------------------------------------------------------------
cflags="-std=c11 -Wall -Wextra -pedantic -Werror"
# shellcheck disable=SC2046,SC2086
check "C, pkg-config, shared: builds" "$cc" $cflags "$here/consumer.c" $(pkg-config --cflags --libs allot) \
  -Wl,-rpath,"$libdir" -o "$tmp/c_shared"
# shellcheck disable=SC2046,SC2086
check "C, pkg-config, static: builds" "$cc" $cflags "$here/consumer.c" $(pkg-config --cflags allot) \
  -Wl,-Bstatic $(pkg-config --libs allot) -Wl,-Bdynamic -lcjson -lm -o "$tmp/c_static"
check "C shared: needs liballot.so.$major" sh -c "readelf -d '$tmp/c_shared' | grep -q 'NEEDED.*\[liballot.so.$major\]'"
check "C shared: resolves it in the installed tree" sh -c "ldd '$tmp/c_shared' | grep -q '$libdir/liballot.so.$major'"
check "C static: no liballot.so needed" sh -c "! readelf -d '$tmp/c_static' | grep -q 'NEEDED.*liballot'"

if "$cmake" -S "$here/consumer" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$cc" \
     -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release > "$tmp/cm.log" 2>&1 &&
   "$cmake" --build "$tmp/cm" >> "$tmp/cm.log" 2>&1; then
  ok "find_package(allot): the C++ (allot::allot) and C (allot::allot_static) consumers build"
  check "find_package found the moved prefix, version $version" grep -q "found allot $version in $P/" "$tmp/cm.log"
else
  bad "find_package(allot) consumers"
  tail -20 "$tmp/cm.log"
fi

pydir=$P/lib/python3/dist-packages
run_python() { PYTHONPATH=$pydir "$python" -B "$here/consumer.py" "$@"; }
if [ -n "$python" ]; then
  if PYTHONPATH=$pydir "$python" -B -c "import allot, sys; sys.exit(not allot.library_path.startswith('$libdir/'))"; then
    ok "Python: the installed package loads the installed library"
  else
    bad "Python: the installed package does not load $libdir/liballot.so.$major"
  fi
else
  echo "note: no python3: the Python consumer is not run"
fi

# ---- 3. the same tiers as `allot predict` --------------------------------------------------------
"$genruns" --seed 2 --queries 300 --samples 1 --out "$tmp/runs.jsonl"
queries_tsv "$tmp/runs.jsonl" "$tmp/q.tsv"
check "300 queries" test "$(wc -l < "$tmp/q.tsv")" -eq 300
for bundle in "$src"/models/*.json; do
  grep -q '"sequential"' "$bundle" && continue
  b=$(basename "$bundle" .json)
  "$P/bin/allot" predict --model "$bundle" "$tmp/runs.jsonl" | cut -f1,2 > "$tmp/$b.ref"
  "$tmp/c_shared" "$bundle" "$tmp/q.tsv" > "$tmp/$b.c_shared"
  cut -f1,2 "$tmp/$b.c_shared" > "$tmp/$b.c_shared.tiers"
  same_file "$b: C (pkg-config, liballot.so.$major) = allot predict" "$tmp/$b.ref" "$tmp/$b.c_shared.tiers"
  "$tmp/c_static" "$bundle" "$tmp/q.tsv" > "$tmp/$b.c_static"
  same_file "$b: C (pkg-config, liballot.a) = C shared" "$tmp/$b.c_shared" "$tmp/$b.c_static"
  for exe in consumer_cxx consumer_c_static; do
    [ -x "$tmp/cm/$exe" ] || continue
    "$tmp/cm/$exe" "$bundle" "$tmp/q.tsv" > "$tmp/$b.$exe"
    same_file "$b: $exe (find_package) = C shared" "$tmp/$b.c_shared" "$tmp/$b.$exe"
  done
  if [ -n "$python" ]; then
    run_python "$bundle" "$tmp/q.tsv" > "$tmp/$b.py" 2> "$tmp/py.err"
    same_file "$b: Python = C shared" "$tmp/$b.c_shared" "$tmp/$b.py"
  fi
done

# ---- 4. a sequential bundle ----------------------------------------------------------------------
seq=$(grep -l '"sequential"' "$src"/models/*.json 2> /dev/null | head -1)
if [ -n "$seq" ]; then
  echo "sequential: $seq (models/)"
elif "$P/bin/allot" train --help 2>&1 | grep -q -- '--stages'; then
  if "$P/bin/allot" train "$tmp/runs.jsonl" --stages majority@1,2,4 --budget 2 --out "$tmp/seq.json" > "$tmp/seq.log" 2>&1; then
    seq=$tmp/seq.json
    echo "sequential: trained by allot train --stages"
  else
    echo "note: allot train --stages did not train a bundle here: $(tail -1 "$tmp/seq.log")"
  fi
fi
if [ -z "$seq" ] && [ -n "$python" ]; then
  PYTHONPATH=$pydir "$python" -B "$src/tests/python/seq_fixture.py" "$tmp/seq.json" && seq=$tmp/seq.json &&
    echo "sequential: no trained bundle (none in models/, no allot train --stages): the hand-made fixture tests/python/seq_fixture.py"
fi
if [ -z "$seq" ]; then
  echo "note: no sequential bundle (none in models/, no 'allot train --stages', no python3): sequential part skipped"
else
  head -100 "$tmp/q.tsv" > "$tmp/q100.tsv"
  "$tmp/c_shared" --seq "$seq" "$tmp/q100.tsv" > "$tmp/seq.c"
  check "sequential: C steps every query to a stop" test "$(wc -l < "$tmp/seq.c")" -eq 100
  [ -x "$tmp/cm/consumer_cxx" ] && "$tmp/cm/consumer_cxx" --seq "$seq" "$tmp/q100.tsv" > "$tmp/seq.cxx" &&
    same_file "sequential: C++ = C" "$tmp/seq.c" "$tmp/seq.cxx"
  if [ -n "$python" ]; then
    run_python --seq "$seq" "$tmp/q100.tsv" > "$tmp/seq.py" 2> "$tmp/py.err"
    same_file "sequential: Python = C" "$tmp/seq.c" "$tmp/seq.py"
  fi
fi
finish
