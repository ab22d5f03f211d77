#!/usr/bin/env bash
# Seeds-to-first-failure of each seeded bug: for each bug, sweeps 10
# disjoint seed ranges of a profile (range k starts at k * 1,000,000 + 1),
# each until its first failing seed (at most SEEDS_MAX seeds), and prints
# one table row per bug: the seeds needed in each range, their median and
# the worst (">N" when a range found nothing), and the signature found.
# Then shrinks the first failure of range 0 and prints its fault count.
#
#
# GUIDED=1: two columns per bug, from the same ranges and budget: plain
# random seeds (as above), then `cascade chaos --guided --seed START` (runs
# to the first failing run; fresh seeds and mutants). No shrink column.
# STATES=1: instead of bugs, runs to reach every state the profile should
# reach, random vs guided, per range (">N": not every state within N).
#
#   .github/scripts/seeds-to-find.sh PROFILE BUG...
#   GUIDED=1 .github/scripts/seeds-to-find.sh PROFILE BUG...
#   STATES=1 .github/scripts/seeds-to-find.sh PROFILE
#   CASCADE=target/release/cascade SEEDS_MAX=500 RANGES=10 JOBS=2
set -euo pipefail
profile=$1; shift
# A misspelt profile would otherwise read as ">N" in every range.
if [[ ! -f $profile ]]; then
    echo "seeds-to-find: no profile file $profile (a path, such as scenarios/chaos/fixed-400.profile.json)" >&2
    exit 2
fi
cascade=${CASCADE:-target/release/cascade}
seeds_max=${SEEDS_MAX:-500}
ranges=${RANGES:-10}
jobs=${JOBS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
show() { if (($1 > seeds_max)); then echo ">$seeds_max"; else echo "$1"; fi; }
# The median and worst of a list of counts.
spread() {
    local sorted
    sorted=$(printf '%s\n' "$@" | sort -n)
    echo "$(show "$(sed -n "$((($# + 1) / 2))p" <<<"$sorted")") | $(show "$(tail -1 <<<"$sorted")")"
}
row_of() { local r=""; for n in "$@"; do r+="$(show "$n") "; done; echo "${r% }"; }
# Runs to the first failure of one range: MODE random or guided.
first_failure() {
    local mode=$1 bug=$2 start=$3 out n
    if [[ $mode == guided ]]; then
        out=$("$cascade" chaos "$profile" --guided --seed "$start" --count "$seeds_max" --jobs "$jobs" \
            --no-shrink --stop-on-failure --bug "$bug" --out "$work/out" 2>&1 || true)
        n=$(grep -E '^run [0-9]+: ' <<<"$out" | sed -E 's/^run ([0-9]+): .*/\1/' | sort -n | head -1 || true)
        echo "${n:-$((seeds_max + 1))}"
    else
        out=$("$cascade" chaos "$profile" --seed "$start" --count "$seeds_max" --jobs "$jobs" \
            --no-shrink --stop-on-failure --bug "$bug" --out "$work/out" 2>&1 || true)
        n=$(grep -E '^seed [0-9]+: ' <<<"$out" | sed -E 's/^seed ([0-9]+): .*/\1/' | sort -n | head -1 || true)
        if [[ -n $n ]]; then echo $((n - start + 1)); else echo $((seeds_max + 1)); fi
    fi
}
# Runs until every state the profile should reach was reached, in one range.
every_state() {
    local out n
    out=$("$cascade" chaos "$profile" --seed "$2" --count "$seeds_max" --jobs "$jobs" --no-shrink \
        $([[ $1 == guided ]] && echo --guided) 2>&1 || true)
    n=$(grep -E '^every state the profile should reach' <<<"$out" | sed -E 's/.* by run ([0-9]+)$/\1/' || true)
    echo "${n:-$((seeds_max + 1))}"
}
if [[ -n ${STATES:-} ]]; then
    echo "| runs to reach every state, ranges 0..$((ranges - 1)) | median | worst |"
    echo "|---|---|---|"
    for mode in random guided; do
        found=()
        for ((k = 0; k < ranges; k++)); do found+=("$(every_state $mode $((k * 1000000 + 1)))"); done
        echo "| $mode: $(row_of "${found[@]}") | $(spread "${found[@]}") |"
    done
    exit 0
fi
if [[ -n ${GUIDED:-} ]]; then
    echo "| bug | random, ranges 0..$((ranges - 1)) | median | worst | guided, ranges 0..$((ranges - 1)) | median | worst |"
    echo "|---|---|---|---|---|---|---|"
    for bug in "$@"; do
        random=(); guided=()
        for ((k = 0; k < ranges; k++)); do
            random+=("$(first_failure random "$bug" $((k * 1000000 + 1)))")
            guided+=("$(first_failure guided "$bug" $((k * 1000000 + 1)))")
        done
        echo "| $bug | $(row_of "${random[@]}") | $(spread "${random[@]}") | $(row_of "${guided[@]}") | $(spread "${guided[@]}") |"
    done
    exit 0
fi
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
