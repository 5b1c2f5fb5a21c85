#!/usr/bin/env bash
# Fault-injection soak: short `bench run` matrices, each with one fault injected at a moment drawn
# from the seed (a trial child SIGKILLed while it populates, protects or snapshots; SIGINT, SIGTERM,
# SIGHUP or SIGKILL to the parent; the hugetlb pool shrunk under a running trial; --out or
# --snapshot-out on a small tmpfs that fills), then checks that no finished row was lost and
# nothing was left behind (processes, Shmem, huge pages, hugetlbfs files). Prints
# `N injections, N recovered, 0 lost rows, 0 leaks` and exits 0 only then. Needs root (it mounts
# tmpfs and resizes the hugetlb pool, restoring both) and a hugetlb pool with a hugetlbfs mount
# (scripts/setup.sh --hugepages 160). It changes the system while it runs: run nothing else
# that measures memory meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."

injections=50
seed=""
first=0
bench=""
kinds=""
usage() {
    cat <<'USAGE'
usage: scripts/soak.sh [--injections N] [--seed S] [--first I] [--kinds LIST] [--bench PATH]
  --injections N   how many faults to inject                            [50]
  --seed S         the seed the moments and kinds are drawn from         [random, printed]
  --first I        index of the first injection: with --seed and --injections 1, replays one
  --kinds LIST     only these faults, comma-separated (scripts/soak.py --help lists them)  [all]
  --bench PATH     the bench binary to soak             [built with swift build -c release]
USAGE
}
while [ $# -gt 0 ]; do
    case "$1" in
        --injections) injections=${2:?}; shift 2 ;;
        --seed) seed=${2:?}; shift 2 ;;
        --first) first=${2:?}; shift 2 ;;
        --bench) bench=${2:?}; shift 2 ;;
        --kinds) kinds=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for value in "$injections" "$first" ${seed:+"$seed"}; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "soak.sh: '$value' is not a whole number ≥ 0" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "soak.sh: needs root (it mounts tmpfs and resizes the hugetlb pool)" >&2; exit 2; }

if [ -z "$bench" ]; then
    swift build -c release --product bench >&2
    bench=.build/release/bench
fi
hugetlbfs=$(awk '$3 == "hugetlbfs" && $4 !~ /pagesize=1G/ { print $2; exit }' /proc/mounts)
[ -n "$hugetlbfs" ] || { echo "soak.sh: no 2 MiB hugetlbfs mount (scripts/setup.sh --hugepages 160 mounts one)" >&2; exit 2; }

exec python3 scripts/soak.py --bench "$bench" --injections "$injections" --first "$first" \
    --hugetlbfs "$hugetlbfs" ${seed:+--seed "$seed"} ${kinds:+--kinds "$kinds"}
