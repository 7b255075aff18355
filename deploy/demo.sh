#!/usr/bin/env bash
# The main job, on the embedded default (no broker): sets up, builds (release), starts the
# all-in-one `klantstroom` on ./data, runs journey 000 through its gRPC API and prints what the KCC
# sees, then stops it. Run it again: the data directory keeps everything, the journey's
# idempotency keys make the second run write nothing, and it shows the same state.
#   KS_DATA_DIR=/path deploy/demo.sh     another data directory
#   KS_KEEP_RUNNING=1 deploy/demo.sh     leave klantstroom running afterwards (port 50051)
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup-debian.sh
cmake --preset release >/dev/null
cmake --build --preset release

data_dir="${KS_DATA_DIR:-data}"
port="${KS_PORT:-50051}"
bin=build/release/deploy
log_file="$data_dir/klantstroom.log"
mkdir -p "$data_dir"

"$bin/klantstroom" --data-dir "$data_dir" --listen "127.0.0.1:$port" >"$data_dir/klantstroom.out" 2>"$log_file" &
server=$!
stop() { kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; }
trap stop EXIT

for _ in $(seq 100); do
  grep -q LISTENING "$data_dir/klantstroom.out" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "klantstroom did not start:"; cat "$log_file"; exit 1; }
  sleep 0.1
done
echo "klantstroom is running on 127.0.0.1:$port with its data in $data_dir/ (log: $log_file)"
echo
"$bin/ks-demo" --commands "127.0.0.1:$port" --queries "127.0.0.1:$port"

if [ -n "${KS_KEEP_RUNNING:-}" ]; then
  trap - EXIT
  echo
  echo "klantstroom keeps running (pid $server); stop it with: kill $server"
fi
