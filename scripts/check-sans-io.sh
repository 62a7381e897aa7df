#!/usr/bin/env bash
# Enforces DESIGN.md's rule that kafka-proto and kafka-producer-core do no I/O
# and read no clock: no runtime or socket crate in their dependency trees (libc only under a
# codec's C bindings), and
# no std::net, std::thread, std::fs, std::env or ::now() in their sources
# (tests and benches may use them). clippy's disallowed-methods (clippy.toml
# in each crate) catches the same calls at lint time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail=0
for crate in kafka-proto kafka-producer-core; do
    if cargo tree -p "$crate" -e normal --prefix none | grep -E '^(tokio|mio|async-std|async-io|smol|socket2) ' ; then
        echo "check-sans-io: $crate depends on an I/O crate" >&2
        fail=1
    fi
    # libc only as the C types of a codec's bindings (lz4-sys for lz4-hc), never used directly
    # or by anything else.
    if cargo tree -p "$crate" -e normal --prefix none | grep -qE '^libc '; then
        users=$(cargo tree -p "$crate" -e normal -i libc --depth 1 --prefix none | tail -n +2 |
            grep -vE '^[a-z0-9_-]+-sys ' || true)
        if [[ -n "$users" ]]; then
            echo "check-sans-io: $crate reaches libc through more than C bindings:" >&2
            echo "$users" >&2
            fail=1
        fi
    fi
    # Library sources only: skip #[cfg(test)] modules' files, test helpers and doc-comment
    # examples (which show the caller's side, where reading the clock is right).
    hits=$(grep -rnE 'std::(net|thread|fs|env)|Instant::now|SystemTime::now' "$crate/src" \
        --include='*.rs' | grep -vE '/(tests|testing|interop_tests)\.rs:' |
        grep -vE '^[^:]+:[0-9]+:\s*//[/!]' || true)
    if [[ -n "$hits" ]]; then
        echo "check-sans-io: $crate uses I/O, threads, env or a clock:" >&2
        echo "$hits" >&2
        fail=1
    fi
done
[[ $fail == 0 ]] && echo "check-sans-io: kafka-proto and kafka-producer-core are I/O-free"
exit $fail
