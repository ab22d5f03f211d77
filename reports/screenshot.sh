#!/usr/bin/env bash
# Screenshots a report page in headless Chromium (Debian's `chromium`
# package: apt-get install chromium). Not part of CI.
#   reports/screenshot.sh [page.html] [out.png]
set -euo pipefail
page=${1:-reports/latest/report.html}
png=${2:-${page%.html}.png}
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d)" --hide-scrollbars --window-size=1100,3400 \
  --screenshot="$png" "file://$(realpath "$page")" 2>/dev/null
echo "wrote $png"
