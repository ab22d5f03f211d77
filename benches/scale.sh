#!/usr/bin/env bash
# The scaling table: the flagship replay on growing fleets, one run each
# (repeat with REPEAT=3 and take the median; the machine is noisy).
#
#   bash benches/scale.sh                 # 2,000 and 10,000 clusters
#   (sizes: 2k, 10k, 100k, 1m: scenarios/scale/march-2025-SIZE.json)
#   SIZES="10k 100k" bash benches/scale.sh
#
# Prints one Markdown row per run: clusters, wall seconds, events, peak RSS.
# Uses the release binary (built if missing) and `--no-report`, so only
# the simulation is measured. Not run by `cargo test`: the 100,000- and
# 1,000,000-cluster files take minutes (issue 13 is about making them fast).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/cascade
sizes=${SIZES:-"2k 10k"}
repeat=${REPEAT:-1}
echo "| scenario | clusters | wall s | events | peak RSS MB |"
echo "|---|---|---|---|---|"
for size in $sizes; do
  file=scenarios/scale/march-2025-$size.json
  for _ in $(seq "$repeat"); do
    out=$(mktemp)
    /usr/bin/time -f '%e %M' -o "$out.time" "$bin" run "$file" --no-report >"$out" 2>&1 || true
    read -r wall rss_kb <"$out.time"
    line=$(grep -E '^window ' "$out" || true)
    clusters=$(echo "$line" | grep -oE '[0-9]+ clusters' | grep -oE '[0-9]+' || echo '?')
    events=$(echo "$line" | grep -oE '[0-9]+ events' | grep -oE '[0-9]+' || echo '?')
    echo "| $file | $clusters | $wall | $events | $((rss_kb / 1024)) |"
    rm -f "$out" "$out.time"
  done
done
