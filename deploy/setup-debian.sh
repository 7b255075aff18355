#!/usr/bin/env bash
# Installs what Klantstroom builds and runs with, from Debian's packages only (Debian 12,
# bookworm). Safe to run again: it installs only what is missing. Needs root (or sudo).
#   deploy/setup-debian.sh               to build and run (deploy/demo.sh)
#   deploy/setup-debian.sh --for-tests   also what the tests and benchmarks use: Chromium, openssl,
#                                        npm and a PostgreSQL server (deploy/test.sh)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  librdkafka-dev        # Kafka client, and its mock cluster (rdkafka_mock.h)
  librocksdb-dev        # embedded event log and read models
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc   # gRPC C++ with health checking and reflection
  catch2                # tests
  libfmt-dev            # formatting
  libsodium-dev         # SHA-256 of attachments (and, later, per-party encryption)
  libjemalloc-dev       # the programs' allocator (millions of small protobuf strings)
  libabsl-dev           # Abseil (gRPC depends on it): the replay's flat_hash_map
  libxapian-dev         # search over all communication (with Snowball's Dutch stemmer)
  libpq-dev             # the benchmarks' PostgreSQL peer: its client library
)
if [ "${1:-}" = "--for-tests" ]; then
  packages+=(chromium)  # the test that opens the analysts' HTML report in a headless browser
  packages+=(openssl)   # the mutual-TLS test makes its certificates with the openssl command
  # The benchmarks' peer (ks-bench, and its smoke run in the tests) starts a throwaway server.
  packages+=(postgresql)
  # npm fetches buf for the schema-compatibility check; many machines have Node already.
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages are installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
