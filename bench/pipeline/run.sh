#!/usr/bin/env bash
# Tag pushed → 10% canary serving, with a warm Go build cache.
#
# demo (the default mode): runs `canaryflow demo` ROUNDS times per runtime
# with a short bake and its tuned settings (poll 200ms, health checks
# 500ms); each run measures, through the production listener under load,
# the time from `git push` of a release tag to the first answer of the new
# version (for v1.1.0 and v1.2.0).
#
# defaults: the same measure with the canaryflow.yaml `canaryflow init`
# writes, through the real binaries (`canaryflow up`, `canaryflow flow
# release finish --push`); see bench/pipeline/defaults. It reports v1.1.0
# (a 10% canary) and v1.0.0 (a first deployment), and where v1.1.0's time
# goes.
#
# The first run of each runtime warms the caches and is not counted.
# Usage: bench/pipeline/run.sh [ROUNDS] [demo|defaults]   (default 5 demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
mode=${2:-demo}
go build -o bin/ ./cmd/canaryflow ./cmd/canaryflow-proxy
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

runtimes=(process)
if docker info >/dev/null 2>&1; then runtimes+=(docker); fi

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')  load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$mode" = defaults ]; then
  go build -o "$out/defaults" ./bench/pipeline/defaults
  for rt in "${runtimes[@]}"; do
    "$out/defaults" -bin bin/canaryflow -rounds "$rounds" -runtime "$rt"
  done
  exit 0
fi
for rt in "${runtimes[@]}"; do
  ./bin/canaryflow demo --runtime "$rt" --canary 2s > "$out/warm-$rt.txt" 2>&1 || { cat "$out/warm-$rt.txt"; exit 1; }
  : > "$out/$rt.ms"
  for i in $(seq 1 "$rounds"); do
    ./bin/canaryflow demo --runtime "$rt" --canary 2s > "$out/$rt-$i.txt" 2>&1 || { cat "$out/$rt-$i.txt"; exit 1; }
    # summary rows: "  v1.1.0   deployed   3.11s   —"
    awk '/^  v1\.[12]\.0 / { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+(ms|s)$/) { print $i; break } }' "$out/$rt-$i.txt" |
      sed -E 's/([0-9.]+)ms/\1/; t; s/([0-9.]+)s/\1*1000/' | bc >> "$out/$rt.ms"
    grep -E '^  v1\.2\.0 ' "$out/$rt-$i.txt" | awk '{print $NF}' >> "$out/$rt.rollback"
  done
  sort -n "$out/$rt.ms" | awk -v rt="$rt" '{ a[NR] = $1 } END {
    printf "%-8s tag → 10%% canary serving: n=%d  p50 %.0f ms  max %.0f ms  (target ≤ 5000 ms)\n", rt, NR, a[int((NR+1)/2)], a[NR] }'
  printf '%-8s fault → rollback (demo, 250 ms alarm period): %s\n' "$rt" "$(tr '\n' ' ' < "$out/$rt.rollback")"
done
