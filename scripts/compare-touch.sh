#!/usr/bin/env bash
# Checks that the harness's populate time on anon-private memory matches plain C doing the same
# (scripts/touch-loop.c): the byte-read loop of full-touch and the MADV_POPULATE_READ of
# full-madvise. A gap means the harness times something besides the kernel's work. The two
# sides alternate, one repetition each in turn, so that drift of a shared machine hits both.
set -euo pipefail

usage() {
    cat <<EOF
usage: scripts/compare-touch.sh [--size SIZE] [--method touch|madvise|both] [--reps N]
                                [--tolerance PERCENT] [--bench PATH]

Compares the median populate time of 'bench run --strategy full-touch' (touch) and
'--strategy full-madvise' (madvise) on anon-private memory with a C program doing the same
reads, or the same madvise; exits 0 if every bench/C ratio is within the tolerance of 1, else 1.

  --size SIZE          region size, in MiB or GiB (512MiB, 1GiB, 64GiB) [1GiB]
  --method M           touch, madvise or both [both]
  --reps N             repetitions of each side, after one warm-up of each [REPS, else 7]
  --tolerance PERCENT  largest accepted |bench/C - 1|, in percent [2]
  --bench PATH         the bench binary [BENCH, else .build/release/bench in the repo root]
  --help               this text

Each repetition is a fresh mapping (C) or a fresh trial child (bench), THP off in both.
EOF
}

reps=${REPS:-7}
bench=${BENCH:-}
size=1GiB
method=both
tolerance=2
while (($#)); do
    case $1 in
        --reps | --size | --method | --tolerance | --bench) [[ $# -ge 2 ]] || { usage >&2; exit 2; } ;;&
        --reps) reps=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --method) method=$2; shift 2 ;;
        --tolerance) tolerance=$2; shift 2 ;;
        --bench) bench=$2; shift 2 ;;
        --help | -h) usage; exit 0 ;;
        *) echo "compare-touch: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "compare-touch: --reps must be a positive whole number, not '$reps'" >&2; exit 2; }
[[ $tolerance =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "compare-touch: --tolerance must be a number of percent, not '$tolerance'" >&2; exit 2; }
case $size in
    *GiB) mib=$((${size%GiB} * 1024)) ;;
    *MiB) mib=${size%MiB} ;;
    *) echo "compare-touch: --size must be in MiB or GiB (1GiB, 512MiB), not '$size'" >&2; exit 2 ;;
esac
[[ $mib =~ ^[1-9][0-9]*$ ]] || { echo "compare-touch: --size must be a positive whole size, not '$size'" >&2; exit 2; }
case $method in
    touch | madvise) methods=("$method") ;;
    both) methods=(touch madvise) ;;
    *) echo "compare-touch: --method must be touch, madvise or both, not '$method'" >&2; exit 2 ;;
esac

# A path given by the caller means the caller's directory; only the default is the repo's.
[[ -z $bench || $bench == /* ]] || bench=$PWD/$bench
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bench=${bench:-.build/release/bench}
[[ -x $bench ]] || { echo "compare-touch: no executable bench at $bench (build it, or pass --bench)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/touch-loop" scripts/touch-loop.c

strategy_of() { [[ $1 == touch ]] && echo full-touch || echo full-madvise; }

# One C repetition: its seconds on stdout.
c_once() {
    "$tmp/touch-loop" "$mib" 1 0 "$1" | awk '$1 == "median_seconds" { print $2 }'
}

# One bench trial in its own child: the populate row's seconds on stdout.
bench_once() {
    "$bench" run --backend anon-private --strategy "$(strategy_of "$1")" --size "$size" --plugged 0.25 \
        --resident 0 --block-size 2MiB --thp nohuge --repetitions 1 --warmup 0 --quiet --format csv \
        --out "$tmp/bench.csv" >/dev/null || { echo "compare-touch: $bench run failed (status $?)" >&2; exit 2; }
    python3 - "$tmp/bench.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["phase"] == "populate"]
if len(rows) != 1 or rows[0]["status"] != "ok":
    sys.exit(f"compare-touch: expected one ok populate row, got {rows}")
print(rows[0]["seconds"])
EOF
}

status=0
for m in "${methods[@]}"; do
    echo "== $m ($(strategy_of "$m")), $size, $reps repetitions each, alternating"
    # The first touch of fresh memory in these VMs is slow and noisy: one warm-up of each side.
    c_once "$m" >/dev/null
    bench_once "$m" >/dev/null
    : >"$tmp/c-$m.txt"
    : >"$tmp/bench-$m.txt"
    for ((i = 1; i <= reps; i++)); do
        c=$(c_once "$m")
        b=$(bench_once "$m")
        echo "$c" >>"$tmp/c-$m.txt"
        echo "$b" >>"$tmp/bench-$m.txt"
        printf 'rep %d  C %s s  bench %s s\n' "$i" "$c" "$b"
    done
    python3 - "$tmp/c-$m.txt" "$tmp/bench-$m.txt" "$tolerance" "$m" <<'EOF' || status=1
import statistics, sys
c = statistics.median(float(x) for x in open(sys.argv[1]))
bench = statistics.median(float(x) for x in open(sys.argv[2]))
tolerance, method = float(sys.argv[3]), sys.argv[4]
ratio = bench / c
print(f"C median      {c:.6f} s")
print(f"bench median  {bench:.6f} s")
print(f"ratio bench/C {ratio:.4f}")
if abs(ratio - 1) * 100 > tolerance:
    sys.exit(f"compare-touch: {method}: bench/C = {ratio:.4f} is outside 1 ± {tolerance / 100:.3f}")
EOF
done
exit $status
