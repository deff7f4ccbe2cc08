#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR/fuzz for SECONDS each, from a scratch copy of its corpus (the
# repository's corpus is never written). The FHIR resource parser and validator and the search
# query parser (issue 3 asks a minute of each in CI; listed in LONG_TARGETS) run for LONG_SECONDS
# instead, when given. A crash fails the run and leaves the reproducer printed.
#
# A libFuzzer process uses one core and a fixed time, so the targets run as many at once as there
# are cores (KAVACH_FUZZ_JOBS to change it): each still gets its whole time, and on CI's two cores
# the run takes half as long.
# Usage: scripts/run-fuzzers.sh BUILD_DIR SECONDS [LONG_SECONDS]
set -euo pipefail
build=${1:?build directory}
short_seconds=${2:?seconds per target}
long_seconds=${3:-$short_seconds}
parallel=${KAVACH_FUZZ_JOBS:-$(nproc)}
LONG_TARGETS=" search_query resource_index "
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs one target and prints its summary (or the crash and its reproducer) in one piece when it
# ends; its exit status lands in $work/NAME.status.
fuzz_one() {
  local target=$1 name=$2 seconds=$3 status=0
  "$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/" -print_final_stats=1 "$work/$name" >"$work/$name.log" 2>&1 || status=$?
  local lines=3 summary
  ((status == 0)) || lines=40
  summary=$(echo "fuzz: $name for ${seconds}s (exit $status)"; tail -n "$lines" "$work/$name.log")
  printf '%s\n' "$summary"
  echo "$status" >"$work/$name.status"
}

# The long targets start first so that they do not run alone at the end.
targets=()
for name in $LONG_TARGETS; do targets+=("$build/fuzz/${name}_fuzz"); done
for target in "$build"/fuzz/*_fuzz; do
  [[ "$LONG_TARGETS" == *" $(basename "$target" _fuzz) "* ]] || targets+=("$target")
done

for target in "${targets[@]}"; do
  name=$(basename "$target" _fuzz)
  seconds=$short_seconds
  if [[ "$LONG_TARGETS" == *" $name "* ]]; then seconds=$long_seconds; fi
  mkdir -p "$work/$name"
  cp "$root/fuzz/${name}_corpus/"* "$work/$name/"
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
  fuzz_one "$target" "$name" "$seconds" &
done
wait

failed=()
for target in "${targets[@]}"; do
  name=$(basename "$target" _fuzz)
  [[ "$(cat "$work/$name.status" 2>/dev/null)" == 0 ]] || failed+=("$name")
done
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran clean"
