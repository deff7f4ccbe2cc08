#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR/fuzz for SECONDS each, from a scratch copy of its corpus (the
# repository's corpus is never written). The FHIR resource parser and validator and the search
# query parser (issue 3 asks a minute of each in CI; listed in LONG_TARGETS) run for LONG_SECONDS
# instead, when given. A crash fails the run and leaves the
# reproducer printed.
# Usage: scripts/run-fuzzers.sh BUILD_DIR SECONDS [LONG_SECONDS]
set -euo pipefail
build=${1:?build directory}
short_seconds=${2:?seconds per target}
long_seconds=${3:-$short_seconds}
LONG_TARGETS=" search_query resource_index "
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in "$build"/fuzz/*_fuzz; do
  name=$(basename "$target" _fuzz)
  seconds=$short_seconds
  if [[ "$LONG_TARGETS" == *" $name "* ]]; then seconds=$long_seconds; fi
  mkdir -p "$work/$name"
  cp "$root/fuzz/${name}_corpus/"* "$work/$name/"
  echo "fuzz: $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/" -print_final_stats=1 "$work/$name" 2>&1 | tail -n 3
done
