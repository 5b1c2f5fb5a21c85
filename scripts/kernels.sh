#!/usr/bin/env bash
# Runs the harness on the kernels users run, one guest each, side by side: boots Debian's cloud
# kernel of each series under QEMU TCG with bench in an initramfs, runs 'bench doctor' and the
# matrices, pulls each CSV off the serial console and checks every row: ok, or skipped for a
# feature newer than that kernel; every memory figure of an ok row within the model.
# The guest builder (packages, initramfs, the static bench) is scripts/guest-lib.sh's, shared with
# scripts/numa-guest.sh and scripts/qemu-real.sh. TCG because the /dev/kvm of these hosts is a
# paravirtual KVM that stock kernels do not boot under; docs/kernels.md says why not virtme-ng.
set -euo pipefail

KNOWN_KERNELS="5.10 6.1 6.12 7.3"

usage() {
    cat <<EOF
usage: scripts/kernels.sh [--kernel LIST] [--out DIR] [--short] [--host] [--keep] [--compare] [-- BENCH-RUN-ARGS]

Boots each kernel of LIST under QEMU TCG (q35, 2 CPUs, \${GUEST_MEMORY:-2G}) with bench inside, runs
'bench doctor' and 'bench run', and writes, per kernel, DIR/KERNEL/doctor.txt, run.csv,
run-summary.csv (and snapshot.csv, snapshot-summary.csv for the built-in matrices), the table
bench printed (run.txt), the console log and check.txt.

  --kernel LIST  comma-separated: $(echo $KNOWN_KERNELS | sed 's/ /, /g') (Debian's cloud kernel of
                 bullseye, bookworm, trixie, trixie-backports), or a path to a vmlinuz or to a
                 kernel .deb. [all four]
  --out DIR      where the results go [results/kernels]
  --short        the CI matrix: fewer strategies, 32 MiB, one repetition
  --host         also run the matrices on this host, without a guest, into DIR/host-\$(uname -r): the
                 reference the guests' kernels are read against (the pool and hugetlbfs mount are
                 the host's: scripts/setup.sh --hugepages 160)
  --compare      after the runs, write DIR/report.md and DIR/report.html over every kernel in DIR
                 (with only --compare and no --kernel, just the report, from the results there)
  --keep         keep the work dir (initramfs root, console logs) and print its path
  --help         this text

Without BENCH-RUN-ARGS each guest runs two matrices that fit a TCG guest:
  run       bench run $DEFAULT_RUN
  snapshot  bench run $DEFAULT_SNAPSHOT
With them, one run, 'run', of 'bench run BENCH-RUN-ARGS'. Every run gets --quiet.

Exit: 0 every kernel booted and every check passed, 1 a kernel failed to boot or a check failed
(the other kernels still run), 2 bad input or a setup error. Downloads are cached in
\${XDG_CACHE_HOME:-\$HOME/.cache}/populatebench/ (kernels/, apt/: each release's package lists,
apart from the host's). Environment: GUEST_TIMEOUT (seconds per kernel, default 1800),
GUEST_MEMORY (default 2G), GUEST_HUGEPAGES (2 MiB pages in the guest's pool, default 96),
GUEST_THP (the guest's transparent_hugepage=, default madvise),
DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR.
EOF
}

DEFAULT_RUN="--size 64MiB --repetitions 3 --warmup 0"
DEFAULT_SNAPSHOT="--backend anon-private,memfd-shmem,memfd-hugetlb --strategy none,qemu-6.2,qemu-7.2,qemu-8.0,wp-unpopulated --snapshot --writers 1 --write-rate 20000 --size 64MiB --repetitions 3 --warmup 0"
SHORT_RUN="--backend anon-private,memfd-shmem,memfd-hugetlb --strategy full-touch,discard-touch,full-madvise,qemu-7.2,wp-unpopulated --size 32MiB --repetitions 1 --warmup 0"
SHORT_SNAPSHOT="--backend anon-private,memfd-shmem --strategy none,qemu-7.2 --snapshot --writers 1 --write-rate 20000 --size 32MiB --repetitions 1 --warmup 0"

kernel_list=""
out_dir=""
short=0
keep=0
compare=0
host=0
bench_args=()
while (($#)); do
    case $1 in
        --kernel) [[ $# -ge 2 && -n $2 ]] || { echo "kernels: --kernel needs a list" >&2; exit 2; }; kernel_list=$2; shift 2 ;;
        --out) [[ $# -ge 2 && -n $2 ]] || { echo "kernels: --out needs a directory" >&2; exit 2; }; out_dir=$2; shift 2 ;;
        --short) short=1; shift ;;
        --keep) keep=1; shift ;;
        --compare) compare=1; shift ;;
        --host) host=1; shift ;;
        --help | -h) usage; exit 0 ;;
        --) shift; bench_args=("$@"); break ;;
        *) echo "kernels: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

