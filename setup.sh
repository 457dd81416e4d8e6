#!/usr/bin/env bash
# setup.sh - the one entry point: installs what allot needs on a fresh Debian machine (when
# missing), builds, and then runs the main job or the test suite.
#
#   ./setup.sh demo    set up, build, run curves -> solve -> train -> audit (static and sequential
#                      policies) on the embedded default data
#   ./setup.sh test    set up, build, run the whole test suite (ctest), then again under ASan+UBSan
#   ./setup.sh deps    only install the Debian packages
#   ./setup.sh build   only install and build (build/)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake make gcc g++ clang clang-format pkg-config binutils jq python3 libglpk-dev liblinear-dev libxgboost-dev
          libcjson-dev libmimalloc-dev zlib1g-dev gnuplot-nox libclang-rt-14-dev)
JOBS=$(nproc 2>/dev/null || echo 2)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      if ! command -v sudo > /dev/null; then
        echo "setup: these Debian packages are missing: ${missing[*]}" >&2
        echo "setup: installing them needs root, and sudo is not installed. Either run, as root:" >&2
        echo "         apt-get install ${missing[*]}" >&2
        echo "       then ./setup.sh $MODE again, or run ./setup.sh $MODE as root." >&2
        exit 1
      fi
      sudo="sudo"
    fi
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build() {  # build DIR [cmake options...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS"
}

build_targets() {  # build_targets DIR TARGET...: configure as build() does, build only these targets
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$dir" -j"$JOBS" --target "$@"
}

verdict_static() {  # one line per policy of a static audit's report.json
  jq -r '.policies[] | .name as $n | .baselines.uniform.acc as $u | .learned.calibrated as $l
         | "  \($n): \($l.acc*1000|round/1000) at spend \($l.cost*100|round/100) vs uniform \($u*1000|round/1000)"
           + " at spend \(.baselines.uniform.cost): \($l.learned_minus_uniform.mean*10000|round/100) points"
           + " [\($l.learned_minus_uniform.ci95_lo*10000|round/100), \($l.learned_minus_uniform.ci95_hi*10000|round/100)]"
           + (if $l.learned_minus_uniform.ci95_lo > 0 then ": beats uniform"
              elif $l.learned_minus_uniform.ci95_hi < 0 then ": WORSE than uniform" else ": no clear difference" end)' "$1"
}

verdict_sequential() {  # the line of a sequential audit's report.json (price re-fitted to the budget)
  jq -r '(.policy | split("/") | last | rtrimstr(".json")) as $n | .policy_refit
         | "  \($n) (sequential): \(.acc*1000|round/1000) at spend \(.cost*100|round/100) vs uniform at"
         + " equal spend \(.at_equal_spend.uniform.acc*1000|round/1000): \(.at_equal_spend.uniform.delta*10000|round/100)"
         + " points [\(.at_equal_spend.uniform.ci95[0]*10000|round/100), \(.at_equal_spend.uniform.ci95[1]*10000|round/100)]"
         + (if .at_equal_spend.uniform.ci95[0] > 0 then ": beats uniform"
            elif .at_equal_spend.uniform.ci95[1] < 0 then ": WORSE than uniform" else ": no clear difference" end)
         + (if .at_equal_spend["adaptive-consistency"].available then "; vs Adaptive-Consistency at equal spend"
              + " \(.at_equal_spend["adaptive-consistency"].delta*10000|round/100) points" else "" end)' "$1"
}

demo() {
  deps
  build_targets build allot allot-gen-runs   # what the demo runs, not the tests or benchmarks
  local out=out/default allot=./build/trainer/cli/allot
  mkdir -p "$out"
  echo "== 1. embedded default data: synthetic labelled runs (datasets/README.md)"
  ./build/datasets/allot-gen-runs --seed 1 --out "$out/runs.jsonl"
  echo "== 2. curves: majority vote over k = 1..32 samples"
  $allot curves "$out/runs.jsonl" --tiers majority@1,2,4,8,16,32 --out "$out/curves.jsonl"
  echo "== 3. solve: the exact oracle at a mean budget of 8, cross-checked by GLPK"
  $allot solve "$out/curves.jsonl" --budget 8 --check glpk
  echo "== 4. train: tier policies (imitate the oracle) and value policies (predict each tier's accuracy)"
  for learner in xgboost liblinear; do
    $allot train "$out/curves.jsonl" --budget 8 --learner $learner --out "$out/policy-$learner.json"
    $allot train "$out/curves.jsonl" --budget 8 --learner $learner --target value --out "$out/policy-value-$learner.json"
  done
  echo "== 5. the default: every candidate against the uniform policy, the one that beats it out of fold (or uniform) shipped"
  $allot train "$out/curves.jsonl" --budget 8 --quiet --out "$out/policy.json"
  echo "== 6. audit on the held-out queries: report.md, report.json and plots"
  $allot audit "$out/curves.jsonl" --budget 8 --out "$out/audit" --policy "$out/policy.json" \
    --policy "$out/policy-xgboost.json" --policy "$out/policy-liblinear.json" \
    --policy "$out/policy-value-xgboost.json" --policy "$out/policy-value-liblinear.json"
  echo "== 7. the default on the labelled runs themselves: the static candidates and a sequential policy"
  echo "      with each learner (after each stage of samples, stop or draw the next; docs/sequential.md)"
  $allot train "$out/runs.jsonl" --budget 8 --quiet --out "$out/policy-runs.json"
  $allot audit "$out/runs.jsonl" --policy "$out/policy-runs.json" --budget 8 --out "$out/audit-runs"
  echo "== verdict on the held-out queries at budget 8 (accuracy points over uniform allocation, 95% CI)"
  verdict_static "$out/audit/report.json"
  if jq -e 'has("policy_refit")' "$out/audit-runs/report.json" >/dev/null; then
    verdict_sequential "$out/audit-runs/report.json"
  else
    verdict_static "$out/audit-runs/report.json"
  fi
  echo "demo: outputs in $out/ (reports: $out/audit/report.md, $out/audit-runs/report.md)"
}

tests() {
  deps
  build build
  ctest --test-dir build --output-on-failure -j"$JOBS"
  echo "setup: the same suite under AddressSanitizer + UndefinedBehaviorSanitizer" >&2
  build build-asan -DALLOT_SANITIZE=ON -DALLOT_BUILD_BENCH=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$JOBS" -LE no_sanitize
  # each of the four readers is fuzzed for ALLOT_FUZZ_SECONDS (default 300: 10 minutes on 2 cores,
  # well inside CI's 90; export a smaller value for a quick local run)
  echo "setup: bounded libFuzzer runs, ${ALLOT_FUZZ_SECONDS:-300} s each (model files, policy bundles, labelled runs, curves files)" >&2
  build build-fuzz -DALLOT_FUZZ=ON -DALLOT_FUZZ_SECONDS="${ALLOT_FUZZ_SECONDS:-300}" -DALLOT_BUILD_BENCH=OFF \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  ctest --test-dir build-fuzz --output-on-failure -j"$JOBS" -L fuzz
  echo "setup: thread safety under ThreadSanitizer" >&2
  build build-tsan -DALLOT_TSAN=ON -DALLOT_BUILD_BENCH=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -L tsan
}

MODE=${1:-}
case "$MODE" in
  demo) demo ;;
  test) tests ;;
  deps) deps ;;
  build) deps; build build ;;
  *) sed -n '2,10p' "$0"; exit 1 ;;
esac
