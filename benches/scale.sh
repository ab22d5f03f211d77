#!/usr/bin/env bash
# The scaling table: the flagship replay on growing fleets.
#
#   bash benches/scale.sh                      # 2k, 10k and 100k clusters, median of 3
#   SIZES="1m" REPEAT=1 bash benches/scale.sh  # 1,000,000 clusters, one run (about 2 min, 1 GB)
#   STEP_EVERY_POLL=1 SIZES=2k bash benches/scale.sh   # the reference mode, for comparison
#
# Sizes are scenarios/scale/march-2025-SIZE.json (2k, 10k, 100k, 1m): the
# flagship's timeline, shares and seed without its paired runs. Prints one
# Markdown row per size: clusters, events, and the median wall time and
# peak RSS of REPEAT runs (the machine is noisy: about ±25 % run to run).
# Uses the release binary (built if missing) and `--no-report`, so only the
# simulation is measured. Not run by `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/cascade
sizes=${SIZES:-"2k 10k 100k"}
repeat=${REPEAT:-3}
extra=()
if [[ -n "${STEP_EVERY_POLL:-}" ]]; then
  extra=(--step-every-poll)
fi
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
echo "| scenario | clusters | events | wall s (median of $repeat) | peak RSS MB (median) |"
echo "|---|---|---|---|---|"
for size in $sizes; do
  file=scenarios/scale/march-2025-$size.json
  walls=()
  rsss=()
  clusters='?'
  events='?'
  for _ in $(seq "$repeat"); do
    out=$(mktemp)
    /usr/bin/time -f '%e %M' -o "$out.time" "$bin" run "$file" --no-report "${extra[@]}" >"$out" 2>&1 || true
    read -r wall rss_kb <"$out.time"
    line=$(grep -E '^window ' "$out" || true)
    clusters=$(echo "$line" | grep -oE '[0-9]+ clusters' | grep -oE '[0-9]+' || echo '?')
    events=$(echo "$line" | grep -oE '[0-9]+ events' | grep -oE '[0-9]+' || echo '?')
    walls+=("$wall")
    rsss+=("$((rss_kb / 1024))")
    rm -f "$out" "$out.time"
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  rss=$(printf '%s\n' "${rsss[@]}" | median)
  echo "| $file | $clusters | $events | $wall | $rss |"
done
