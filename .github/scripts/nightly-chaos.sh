#!/usr/bin/env bash
# One shard of the nightly chaos sweep: every profile under scenarios/chaos/,
# each over its own `nightly_seeds` seeds from tonight's seed base, this
# shard taking every SHARDS-th seed of each. Prints the seed base first and
# a reproduction line per failure; with GITHUB_STEP_SUMMARY set, writes the
# same to the job summary.
#
# usage: nightly-chaos.sh SHARD SHARDS [SEED_BASE]
#   SEED_BASE  default: tonight's block of seeds, from the UTC date:
#              (days since 1970-01-01) * 1,000,000 + 1, so every night
#              sweeps seeds no night swept before, and the date in the log
#              gives the block back.
# env:
#   CASCADE             the binary (default target/release/cascade)
#   SEEDS_PER_PROFILE   cap each profile's seeds (a local dry run: 8)
#   GUIDED_RUNS         runs of each profile's guided sweep (default: a
#                       tenth of its seeds)
#   OUT                 where failures go (default chaos-failures)
#
# A local dry run of shard 0 of 8 with 8 seeds per profile:
#   cargo build --release && SEEDS_PER_PROFILE=8 bash .github/scripts/nightly-chaos.sh 0 8
set -uo pipefail
cd "$(dirname "$0")/../.."

shard=${1:?usage: nightly-chaos.sh SHARD SHARDS [SEED_BASE]}
shards=${2:?usage: nightly-chaos.sh SHARD SHARDS [SEED_BASE]}
day=$(( $(date -u +%s) / 86400 ))
seed_base=${3:-$(( day * 1000000 + 1 ))}
cascade=${CASCADE:-target/release/cascade}
out=${OUT:-chaos-failures}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}

say() { echo "$@"; echo "$@" >> "$summary"; }

if [ -n "${3:-}" ]; then
    basis="given"
else
    basis="tonight's block: UTC day $day * 1000000 + 1"
fi
say "SEED_BASE=$seed_base   ($basis; shard $shard of $shards)"
mkdir -p "$out"
status=0
for profile in scenarios/chaos/*.profile.json; do
    name=$(basename "$profile" .profile.json)
    # Typed fields of the profile (the loader checks them; defaults as there).
    count=$(jq -r '.nightly_seeds // 1000' "$profile")
    expected=$(jq -r '.expected // "pass"' "$profile")
    if [ -n "${SEEDS_PER_PROFILE:-}" ] && [ "$count" -gt "$SEEDS_PER_PROFILE" ]; then
        count=$SEEDS_PER_PROFILE
    fi
    end=$(( seed_base + count ))
    say ""
    say "### $name: seeds $seed_base..$end, shard $shard/$shards (expected: $expected)"
    "$cascade" chaos "$profile" --seeds "$seed_base..$end" --shard "$shard/$shards" \
        --jobs 2 --check-determinism --out "$out/$name" > "$out/$name.log" 2>&1
    code=$?
    cat "$out/$name.log"
    {
        echo
        grep -E '^\|' "$out/$name.log" || true
        echo
        grep -E '^time to converge|^failures by signature' "$out/$name.log" || true
        grep -E '^seed [0-9]+:|reproduce the (seed|file)' "$out/$name.log" | head -50 || true
    } >> "$summary"
    # A profile of the March 2025 agent is there to be caught: its sweep
    # passes when it finds the failure (exit 3 or 4), and fails when the
    # harness has lost the power to find it.
    if [ "$expected" = "fail" ]; then
        if [ "$code" -eq 3 ] || [ "$code" -eq 4 ]; then
            say "$name: failures found, as expected (exit $code)"
        else
            say "$name: EXPECTED FAILURES NOT FOUND (exit $code)"
            status=1
        fi
    elif [ "$code" -ne 0 ]; then
        say "$name: FAILED (exit $code)"
        status=1
    fi
    # Beside the random sweep, a guided one (coverage-guided mutants of the
    # cases that reached rare states): GUIDED_RUNS runs from this shard's
    # own seed (default a tenth of the profile's seeds), so shards explore
    # apart. Deterministic from its seed whatever --jobs.
    gcount=${GUIDED_RUNS:-$(( (count + 9) / 10 ))}
    gseed=$(( seed_base + 500000 + shard * 1000 ))
    say ""
    say "### $name, guided: $gcount runs from seed $gseed (expected: $expected)"
    "$cascade" chaos "$profile" --guided --seed "$gseed" --count "$gcount" \
        --jobs 2 --check-determinism --out "$out/$name" > "$out/$name-guided.log" 2>&1
    code=$?
    cat "$out/$name-guided.log"
    {
        echo
        grep -E '^\||^every state' "$out/$name-guided.log" || true
        grep -E '^run [0-9]+:|reproduce the (seed|case|file)' "$out/$name-guided.log" | head -50 || true
    } >> "$summary"
    if [ "$expected" = "fail" ]; then
        if [ "$code" -ne 3 ] && [ "$code" -ne 4 ]; then
            say "$name guided: EXPECTED FAILURES NOT FOUND (exit $code)"
            status=1
        fi
    elif [ "$code" -ne 0 ]; then
        say "$name guided: FAILED (exit $code)"
        status=1
    fi
done
exit $status
