#!/usr/bin/env bash
# The last step of the whole mutation run (issue 29): every mutant the run
# missed or timed out at its commit is tested again at this checkout's
# head, where the triage has added tests and removed dead code.
#
# A mutant's name carries its line and column, which move between commits:
# this matches names with the position taken out ("file: replace X with Y
# in FUNCTION"), so an operator that appears twice in one function matches
# both places (a superset, never a miss). A survivor that `cargo mutants
# --list` no longer shows at head (its code removed, such as an accessor or
# a guard, or excluded with its reason in .cargo/mutants.toml) is listed in
# not-at-head.txt instead.
#
#   .github/scripts/mutants-survivors-at-head.sh OUT [ARG...]
#
# OUT: the run's folder (mutants-resume.sh's OUT, holding sitting-*/ and
# mutants.out/), or a folder of committed lists (reports/mutants/COMMIT/);
# ARG...: passed on to cargo mutants (e.g. `--timeout 600`, or `--list` to
# see what would run). Writes OUT/at-head/ (cargo mutants' own output
# folder), OUT/at-head/not-at-head.txt and OUT/at-head/head-by-name.txt.
set -euo pipefail
out=$1
shift
cd "$(git rev-parse --show-toplevel)"
lists=()
for d in "$out"/sitting-* "$out"/mutants.out; do
    for kind in missed timeout; do
        [[ -f $d/$kind.txt ]] && lists+=("$d/$kind.txt")
    done
done
if ((${#lists[@]} == 0)); then
    echo "mutants-survivors-at-head: no missed.txt or timeout.txt under $out" >&2
    exit 2
fi
unplace() { sed -E 's/^([^:]+):[0-9]+:[0-9]+: /\1: /'; }
survivors=$(cat "${lists[@]}" | grep . | unplace | sort -u)
mkdir -p "$out/at-head"
# Head's mutants without their positions, once (not once per survivor).
printf '%s\n' "$(cargo mutants --list)" | unplace | sort -u >"$out/at-head/head-by-name.txt"
re=()
: >"$out/at-head/not-at-head.txt"
while IFS= read -r name; do
    if grep -qxF -- "$name" "$out/at-head/head-by-name.txt"; then
        re+=(--re "^$(printf '%s' "$name" | sed -E 's/[][\\.*^$+?(){}|]/\\&/g; s/^([^:]+): /\1:[0-9]+:[0-9]+: /')\$")
    else
        printf '%s\n' "$name" >>"$out/at-head/not-at-head.txt"
    fi
done <<<"$survivors"
echo "$(wc -l <<<"$survivors") survivors by name: $((${#re[@]} / 2)) at head, $(wc -l <"$out/at-head/not-at-head.txt") not (listed in $out/at-head/not-at-head.txt)" >&2
if ((${#re[@]} == 0)); then
    exit 0
fi
exec cargo mutants --output "$out/at-head" "${re[@]}" "$@"
