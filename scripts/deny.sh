#!/usr/bin/env bash
# Checks the dependency tree against deny.toml with cargo-deny: licences, bans and sources always;
# RustSec advisories too when its database can be fetched (github.com), which the default test
# machines cannot reach. Installs cargo-deny (a few minutes of compiling) if it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! cargo deny --version >/dev/null 2>&1; then
    cargo install --locked cargo-deny
fi
checks=(licenses bans sources)
if [[ ${DENY_ADVISORIES:-0} == 1 ]]; then
    checks+=(advisories)
fi
cargo deny --offline check "${checks[@]}"
