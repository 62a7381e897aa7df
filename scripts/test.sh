#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration (real brokers on loopback), fuzz-corpus
# replay and doc tests. Works on a fresh machine: it installs the test environment first
# (scripts/setup-test-env.sh, quick when already done). Missing brokers or tools are a failure
# here, never a silent skip. Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

t0=$SECONDS
scripts/setup-test-env.sh
t_setup=$((SECONDS - t0))

export KAFKA_TESTS_REQUIRE_BROKERS=1
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
t0=$SECONDS
echo "+ KAFKA_TESTS_REQUIRE_BROKERS=1 cargo test --workspace --no-fail-fast $*" >&2
rc=0
cargo test --workspace --no-fail-fast "$@" || rc=$?
t_workspace=$((SECONDS - t0))
# The C-compiler-free codec set: zstd through ruzstd alone (in the workspace run libzstd serves
# zstd and ruzstd is only cross-checked against it).
if [[ $# == 0 ]]; then
    t0=$SECONDS
    pure=(cargo test -p kafka-proto --lib --no-default-features --features gzip,snappy,lz4,zstd-pure)
    echo "+ ${pure[*]}" >&2
    "${pure[@]}" || rc=$?
    echo "scripts/test.sh: pure-Rust codecs $((SECONDS - t0)) s" >&2
fi
echo "scripts/test.sh: setup ${t_setup} s, cargo test ${t_workspace} s" >&2
exit "$rc"
