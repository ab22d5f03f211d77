#!/usr/bin/env bash
# Sums cargo-mutants outcomes over one or more output folders (shards) and
# prints a Markdown summary: counts, the kill rate, every surviving mutant.
#
#   .github/scripts/mutants-summary.sh mutants.out [more/mutants.out ...]
#
# Kill rate = caught / (caught + missed + timeout): a mutant the tests did
# not notice within the time limit counts against it (a hang the tests
# tolerate is not a catch). Unviable mutants (they do not compile) are
# listed but not counted.
set -euo pipefail
# Missed and timed-out mutants are counted once by name: sittings of one
# run (mutants-resume.sh) may have tested the same mutant again.
count() { cat "${@/%//$kind.txt}" 2>/dev/null | grep . | sort -u | grep -c . || true; }
declare -A n
for kind in caught missed timeout unviable; do
    n[$kind]=$(count "$@")
done
judged=$((n[caught] + n[missed] + n[timeout]))
echo "### Mutation testing (cargo-mutants)"
echo
echo "| caught | missed | timeout | unviable | kill rate |"
echo "|---|---|---|---|---|"
if ((judged > 0)); then
    rate=$(awk -v c="${n[caught]}" -v j="$judged" 'BEGIN { printf "%.1f %%", 100 * c / j }')
else
    rate="-"
fi
echo "| ${n[caught]} | ${n[missed]} | ${n[timeout]} | ${n[unviable]} | $rate |"
echo
if ((n[missed] + n[timeout] > 0)); then
    echo "Surviving mutants (each is a gap to close with a scenario, expectation,"
    echo "invariant or property, or an equivalent change to exclude in"
    echo "\`.cargo/mutants.toml\` with its reason):"
    echo
    for d in "$@"; do
        for kind in missed timeout; do
            [[ -f $d/$kind.txt ]] && sed "s/^/- $kind: /" "$d/$kind.txt"
        done
    done | sort -u
fi
