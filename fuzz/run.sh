#!/usr/bin/env bash
# Coverage-guided fuzzing of the scenario and profile loaders (cargo-fuzz,
# libFuzzer, address sanitizer; needs a nightly toolchain). Seeds each
# target's corpus with the repository's own files, then runs each target
# for a bounded time. A crash fails the run and leaves its input under
# fuzz/artifacts/<target>/ (reproduce: cargo +nightly fuzz run <target> <file>).
#
#   bash fuzz/run.sh        # 60 s per target (what CI runs)
#   bash fuzz/run.sh 600    # ten minutes per target
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}

if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || {
        echo "fuzz: SKIPPED: no nightly toolchain and none could be installed"
        exit 0
    }
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

mkdir -p fuzz/corpus/scenario_text fuzz/corpus/profile_text
for f in scenarios/*.json scenarios/*/*.json; do
    case "$f" in
        *.schema.json) ;;
        *.profile.json) cp "$f" fuzz/corpus/profile_text/ ;;
        *) cp "$f" fuzz/corpus/scenario_text/ ;;
    esac
done

for target in scenario_text profile_text; do
    echo "== fuzz $target for ${secs}s"
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak or
    # an unbounded allocation is a finding.
    if ! cargo +nightly fuzz run "$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        # CI keeps only the log: print each crashing input there (at most
        # 4 KiB of each, non-printing bytes shown as ^X and M-X) so that a
        # finding can be reproduced without the artifact file.
        for f in fuzz/artifacts/"$target"/*; do
            [ -f "$f" ] || continue
            echo "== fuzz $target: crashing input $f ($(wc -c <"$f") bytes):"
            head -c 4096 "$f" | cat -v
            echo
        done
        exit 1
    fi
done
