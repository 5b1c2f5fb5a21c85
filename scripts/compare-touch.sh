#!/usr/bin/env bash
# Checks that the harness's populate time on anon-private memory matches plain C doing the same
# (scripts/touch-loop.c): the byte-read loop of full-touch and the MADV_POPULATE_READ of
# full-madvise. A gap means the harness times something besides the kernel's work. The two
# sides alternate, one repetition each in turn, so that drift of a shared machine hits both.
set -euo pipefail

usage() {
    cat <<EOF
usage: scripts/compare-touch.sh [--size SIZE] [--method touch|madvise|both] [--thp nohuge|huge|both]
                                [--reps N] [--tolerance PERCENT] [--attempts N] [--bench PATH]

Compares the median populate time of 'bench run --strategy full-touch' (touch) and
'--strategy full-madvise' (madvise) on anon-private memory with a C program doing the same
reads, or the same madvise; exits 0 if every bench/C ratio is within the tolerance of 1, else 1.
The last line says each ratio, so a CI log shows what the gate saw.

  --size SIZE          region size, in MiB or GiB (512MiB, 1GiB, 64GiB) [1GiB]
  --method M           touch, madvise or both [both]
  --thp T              nohuge (4 KiB faults), huge (the huge zero page, 512 times fewer faults)
                       or both [nohuge]
  --reps N             repetitions of each side, after one warm-up of each [REPS, else 5]
  --tolerance PERCENT  largest accepted |bench/C - 1|, in percent [3]
  --attempts N         sittings of --reps pairs a method may take to come within the tolerance [1];
                       a shared VM has bursts of noise that move a median of a few pairs, a real
                       gap moves every sitting
  --bench PATH         the bench binary [BENCH, else .build/release/bench in the repo root]
  --help               this text

Each repetition is a fresh mapping (C) or a fresh trial child (bench), with the same THP advice
on both sides.
EOF
}

reps=${REPS:-5}
bench=${BENCH:-}
size=1GiB
method=both
tolerance=3
thp=nohuge
attempts=1
while (($#)); do
    case $1 in
        --reps | --size | --method | --thp | --tolerance | --attempts | --bench) [[ $# -ge 2 ]] || { usage >&2; exit 2; } ;;&
        --reps) reps=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --method) method=$2; shift 2 ;;
        --thp) thp=$2; shift 2 ;;
        --attempts) attempts=$2; shift 2 ;;
        --tolerance) tolerance=$2; shift 2 ;;
        --bench) bench=$2; shift 2 ;;
        --help | -h) usage; exit 0 ;;
        *) echo "compare-touch: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "compare-touch: --reps must be a positive whole number, not '$reps'" >&2; exit 2; }
[[ $attempts =~ ^[1-9][0-9]*$ ]] || { echo "compare-touch: --attempts must be a positive whole number, not '$attempts'" >&2; exit 2; }
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
case $thp in
    nohuge | huge) thps=("$thp") ;;
    both) thps=(nohuge huge) ;;
    *) echo "compare-touch: --thp must be nohuge, huge or both, not '$thp'" >&2; exit 2 ;;
esac
# --thp huge compares reads of the huge zero page: without THP for madvised memory, or without the
# huge zero page, both sides would measure base-page faults under the wrong name.
if [[ " ${thps[*]} " == *" huge "* ]]; then
    thp_dir=/sys/kernel/mm/transparent_hugepage
    enabled=$(cat "$thp_dir/enabled" 2>/dev/null || echo "absent")
    zero=$(cat "$thp_dir/use_zero_page" 2>/dev/null || echo 0)
    [[ $enabled == *"[always]"* || $enabled == *"[madvise]"* ]] \
        || { echo "compare-touch: --thp huge needs THP for madvised memory ($thp_dir/enabled: $enabled)" >&2; exit 2; }
    [[ $zero == 1 ]] \
        || { echo "compare-touch: --thp huge needs the huge zero page ($thp_dir/use_zero_page: $zero)" >&2; exit 2; }
fi

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
    "$tmp/touch-loop" "$mib" 1 1 "$1" "$2" | awk '$1 == "median_seconds" { print $2 }'
}

# One bench trial in its own child: the populate row's seconds on stdout.
bench_once() {
    "$bench" run --backend anon-private --strategy "$(strategy_of "$1")" --size "$size" --plugged 0.25 \
        --resident 0 --block-size 2MiB --thp "$2" --repetitions 1 --warmup 0 --quiet --format csv \
        --out "$tmp/bench.csv" >/dev/null || { echo "compare-touch: $bench run failed (status $?)" >&2; exit 2; }
    python3 - "$tmp/bench.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["phase"] == "populate"]
if len(rows) != 1 or rows[0]["status"] != "ok":
    sys.exit(f"compare-touch: expected one ok populate row, got {rows}")
print(rows[0]["seconds"])
EOF
}

# One sitting: a warm-up of each side, then --reps alternating pairs, each printed; the verdict,
# "RATIO ok|OUTSIDE (C ..., bench ...)", goes to $tmp/verdict.
sitting() {
    local m=$1 t=$2 c b
    # The first touch of fresh memory in these VMs is slow and noisy: one warm-up of each side.
    c_once "$m" "$t" >/dev/null
    bench_once "$m" "$t" >/dev/null
    : >"$tmp/c.txt"
    : >"$tmp/bench.txt"
    for ((i = 1; i <= reps; i++)); do
        c=$(c_once "$m" "$t")
        b=$(bench_once "$m" "$t")
        echo "$c" >>"$tmp/c.txt"
        echo "$b" >>"$tmp/bench.txt"
        printf 'rep %d  C %s s  bench %s s\n' "$i" "$c" "$b"
    done
    python3 - "$tmp/c.txt" "$tmp/bench.txt" "$tolerance" >"$tmp/verdict" <<'EOF'
import statistics, sys
c = statistics.median(float(x) for x in open(sys.argv[1]))
bench = statistics.median(float(x) for x in open(sys.argv[2]))
tolerance = float(sys.argv[3])
ratio = bench / c
print(f"{ratio:.4f} {'ok' if abs(ratio - 1) * 100 <= tolerance else 'OUTSIDE'} (C {c:.6f} s, bench {bench:.6f} s)")
EOF
}

status=0
verdicts=()
for t in "${thps[@]}"; do
    for m in "${methods[@]}"; do
        attempt=0
        while ((attempt < attempts)); do
            attempt=$((attempt + 1))
            echo "== $m ($(strategy_of "$m")), --thp $t, $size, $reps repetitions each, alternating" \
                "(sitting $attempt of at most $attempts)"
            sitting "$m" "$t"
            verdict=$(<"$tmp/verdict")
            echo "$m --thp $t: bench/C $verdict"
            [[ $verdict == *" ok "* ]] && break
        done
        [[ $verdict == *" ok "* ]] || status=1
        note=""
        ((attempt == 1)) || note=" (sitting $attempt)"
        verdicts+=("$m/$t ${verdict%% *}$note")
    done
done
summary=$(printf '%s, ' "${verdicts[@]}")
if ((status)); then
    echo "compare-touch: FAIL: bench/C outside 1 ± ${tolerance}%: ${summary%, }" >&2
else
    echo "compare-touch: ok: bench/C within 1 ± ${tolerance}%: ${summary%, }"
fi
exit $status
