#!/usr/bin/env bash
# The golden set: everything a behaviour-preserving refactor must leave
# byte-identical. Writes one file per run into OUT (default
# target/golden); compare two commits' folders with `diff -r`.
#   .github/scripts/golden.sh /tmp/golden-before   # on the old commit
#   .github/scripts/golden.sh /tmp/golden-after    # on the new one
#   diff -r /tmp/golden-before /tmp/golden-after   # must print nothing
# What it covers: every scenario file (text summary and --json summary,
# the commit line removed: it names the build), a seed sweep and a
# compare page, the three chaos profiles' first 20 seeds (verdicts, trace
# hashes and digest), chaos with every seeded bug on 4 seeds, and two wire
# runs. It takes a few minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-target/golden}
mkdir -p "$out"
cargo build --release --quiet || exit 1
bin=./target/release/cascade
scrub() { grep -v -E '"commit"|^commit|commit:|elapsed|wall|seconds of wall|runs/s| in [0-9.]+ ?s\b'; }
for f in $(find scenarios -name '*.json' ! -name '*schema*' ! -name '*.profile.json' ! -path '*/scale/march-2025-1m.json' | sort); do
  n=$(echo "$f" | tr '/' '_')
  $bin run "$f" --no-report > "$out/$n.txt" 2>&1; echo "exit $?" >> "$out/$n.txt"
  $bin run "$f" --no-report --json 2>/dev/null | scrub > "$out/$n.json"
done
$bin run scenarios/focused/d5-pool-loss.json --seeds 1..9 --jobs 2 2>&1 | scrub > "$out/seeds-d5.txt"
$bin run scenarios/march-2025.json --seeds 1..4 --jobs 2 2>&1 | scrub > "$out/seeds-march.txt"
tmp=target/golden-tmp   # cascade's own scratch folder, named so paths print the same every run
rm -rf "$tmp"; mkdir -p "$tmp"
$bin compare scenarios/counterfactuals/recovery-script.json --out "$tmp/cmp.html" > "$out/compare.txt" 2>&1; echo "exit $?" >> "$out/compare.txt"
for p in fixed-400 anchored-march historical-404; do
  $bin chaos scenarios/chaos/$p.profile.json --seeds 1..21 --jobs 2 --json --no-shrink --out "$tmp/chaos-$p" 2>/dev/null | scrub > "$out/chaos-$p.json"
done
for b in $($bin chaos --help | sed -n 's/^ *- \([a-z_0-9]*\): .*/\1/p'); do
  $bin chaos scenarios/chaos/fixed-400.profile.json --seeds 1..5 --jobs 2 --json --no-shrink --bug "$b" --out "$tmp/bug-$b" 2>/dev/null | scrub > "$out/bug-$b.json"
done
$bin chaos scenarios/chaos/fixed-400.profile.json --seeds 1..3 --bug deletes_on_5xx --out "$tmp/shrink" 2>&1 | scrub > "$out/chaos-shrink.txt"
for f in $(cd "$tmp/shrink" 2>/dev/null && find . -name 'minimal.json' | sort); do cp "$tmp/shrink/$f" "$out/shrink-$(echo "$f" | tr '/' '_')"; done
$bin wire scenarios/march-2025.json --json 2>/dev/null | scrub > "$out/wire-march.json"
$bin wire scenarios/march-2025.json --clusters 12 --partition edge-control-plane@30m/20m --json 2>/dev/null | scrub > "$out/wire-partition.json"
for f in march-2025 counterfactuals/recovery-script focused/d8-leak-and-hotfix; do
  n=$(echo "$f" | tr '/' '_')
  $bin run scenarios/$f.json --out "$tmp/run-$n" --events none > /dev/null 2>&1
  for part in summary.json summary.md report.html series.json trace.json; do
    [ -f "$tmp/run-$n/$part" ] && cp "$tmp/run-$n/$part" "$out/folder-$n-$part"
  done
done
cp "$tmp/cmp.html" "$out/compare.html" 2>/dev/null
rm -rf "$tmp"
sed -i -E 's/[0-9a-f]{12}/C/g' "$out"/folder-*.html "$out"/folder-*.md "$out"/compare.html
# the build's commit is named in the text; the rest must match byte for byte
sed -i -E 's/commit [0-9a-f]{7,40}/commit X/g; s/"commit": *"[^"]*"/"commit": "X"/g; /^\|.* s \|$/d' "$out"/*.txt "$out"/*.json
echo "golden set written to $out ($(ls "$out" | wc -l) files)"
