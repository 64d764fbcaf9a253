#!/usr/bin/env bash
# Runs every libFuzzer target of a sanitizer build (make fuzz) for a bounded time.
# Usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]   (TARGET: order_request, config, ...)
# Each target starts from its seed corpus (fuzz/corpus/<target>, read only) and a working
# corpus in BUILD_DIR/fuzz/corpus/<target> (kept between runs); a crash, leak, timeout or
# out-of-memory stops it with a non-zero exit and saves the input under
# BUILD_DIR/fuzz/artifacts/<target>/ (docs/operations.md "Fuzzing": how to reproduce it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?build dir}
seconds=${2:?seconds per target}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
failed=()
for t in "${targets[@]}"; do
  exe="$build/fuzz/fuzz_$t"
  [ -x "$exe" ] || { echo "run-fuzz: $exe not built" >&2; exit 2; }
  work="$build/fuzz/corpus/$t"
  artifacts="$build/fuzz/artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  echo "run-fuzz: $t for ${seconds}s"
  # -timeout: one input taking longer is a hang; -rss_limit_mb: runaway memory is a finding.
  if ! "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$artifacts" "$work" "fuzz/corpus/$t" \
      >"$build/fuzz/$t.log" 2>&1; then
    tail -n 60 "$build/fuzz/$t.log" >&2
    echo "run-fuzz: $t FAILED; input saved in $artifacts (log: $build/fuzz/$t.log)" >&2
    failed+=("$t")
  else
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$build/fuzz/$t.log" | tr '\n' ' '
    echo
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "run-fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzz: ${#targets[@]} targets, ${seconds}s each: no crash, leak or timeout"
