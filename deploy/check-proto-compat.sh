#!/usr/bin/env bash
# Refuses a breaking change to the Protobuf schema (events are stored for years: a field may be
# added, never renumbered, retyped or removed) by comparing proto/ with the previous commit using
# buf (installed from the npm registry into deploy/tools). Run by ctest.
#   deploy/check-proto-compat.sh [AGAINST_REF]     default: HEAD~1
set -euo pipefail
cd "$(dirname "$0")/.."
against="${1:-HEAD~1}"
buf=deploy/tools/node_modules/.bin/buf
if [ ! -x "$buf" ]; then
  npm install --prefix deploy/tools --no-audit --no-fund --loglevel=error >/dev/null
fi
if ! git rev-parse --verify --quiet "$against^{commit}" >/dev/null; then
  echo "check-proto-compat: no commit $against to compare with (a shallow clone?); nothing to check"
  exit 0
fi
"$buf" breaking proto --against ".git#ref=$against,subdir=proto"
echo "check-proto-compat: proto/ is wire-compatible with $against"
