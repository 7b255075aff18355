#!/usr/bin/env bash
# Sets up, builds (the `ci` preset: optimised, with assertions) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup-debian.sh --for-tests
cmake --preset ci >/dev/null
cmake --build --preset ci
ctest --preset ci "$@"
