#!/usr/bin/env bash
# Checks the dependency tree against deny.toml with cargo-deny: licences, bans and sources always;
# RustSec advisories too when the database is at hand: cargo-deny's own clone under
# ~/.cargo/advisory-dbs/ (used offline), or DENY_ADVISORIES=1 to let cargo-deny fetch it from
# github.com. Installs cargo-deny (a few minutes of compiling) if it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! cargo deny --version >/dev/null 2>&1; then
    cargo install --locked cargo-deny
fi
checks=(licenses bans sources)
offline=(--offline)
if [[ ${DENY_ADVISORIES:-0} == 1 ]]; then
    checks+=(advisories)
    offline=()
elif compgen -G "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-*/crates" >/dev/null; then
    checks+=(advisories)
else
    echo "scripts/deny.sh: no RustSec database at hand; advisories not checked" >&2
fi
cargo deny "${offline[@]}" check --hide-inclusion-graph "${checks[@]}"
