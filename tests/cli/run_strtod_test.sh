#!/bin/sh
# Runs test_strtod TEST DIR DATASETS, first building a de_DE.UTF-8 locale (radix ',') into DIR with localedef when
# the machine has the locale's sources, so that the test can check the fast path stands aside.
test=$1
dir=$2
datasets=$3
mkdir -p "$dir"
if [ ! -d "$dir/de_DE.UTF-8" ] && command -v localedef >/dev/null 2>&1 && [ -f /usr/share/i18n/locales/de_DE ]; then
  localedef -i de_DE -f UTF-8 "$dir/de_DE.UTF-8" >/dev/null 2>&1 || true
fi
LOCPATH=$dir exec "$test" "$datasets"
