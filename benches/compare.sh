#!/usr/bin/env bash
# Runs the benchmark scripts against two builds in one go — each script against the
# "before" build, then at once against the "after" build — so that both see the same
# machine and the ratio holds on a noisy one (BENCHMARKS.md, "Before and after").
#
#   benches/compare.sh BEFORE_BINARY AFTER_BINARY [--quick]
#
# --quick: shorter runs and sizes up to 100,000 environments.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 BEFORE_BINARY AFTER_BINARY [--quick]" >&2; exit 2; }
BEFORE=$(realpath "$1") AFTER=$(realpath "$2")
if [ "${3:-}" = --quick ]; then
  RUNS=("foundation DURATION=5s" "api_keys DURATION=5s" "environments SIZES=10000_100000 DURATION=3s" "connectors DURATION=5s")
else
  RUNS=("foundation" "api_keys" "environments" "connectors")
fi
for run in "${RUNS[@]}"; do
  read -r script args <<<"$run"
  for side in before after; do
    bin=$BEFORE; [ "$side" = after ] && bin=$AFTER
    echo
    echo "<!-- $script, $side: $bin -->"
    # Settings are VAR=value words; `_` stands for a space inside a value.
    local_env=()
    for word in $args; do local_env+=("${word//_/ }"); done
    env "${local_env[@]}" PORTCULLIS_BIN="$bin" "benches/$script.sh" | sed "s/^## \(.*\)/## \1 — $side/"
  done
done
