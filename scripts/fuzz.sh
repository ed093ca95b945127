#!/usr/bin/env bash
# Fuzz the search-parameter syntax and the SQL built from it (the targets in fuzz/) for
# SECONDS each, default 60, starting from the seeds in fuzz/corpus/. Fails when a target
# panics; libFuzzer then saves the input under fuzz/artifacts/<target>/, and
# `cargo fuzz run <target> <that file>` replays it. Installs cargo-fuzz if missing.
#
#   scripts/fuzz.sh [SECONDS]
#
# FUZZ_SANITIZER=address (or another cargo fuzz sanitizer) overrides the default, none.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DURATION=${1:-60}
TARGETS=(search_params search_sql)

if ! command -v cargo-fuzz > /dev/null; then
    cargo install cargo-fuzz --locked || exit 1
fi

# Only the stable toolchain is assumed. cargo fuzz passes nightly-only -Z flags for any
# sanitizer; RUSTC_BOOTSTRAP=1 lets the stable compiler accept them. Set it for every run,
# not just sanitizer ones: cargo caches the compiler's answers per target directory, and
# one run without it makes a later sanitizer run in the same directory fail.
export RUSTC_BOOTSTRAP=1
# The targets are safe Rust, where a sanitizer finds nothing a panic does not show, at
# about twice the build and run time.
SANITIZER=${FUZZ_SANITIZER:-none}

FAILED=()
for target in "${TARGETS[@]}"; do
    # Inputs found go to an untracked working corpus (fuzz/work/, kept across runs so
    # local fuzzing builds on earlier ones); the seeds in git are only read.
    work=fuzz/work/$target
    mkdir -p "$work"
    echo "--- $target: $DURATION s"
    if ! cargo fuzz run --sanitizer "$SANITIZER" "$target" "$work" "fuzz/corpus/$target" -- \
        -max_total_time="$DURATION" -print_final_stats=1; then
        FAILED+=("$target")
    fi
done

if [ ${#FAILED[@]} -gt 0 ]; then
    echo "fuzz: failed: ${FAILED[*]} (inputs under fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: ${#TARGETS[@]} targets, $DURATION s each, no failure"
