#!/usr/bin/env bash
# Seeds-to-first-failure of each seeded bug: for each bug, sweeps 10
# disjoint seed ranges of a profile (range k starts at k * 1,000,000 + 1),
# each until its first failing seed (at most SEEDS_MAX seeds), and prints
# one table row per bug: the seeds needed in each range, their median and
# the worst (">N" when a range found nothing), and the signature found.
# Then shrinks the first failure of range 0 and prints its fault count.
#
#   .github/scripts/seeds-to-find.sh PROFILE BUG...
#   CASCADE=target/release/cascade SEEDS_MAX=500 RANGES=10 JOBS=2
set -euo pipefail
profile=$1; shift
cascade=${CASCADE:-target/release/cascade}
seeds_max=${SEEDS_MAX:-500}
ranges=${RANGES:-10}
jobs=${JOBS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| bug | seeds to first failure, ranges 0..$((ranges - 1)) | median | worst | signature | shrunk faults |"
echo "|---|---|---|---|---|---|"
for bug in "$@"; do
    found=()
    sig=""
    first_seed=""
    for ((k = 0; k < ranges; k++)); do
        start=$((k * 1000000 + 1))
        out=$("$cascade" chaos "$profile" --seed "$start" --count "$seeds_max" --jobs "$jobs" \
            --no-shrink --stop-on-failure --bug "$bug" --out "$work/out" 2>&1 || true)
        # Failing seeds print "seed N: class:what · hash H"; take the lowest.
        seed=$(grep -E '^seed [0-9]+: ' <<<"$out" | sed -E 's/^seed ([0-9]+): .*/\1/' | sort -n | head -1 || true)
        if [[ -n $seed ]]; then
            found+=($((seed - start + 1)))
            if [[ -z $sig ]]; then
                sig=$(grep -E "^seed $seed: " <<<"$out" | sed -E 's/^seed [0-9]+: ([^ ]+) .*/\1/')
                first_seed=$seed
            fi
        else
            found+=($((seeds_max + 1)))
        fi
    done
    sorted=$(printf '%s\n' "${found[@]}" | sort -n)
    median=$(sed -n "$(((ranges + 1) / 2))p" <<<"$sorted")
    worst=$(tail -1 <<<"$sorted")
    show() { if (($1 > seeds_max)); then echo ">$seeds_max"; else echo "$1"; fi; }
    shrunk="-"
    if [[ -n $first_seed ]]; then
        "$cascade" chaos "$profile" --seed "$first_seed" --count 1 --bug "$bug" \
            --out "$work/shrink" >/dev/null 2>&1 || true
        min=$(find "$work/shrink" -name minimal.json | head -1)
        if [[ -n $min ]]; then
            shrunk=$(jq '[.timeline[] | select(.id | test("^F[0-9]+-"))] | length' "$min")
        fi
        rm -rf "$work/shrink"
    fi
    row=""
    for n in "${found[@]}"; do row+="$(show "$n") "; done
    echo "| $bug | ${row% } | $(show "$median") | $(show "$worst") | ${sig:-none} | $shrunk |"
done
