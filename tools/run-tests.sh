#!/usr/bin/env bash
# The whole test suite: build with gcc, check clang builds it warning-free,
# run the C unit tests, then the Python tests against the built binaries.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" all || exit 1
make clang-check || exit 1
status=0
echo "== C unit tests"
build/test-runner || status=1
echo "== Python tests"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/python || status=1
exit $status
