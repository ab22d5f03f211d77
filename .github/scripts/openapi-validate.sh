#!/usr/bin/env bash
# Validates the committed OpenAPI document (docs/openapi.json, or the file
# given) with openapi-spec-validator from PyPI: the OpenAPI 3.1 meta-schema,
# its JSON Schema dialect, and every $ref resolved. tests/harness/openapi.rs keeps
# the document equal to `cascade schema --openapi`; this checks it against
# a validator that is not cascade's own.
#
# The validator is installed, pinned, into a virtual environment under
# target/ (made once, reused while its version matches), so nothing is
# installed for the user or the system. Needs python3 with venv and PyPI.
# Exit status: 0 valid, 1 invalid, 2 the validator could not be set up.
set -euo pipefail
# A file given is taken relative to where the script was called from.
if [ $# -gt 0 ]; then
    DOC=$(realpath -m -- "$1")
fi
cd "$(dirname "$0")/../.."

VERSION=0.9.0
DOC=${DOC:-docs/openapi.json}
VENV=target/openapi-validator-venv

if [ ! -f "$DOC" ]; then
    echo "openapi-validate: no file at $DOC (expected an OpenAPI document; make it with \`cascade schema --openapi --out $DOC\`)" >&2
    exit 2
fi

installed() {
    "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("openapi-spec-validator") != sys.argv[1])' "$VERSION" 2>/dev/null
}

if ! installed; then
    echo "== installing openapi-spec-validator $VERSION into $VENV"
    mkdir -p target
    python3 -m venv "$VENV" || { echo "openapi-validate: python3 -m venv failed (install python3-venv)" >&2; exit 2; }
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "openapi-spec-validator==$VERSION" \
        || { echo "openapi-validate: could not install openapi-spec-validator $VERSION from PyPI" >&2; exit 2; }
fi

echo "== openapi-spec-validator $VERSION: $DOC"
if "$VENV/bin/openapi-spec-validator" --schema 3.1 --validation-errors all "$DOC"; then
    exit 0
fi
exit 1