[[ -z $out_dir || $out_dir == /* ]] || out_dir=$PWD/$out_dir
resolve_path() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Every name is checked before anything is downloaded or built: an unknown one is one line, exit 2.
kernels=()
if [[ -n $kernel_list || ($compare == 0 && $host == 0) ]]; then
    IFS=, read -r -a requested <<<"${kernel_list:-${KNOWN_KERNELS// /,}}"
    for k in "${requested[@]}"; do
        if [[ $k == */* || $k == *.deb || -f $k ]]; then
            [[ -f $k ]] || { echo "kernels: no such kernel file '$k'" >&2; exit 2; }
            kernels+=("$(resolve_path "$k")")
        elif [[ " $KNOWN_KERNELS " == *" $k "* ]]; then
            kernels+=("$k")
        else
            echo "kernels: unknown kernel '$k' (known: $KNOWN_KERNELS, or a path to a vmlinuz or a .deb)" >&2
            exit 2
        fi
    done
fi
cd "$repo"
out_dir=${out_dir:-$repo/results/kernels}
guest_timeout=${GUEST_TIMEOUT:-1800}
guest_memory=${GUEST_MEMORY:-2G}
guest_hugepages=${GUEST_HUGEPAGES:-96}
# Debian's kernels default to THP 'always', where writing half the pages of a 2 MiB block makes the
# whole block present (so 'none' protects it all and loses nothing); 'madvise' is what QEMU asks for
# (MADV_HUGEPAGE on guest RAM) and what the host results are measured under.
guest_thp=${GUEST_THP:-madvise}
[[ $guest_thp =~ ^(always|madvise|never)$ ]] || { echo "kernels: GUEST_THP takes always, madvise or never" >&2; exit 2; }
[[ $guest_timeout =~ ^[0-9]+$ && $guest_hugepages =~ ^[0-9]+$ ]] \
    || { echo "kernels: GUEST_TIMEOUT and GUEST_HUGEPAGES take whole numbers" >&2; exit 2; }

