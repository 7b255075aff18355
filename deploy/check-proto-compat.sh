#!/usr/bin/env bash
# Refuses a breaking change to the Protobuf schema (events are stored for years: a field may be
# added, never renumbered, retyped or removed) by comparing proto/ with an earlier commit using
# buf (installed from the npm registry into deploy/tools). Run by ctest.
#   deploy/check-proto-compat.sh [AGAINST_REF]     default: HEAD~1 (in a shallow clone without
#                                                  it, nothing is checked, and that is said)
#   deploy/check-proto-compat.sh --self-test       shows that a retyped field is refused
set -euo pipefail
cd "$(dirname "$0")/.."
against="${1:-HEAD~1}"
buf=deploy/tools/node_modules/.bin/buf
# Two checks may start at once (ctest -j): one installs, under a lock, and the other waits for it.
if [ ! -x "$buf" ]; then
  (
    flock 9
    [ -x "$buf" ] || npm install --prefix deploy/tools --no-audit --no-fund --loglevel=error >/dev/null
  ) 9>deploy/tools/.install.lock
fi
if [ "$against" = "--self-test" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  cp -r proto "$scratch/proto"
  sed -i 's/  string event_type = 2;/  int64 event_type = 2;/' "$scratch/proto/klantstroom/v1/events.proto"
  if "$buf" breaking "$scratch/proto" --against proto >/dev/null 2>&1; then
    echo "check-proto-compat: a retyped field was NOT refused"
    exit 1
  fi
  echo "check-proto-compat: a retyped field is refused"
  exit 0
fi
if ! git rev-parse --verify --quiet "$against^{commit}" >/dev/null; then
  echo "check-proto-compat: no commit $against to compare with (a shallow clone?); nothing to check"
  exit 0
fi
"$buf" breaking proto --against ".git#ref=$against,subdir=proto"
echo "check-proto-compat: proto/ is wire-compatible with $against"
