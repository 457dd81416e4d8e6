#!/usr/bin/env bash
# The allot program's strtod (trainer/cli/strtod): the dynamic linker must bind cJSON's strtod, by
# which every number of a labelled-runs line is converted, to the program's own definition, and
# the runtime library must not carry it (check_runtime_deps.sh checks its dependencies).
set -u
allot=$1
runtime=$2
line=$(LD_BIND_NOW=1 LD_DEBUG=bindings "$allot" --version 2>&1 >/dev/null |
       grep -E "binding file [^ ]*/libcjson\.so[^ ]* .*symbol \`strtod'")
fail=0
if [[ "$line" == *" to $allot [0]: "* ]]; then
  echo "ok: libcjson's strtod -> the allot program"
else
  echo "FAIL: libcjson's strtod is not bound to the allot program: ${line:-no binding seen}"; fail=1
fi
if nm -D --defined-only "$runtime" | grep -qw strtod; then
  echo "FAIL: the runtime library defines strtod"; fail=1
else
  echo "ok: the runtime library does not define strtod"
fi
if [ $fail -eq 0 ]; then echo "strtod binding: 1 passed, 0 failed"; else echo "strtod binding: 0 passed, 1 failed"; fi
exit $fail
