#!/usr/bin/env bash
# The whole cargo-mutants run over src/model/ (.cargo/mutants.toml), in
# pieces: 2,123 mutants are 18-32 hours of a 2-core machine, more than one
# sitting. It runs in a dedicated clone held at one commit, in place
# (incremental builds carry over) and with --iterate, so each sitting skips
# the mutants earlier sittings caught or found unviable and adds its
# results to the same lists. A sitting cut short loses only the mutant it
# was testing: the clone is reset to its commit before each start.
#
#   .github/scripts/mutants-resume.sh CLONE OUT COMMIT [ARG...]  # start or resume
#   .github/scripts/mutants-summary.sh OUT/mutants.out   # where it stands
#
# CLONE: a folder this script owns (cloned from this checkout if absent);
# OUT: where mutants.out lives between sittings; COMMIT: the commit under
# test (the lists are only comparable at one commit); ARG...: passed on to
# cargo mutants, e.g. `--timeout 480` (otherwise the timeout is five times
# the baseline's test time, which a busy machine stretches to 18 minutes a
# hanging mutant). Runs at nice 19 so that the machine stays usable.
set -euo pipefail
clone=$1 out=$2 commit=$3
shift 3
here=$(git rev-parse --show-toplevel)
if [[ ! -d $clone/.git ]]; then
    git clone -q "$here" "$clone"
fi
cd "$clone"
git fetch -q "$here" "$commit" 2>/dev/null || true
git checkout -q --force "$commit"
git reset -q --hard "$commit"
mkdir -p "$out"
# --iterate folds the earlier lists into one previously_caught.txt (caught
# and unviable alike) and keeps one mutants.out.old: each sitting's own
# lists are kept here, so the whole run's figures can be summed (caught
# and unviable over every sitting; missed and timeouts of the last one,
# since --iterate tests those again).
if [[ -d $out/mutants.out ]]; then
    n=1
    while [[ -d $out/sitting-$n ]]; do n=$((n + 1)); done
    cp -r "$out/mutants.out" "$out/sitting-$n"
fi
# --iterate tests again the mutants earlier sittings missed or timed out.
# At the same commit their outcome cannot change, so SKIP_KNOWN=1 excludes
# them by name (a 10-minute timeout and some 60 full test runs a sitting):
# each sitting then tests mutants no sitting tested, and the run's figures
# are the sums of every sitting's lists (mutants-summary.sh OUT/sitting-*
# OUT/mutants.out).
skip=()
if [[ ${SKIP_KNOWN:-0} == 1 ]]; then
    while IFS= read -r name; do
        [[ -n $name ]] || continue
        skip+=(--exclude-re "^$(printf '%s' "$name" | sed 's/[][\\.*^$+?(){}|]/\\&/g')\$")
    done < <(cat "$out"/sitting-*/missed.txt "$out"/sitting-*/timeout.txt 2>/dev/null | sort -u)
    echo "skipping $(( ${#skip[@]} / 2 )) mutants earlier sittings missed or timed out" >&2
fi
exec nice -n 19 cargo mutants --in-place --iterate --output "$out" "${skip[@]}" "$@"
