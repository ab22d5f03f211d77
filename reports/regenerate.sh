#!/usr/bin/env bash
# Regenerates the committed canonical reports in reports/march-2025/.
# `cargo test scenarios` fails when a committed summary.json's trace hash
# differs from a fresh run of the same scenario and seed: run this script
# after any change that alters behaviour, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
out=reports/march-2025
rm -rf "$out"
mkdir -p "$out"
runs=(
  "march-2025:scenarios/march-2025.json"
  "fixed-agent:scenarios/counterfactuals/fixed-agent.json"
  "fixed-agent-hold-alert:scenarios/counterfactuals/fixed-agent-hold-alert.json"
  "isolation:scenarios/counterfactuals/isolation.json"
  "recovery-script:scenarios/counterfactuals/recovery-script.json"
  "auth-mitigations:scenarios/counterfactuals/auth-mitigations.json"
)
for r in "${runs[@]}"; do
  name=${r%%:*}; scenario=${r#*:}
  # events.jsonl is left out of the committed copies (megabytes of trace);
  # `cascade run` writes it for any local run. --provenance: each fact
  # shows how it is reached (the sensitivity runs, about 10 s a scenario).
  ./target/release/cascade run "$scenario" --out "$out/$name" --events none --provenance --jobs 2 > /dev/null
  echo "wrote $out/$name"
done
./target/release/cascade compare "$out/march-2025" "$out/fixed-agent" --out "$out/compare-historical-vs-fixed-agent.html"
./target/release/cascade compare "$out/march-2025" "$out/recovery-script" --out "$out/compare-manual-vs-recovery-script.html"
./target/release/cascade compare "$out/march-2025" "$out/isolation" --out "$out/compare-historical-vs-isolation.html"
