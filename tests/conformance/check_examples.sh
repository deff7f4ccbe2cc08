#!/usr/bin/env bash
# The example messages in examples/ (read by tests/exchange/abdm_examples_test.cc) must be exactly
# what abdm_conformance.mjs builds from ABDM's specs: regenerated and compared.
set -euo pipefail
cd "$(dirname "$0")"
[[ -d node_modules ]] || { echo "run npm ci in tests/conformance (make test does)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node abdm_conformance.mjs examples "$out"
diff -r "$out" examples
echo "examples are current"
