#!/usr/bin/env bash
# The time gate is the nightly's own run-to-run noise, measured on two runs of one build
# (docs/nightly.md): phases of 10 ms and more moved by up to 21% (median 3%), shorter ones by up to
# 1.5 ms (77% of a 2 ms protect), so a time counts beyond 25% and beyond 2 ms; memory exactly.
# The nightly performance job: prepares hugepages, runs the nightly matrices, plots them, compares
# each with results/baseline/, restores the host, and exits with bench compare's code
# (0 same, 2 regression, 4 only improvements, 1 unusable input).
set -euo pipefail
cd "$(dirname "$0")/.."

out=""
baseline=""
threshold=${THRESHOLD:-25}
time_floor=${TIME_FLOOR:-2ms}
repetitions=${REPETITIONS:-5}
usage() {
    cat <<'USAGE'
usage: scripts/nightly.sh [--out DIR] [--baseline DIR] [--threshold PCT] [--time-floor DURATION] [--update-baseline]
                          [--kernels LIST] [--short]
  --out DIR          where CSVs, plots and compare.md go            [results/nightly; --short: results/nightly-short]
  --baseline DIR     the CSVs to compare against                     [results/baseline; --short: results/baseline-short]
  --threshold PCT    time change that counts, passed to bench compare [25, or $THRESHOLD]
  --time-floor D     time change below which nothing counts, passed to bench compare [2ms, or $TIME_FLOOR]
  --update-baseline  copy this run's CSVs into the baseline folder after comparing
  --kernels LIST     also run scripts/kernels.sh on these kernels (5.10,6.1,6.12,7.3) and this host,
                     and put its report (DIR/kernels/report.md) beside the host's comparison
  --short            the same steps on small matrices (32 MiB, 2 repetitions): CI runs it so that
                     the nightly cannot rot; its baseline must be a --short run too, so its
                     defaults are folders of their own (results/baseline is never compared with,
                     or overwritten by, a short run)
USAGE
}
update=0
kernels=""
short=0
while [ $# -gt 0 ]; do
    case "$1" in
        --kernels) kernels=${2:?}; shift 2 ;;
        --short) short=1; shift ;;
        --out) out=${2:?}; shift 2 ;;
        --baseline) baseline=${2:?}; shift 2 ;;
        --threshold) threshold=${2:?}; shift 2 ;;
        --time-floor) time_floor=${2:?}; shift 2 ;;
        --update-baseline) update=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "nightly.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

if [ "$short" -eq 1 ]; then
    out=${out:-results/nightly-short}
    baseline=${baseline:-results/baseline-short}
else
    out=${out:-results/nightly}
    baseline=${baseline:-results/baseline}
fi

start=$(date +%s)
step() { echo "nightly.sh: [$(( $(date +%s) - start ))s] $*"; }

# This run's own record: the restore undoes what this run changed, not a pool or mount the user
# set up before (scripts/setup.sh --restore without --record would). The trap is set before
# setup.sh changes anything.
record=$(mktemp "${TMPDIR:-/tmp}/nightly-setup.XXXXXX")
trap 'scripts/setup.sh --restore --record "$record"' EXIT
scripts/setup.sh --hugepages 160 --plot --record "$record"

step "building"
swift build -c release --product bench
bench=.build/release/bench
mkdir -p "$out"

# name|arguments: the nightly matrices. Each writes $out/<name>.csv (and its summary).
size_args=""
if [ "$short" -eq 1 ]; then
    repetitions=2
    size_args="--size 32MiB --warmup 0"
fi
matrices=(
    "default|--repetitions $repetitions $size_args"
    "plugged-sweep|--backend anon-private,memfd-shmem,memfd-hugetlb --strategy full-touch,discard-touch,qemu-8.0 --plugged 0,0.25,0.5,0.75,1 --resident 0 --repetitions $repetitions $size_args"
    "snapshot|--backend anon-private,memfd-shmem,memfd-hugetlb --strategy none,qemu-6.1,qemu-6.2,qemu-7.2,qemu-8.0,wp-unpopulated --snapshot --writers 1 --write-rate 20000 --repetitions $([ "$short" -eq 1 ] && echo 2 || echo 3) $size_args"
)

worst=0
summary="$out/compare.md"
echo "# PopulateBench nightly on $(hostname), kernel $(uname -r)" > "$summary"
for entry in "${matrices[@]}"; do
    name=${entry%%|*}
    args=${entry#*|}
    step "running $name: bench run $args"
    # shellcheck disable=SC2086
    "$bench" run $args --quiet --out "$out/$name.csv" > "$out/$name.txt" || {
        code=$?
        echo "nightly.sh: bench run $name exited $code" >&2
        [ "$code" -eq 1 ] && worst=1 || exit "$code"
    }
    samples=()
    [ -f "$out/$name-samples.csv" ] && samples=(--samples "$out/$name-samples.csv")
    step "plotting $name"
    python3 scripts/plot.py "$out/$name.csv" "${samples[@]}" --out "$out/plots/$name"
    if [ -f "$baseline/$name.csv" ]; then
        step "comparing $name with $baseline/$name.csv"
        set +e
        "$bench" compare "$baseline/$name.csv" "$out/$name.csv" --threshold "$threshold" --time-floor "$time_floor" --format markdown \
            > "$out/compare-$name.md"
        code=$?
        set -e
        "$bench" compare "$baseline/$name.csv" "$out/$name.csv" --threshold "$threshold" --time-floor "$time_floor" --format html \
            > "$out/compare-$name.html" || true
        { echo; echo "## $name"; echo; cat "$out/compare-$name.md"; } >> "$summary"
        { "$bench" compare "$baseline/$name.csv" "$out/$name.csv" --threshold "$threshold" --time-floor "$time_floor" || true; } | tail -1
        # Severity: unusable input (1) > regression (2) > improvement (4) > same (0).
        case "$code" in
            1) worst=1 ;;
            2) [ "$worst" -ne 1 ] && worst=2 ;;
            4) [ "$worst" -eq 0 ] && worst=4 ;;
        esac
    else
        echo "nightly.sh: no baseline $baseline/$name.csv; nothing to compare" | tee -a "$summary"
    fi
    if [ "$update" -eq 1 ]; then
        mkdir -p "$baseline"
        cp "$out/$name.csv" "$baseline/$name.csv"
        step "baseline $baseline/$name.csv updated"
    fi
done
if [ -n "$kernels" ]; then
    step "the kernels $kernels and this host (scripts/kernels.sh)"
    kernel_args=(--kernel "$kernels" --host --compare --out "$out/kernels")
    [ "$short" -eq 1 ] && kernel_args+=(--short)
    set +e
    bash scripts/kernels.sh "${kernel_args[@]}" > "$out/kernels.txt" 2>&1
    code=$?
    set -e
    grep -E '^kernels: (==|FAIL|PASS)|  FAIL ' "$out/kernels.txt" || true
    { echo; echo "## kernels ($kernels and this host; scripts/kernels.sh exited $code)"; echo;
      if [ -f "$out/kernels/report.md" ]; then sed -e '1d' -e 's#](kernels\.png)#](kernels/kernels.png)#' "$out/kernels/report.md"; else tail -n 20 "$out/kernels.txt"; fi; } >> "$summary"
    # A kernel that failed to boot or a check that failed is the worst outcome: unusable.
    [ "$code" -eq 0 ] || worst=1
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$summary" >> "$GITHUB_STEP_SUMMARY"; fi
step "done: CSVs, plots and $summary in $out; exit $worst"
exit "$worst"
