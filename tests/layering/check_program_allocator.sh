#!/usr/bin/env bash
# The allot program's allocator is mimalloc (CMakeLists.txt, ALLOT_MIMALLOC): the dynamic linker
# must bind malloc and free of cJSON (whose many small nodes are why) and of libc itself to
# libmimalloc, and the runtime library must still not link it (check_runtime_deps.sh).
set -u
allot=$1
fail=0
bindings=$(LD_DEBUG=bindings "$allot" --version 2>&1 >/dev/null)
for from in libcjson.so libc.so; do
  for sym in malloc free; do
    if grep -qE "binding file [^ ]*/$from[^ ]* .* to [^ ]*/libmimalloc\.so[^ ]* .*symbol \`$sym'" <<<"$bindings"; then
      echo "ok: $from $sym -> mimalloc"
    else
      echo "FAIL: $from's $sym is not bound to mimalloc"; fail=1
    fi
  done
done
if [ $fail -eq 0 ]; then echo "allocator: 1 passed, 0 failed"; else echo "allocator: 0 passed, 1 failed"; fi
exit $fail