if ((${#bench_args[@]})); then
    runs=("run|${bench_args[*]}")
elif ((short)); then
    runs=("run|$SHORT_RUN" "snapshot|$SHORT_SNAPSHOT")
else
    runs=("run|$DEFAULT_RUN" "snapshot|$DEFAULT_SNAPSHOT")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kernels.XXXXXX")
GUEST_NAME=kernels
# shellcheck source=scripts/guest-lib.sh
source "$repo/scripts/guest-lib.sh"
# The running guest's 'timeout' (its own process group, so Ctrl-C never reaches it or its QEMU).
qemu_pid=""
cleanup() {
    # A TCG guest still running (Ctrl-C, kill): timeout passes the TERM on to its QEMU (and KILLs
    # it 10 s later); the wait keeps the work dir until QEMU is gone.
    if [[ -n $qemu_pid ]]; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
        qemu_pid=""
    fi
    guest_cleanup
    if ((keep)); then echo "kernels: kept the work dir $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# What a kernel's earlier run left in its results folder: cleared before the kernel is fetched, so
# a kernel that fails from there on leaves nothing that would read as its own.
clear_results() {
    rm -f "$1"/{run,snapshot}{.csv,-summary.csv,-samples.csv,-stalls.csv,.txt,.rc} \
        "$1"/{doctor,uname,dmesg,check}.txt "$1/doctor.rc" "$1/console.log"
}

start_all=$SECONDS
failed_kernels=()
timings=()

if ((${#kernels[@]} || host)); then
    # --- packages and bench, once --------------------------------------------------------------
    extra_packages=()
    command -v python3 >/dev/null || extra_packages+=(python3)
    echo "kernels: == packages"
    guest_packages "${extra_packages[@]}"
    echo "kernels: == build: bench with --static-swift-stdlib"
    step_start=$SECONDS
    guest_build_bench "$work/build.log"
    guest_note "$(tail -n 1 "$work/build.log") ($((SECONDS - step_start)) s)"
    timings+=("$(printf '%-10s %5ds' build $((SECONDS - step_start)))")

    root=$work/root
    guest_root "$root"
    guest_install_bench "$root"
    run_lines=""
    for entry in "${runs[@]}"; do
        run_lines+="run_bench ${entry%%|*} ${entry#*|} --quiet"$'\n'
    done
    cat >"$root/init" <<EOF
#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/hugepages
mount -t hugetlbfs hugetlbfs /dev/hugepages
hostname kernel-guest
# Foundation's CFSocket makes its wakeup pair from UDP sockets on 127.0.0.1.
ip link set lo up
# The guest's own pool: this VM exists only for the run.
echo $guest_hugepages >/proc/sys/vm/nr_hugepages
echo "1 4 1 7" >/proc/sys/kernel/printk
begin() { echo "@@@ BEGIN \$*"; }
end() { echo "@@@ END \$*"; }
begin uname
uname -r
end uname
begin doctor
bench doctor 2>&1
end doctor rc=\$?
run_bench() {
    label=\$1; shift
    echo "@@@ RUNNING \$label bench run \$*"
    bench run "\$@" --out /tmp/\$label.csv >/tmp/\$label.table 2>/tmp/\$label.err
    rc=\$?
    begin table \$label; cat /tmp/\$label.table /tmp/\$label.err; end table \$label
    begin csv \$label rc=\$rc
    [ -f /tmp/\$label.csv ] && cat /tmp/\$label.csv
    end csv \$label
    begin summary \$label
    [ -f /tmp/\$label-summary.csv ] && cat /tmp/\$label-summary.csv
    end summary \$label
}
$run_lines
begin dmesg
dmesg
end dmesg
echo "@@@ DONE"
poweroff -f
EOF
    chmod +x "$root/init"
    initrd=$work/initrd.cpio
    guest_cpio "$root" "$initrd"
    guest_note "$(du -h "$initrd" | cut -f1) initramfs; runs: ${runs[*]%%|*}"

    if ((host)); then
        name=host-$(uname -r)
        step_start=$SECONDS
        echo "kernels: == $name (this host, no guest)"
        dir=$out_dir/$name
        mkdir -p "$dir"
        clear_results "$dir"
        uname -r >"$dir/uname.txt"
        doctor_rc=0
        "$guest_bench" doctor >"$dir/doctor.txt" 2>&1 || doctor_rc=$?
        echo "$doctor_rc" >"$dir/doctor.rc"
        for entry in "${runs[@]}"; do
            label=${entry%%|*}
            guest_note "$name: bench run ${entry#*|}"
            set +e
            # shellcheck disable=SC2086
            "$guest_bench" run ${entry#*|} --quiet --out "$dir/$label.csv" >"$dir/$label.txt" 2>&1
            echo $? >"$dir/$label.rc"
            set -e
        done
        timings+=("$(printf '%-10s %5ds' host $((SECONDS - step_start)))")
        set +e
        python3 "$repo/scripts/kernel-check.py" "$dir" "${runs[@]%%|*}" | tee "$dir/check.txt"
        check_rc=${PIPESTATUS[0]}
        set -e
        ((check_rc == 0)) || failed_kernels+=("$name (checks)")
    fi

    declare -A updated=()
    for kernel in "${kernels[@]}"; do
        step_start=$SECONDS
        if [[ $kernel == /* ]]; then
            name=$(basename "$kernel"); name=${name%.deb}
        else
            name=$kernel
        fi
        echo "kernels: == $name"
        dir=$out_dir/$name
        kwork=$work/$name
        mkdir -p "$kwork" "$dir"
        # Before the kernel is fetched: a kernel that fails from here on leaves no earlier results.
        clear_results "$dir"
        # --- the kernel ---
        guest_vmlinuz=""
        if [[ $kernel == /* && $kernel == *.deb ]]; then
            # Unpacked into the cache (kernels/NAME.image), never beside the user's .deb.
            guest_deb_vmlinuz "$kernel"
            guest_kernel_label=$(basename "$kernel" .deb)
            if [[ -z $guest_vmlinuz ]]; then
                echo "kernels: $name: FAIL: $kernel holds no ./boot/vmlinuz-* or ./usr/lib/modules/*/vmlinuz (not a kernel .deb, or one whose image is in a linux-binary-* package)" >&2
                failed_kernels+=("$name (no vmlinuz in the .deb)")
                continue
            fi
        elif [[ $kernel == /* ]]; then
            guest_vmlinuz=$kernel
            guest_kernel_label=$kernel
        else
            suite=$(guest_suite_of "$kernel")
            if [[ -z ${updated[$suite]:-} ]]; then
                guest_suite_update "$suite" && updated[$suite]=1 || true
            fi
            if [[ -n ${updated[$suite]:-} ]]; then
                guest_suite_kernel "$suite" || guest_vmlinuz=""
            fi
        fi
        if [[ -z $guest_vmlinuz ]]; then
            echo "kernels: $name: no kernel to boot (above)" >&2
            failed_kernels+=("$name (no kernel)")
            continue
        fi
        guest_note "kernel $guest_kernel_label"
        # --- the boot ---
        console=$kwork/console.log
        set +e
        timeout --kill-after=10 "$guest_timeout" qemu-system-x86_64 -machine q35 -accel tcg -smp 2 -m "$guest_memory" \
            -kernel "$guest_vmlinuz" -initrd "$initrd" -append "console=ttyS0 nokaslr quiet panic=-1 transparent_hugepage=$guest_thp" \
            -serial stdio -display none -nodefaults -no-reboot </dev/null >"$console" 2>"$kwork/qemu.err" &
        qemu_pid=$!
        # Progress: the run the guest is on, as it starts.
        last=""
        while kill -0 "$qemu_pid" 2>/dev/null; do
            sleep 5
            now=$(grep -a '^@@@ RUNNING ' "$console" 2>/dev/null | tail -n 1 | cut -d' ' -f3- | tr -d '\r' || true)
            if [[ -n $now && $now != "$last" ]]; then guest_note "$name: $now ($((SECONDS - step_start)) s)"; last=$now; fi
        done
        wait "$qemu_pid"
        qemu_rc=$?
        qemu_pid=""
        set -e
        tr -d '\r' <"$console" >"$console.tmp" && mv "$console.tmp" "$console"
        # --- the results ---
        cp "$console" "$dir/console.log"
        awk -v dir="$dir" '
            /^@@@ BEGIN / { kind = $3; label = $4
                            file = dir "/" (kind == "csv" ? label ".csv" : kind == "summary" ? label "-summary.csv" : kind == "table" ? label ".txt" : kind ".txt")
                            printf "" > file; next }
            /^@@@ END /   { if (file != "") close(file); file = ""; next }
            file != ""    { print > file }
        ' "$console"
        { grep '^@@@ BEGIN csv ' "$console" || true; } | while read -r _ _ _ label rc; do echo "${rc#rc=}" >"$dir/$label.rc"; done
        # The guest's init ends the doctor block with bench doctor's exit code: 'END doctor rc=N'.
        { sed -n 's/^@@@ END doctor rc=\([0-9][0-9]*\)$/\1/p' "$console" || true; } | tail -n 1 >"$dir/doctor.rc"
        [[ -s $dir/doctor.rc ]] || rm -f "$dir/doctor.rc"
        find "$dir" -maxdepth 1 -name '*-summary.csv' -empty -delete
        if ! grep -q '^@@@ DONE' "$console"; then
            if ((qemu_rc == 124 || qemu_rc == 137)); then
                echo "kernels: $name: the guest did not finish within ${guest_timeout}s; last console lines:" >&2
            else
                echo "kernels: $name: the guest stopped before the end (qemu exit $qemu_rc); last console lines:" >&2
                sed 's/^/  qemu: /' "$kwork/qemu.err" >&2
            fi
            { grep -av '^@@@' "$console" || echo "(the console is empty)"; } | tail -n 20 | sed 's/^/  /' >&2
            failed_kernels+=("$name (did not finish)")
        fi
        echo "kernels: $name: guest took $((SECONDS - step_start)) s"
        timings+=("$(printf '%-10s %5ds' "$name" $((SECONDS - step_start)))")
        # --- the checks ---
        set +e
        python3 "$repo/scripts/kernel-check.py" "$dir" "${runs[@]%%|*}" | tee "$dir/check.txt"
        check_rc=${PIPESTATUS[0]}
        set -e
        ((check_rc == 0)) || failed_kernels+=("$name (checks)")
    done
fi

if ((compare)); then
    echo "kernels: == report over $out_dir"
    python3 "$repo/scripts/kernel-report.py" "$out_dir" || failed_kernels+=("report")
fi

echo "kernels: == timings"
printf '  %s\n' "${timings[@]}"
printf '  %-10s %5ds\n' total $((SECONDS - start_all))
if ((${#failed_kernels[@]})); then
    echo "kernels: FAIL: ${failed_kernels[*]}" >&2
    exit 1
fi
echo "kernels: PASS (results in $out_dir)"
