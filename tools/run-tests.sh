#!/usr/bin/env bash
# The whole test suite: build with gcc, check clang builds it warning-free,
# run the C unit tests, a fixed run of every fuzz target, then the Python
# tests against the built binaries (pytest's summary is the last line).
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" all || exit 1
make clang-check || exit 1
status=0
echo "== C unit tests"
build/test-runner || status=1
# a fixed seed and count: the same inputs on every run (`make fuzz` explores)
echo "== fuzzing, ${FUZZ_RUNS:=200000} runs per target"
make fuzz FUZZ_LIMIT="-seed=1 -runs=$FUZZ_RUNS" || status=1
echo "== Python tests"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/python || status=1
exit $status
