#!/usr/bin/env bash
# Checks that the harness's full-touch populate time on anon-private memory matches a plain C
# loop doing the same reads (scripts/touch-loop.c) within 10%: a larger gap means the harness
# times something besides the page faults.
set -euo pipefail

usage() {
    cat <<EOF
usage: scripts/compare-touch.sh [--reps N] [--bench PATH]

Compares the median populate time of 'bench run --strategy full-touch' on 1 GiB of anon-private
memory with a C loop doing the same reads; exits 0 if bench/C is within 10% of 1, else 1.

  --reps N      repetitions of each side, not counting one warm-up [REPS, else 7]
  --bench PATH  the bench binary [BENCH, else .build/release/bench in the repo root]
  --help        this text
EOF
}

reps=${REPS:-7}
bench=${BENCH:-}
while (($#)); do
    case $1 in
        --reps) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; reps=$2; shift 2 ;;
        --bench) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; bench=$2; shift 2 ;;
        --help | -h) usage; exit 0 ;;
        *) echo "compare-touch: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "compare-touch: --reps must be a positive whole number, not '$reps'" >&2; exit 2; }

# A path given by the caller means the caller's directory; only the default is the repo's.
[[ -z $bench || $bench == /* ]] || bench=$PWD/$bench
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bench=${bench:-.build/release/bench}
[[ -x $bench ]] || { echo "compare-touch: no executable bench at $bench (build it, or pass --bench)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gcc -O2 -o "$tmp/touch-loop" scripts/touch-loop.c
"$tmp/touch-loop" 1024 "$reps" 1 | tee "$tmp/c.txt"
c_median=$(awk '$1 == "median_seconds" { print $2 }' "$tmp/c.txt")

# The raw rows go to stdout with --format csv; the summary file beside --out is what we read.
"$bench" run --backend anon-private --strategy full-touch --size 1GiB --plugged 0.25 --resident 0 \
    --block-size 2MiB --thp nohuge --repetitions "$reps" --warmup 1 --quiet --format csv \
    --out "$tmp/bench.csv" >/dev/null || { echo "compare-touch: $bench run failed (status $?)" >&2; exit 2; }

bench_median=$(python3 - "$tmp/bench-summary.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["phase"] == "populate"]
if len(rows) != 1 or not rows[0]["seconds_median"]:
    sys.exit(f"compare-touch: expected one populate row with seconds_median, got {rows}")
print(rows[0]["seconds_median"])
EOF
)

python3 - "$c_median" "$bench_median" <<'EOF'
import sys
c, bench = map(float, sys.argv[1:])
ratio = bench / c
print(f"C median      {c:.6f} s")
print(f"bench median  {bench:.6f} s")
print(f"ratio bench/C {ratio:.3f}")
if abs(ratio - 1) > 0.10:
    sys.exit(f"compare-touch: bench/C = {ratio:.3f} is outside 1 ± 0.10")
EOF
