#!/usr/bin/env bash
# Proves NUMA placement on a real two-node topology, which this host (one node) cannot: boots
# Debian's 6.1 cloud kernel under QEMU TCG with two 512 MiB NUMA nodes (one CPU each), runs
# 'bench doctor' and a matrix of 'bench run's in an initramfs, pulls each run's CSV off the serial
# console and checks where the pages landed. Debian's cloud kernel boots under TCG in seconds with
# NUMA, userfaultfd and memfd built in (no modules to load); TCG because the /dev/kvm of these hosts
# is a paravirtual KVM that stock kernels do not boot under. The kernel and the initramfs come
# from scripts/guest-lib.sh, the guest builder it shares with scripts/qemu-real.sh.
set -euo pipefail

usage() {
    cat <<EOF
usage: scripts/numa-guest.sh [--basic] [--out DIR] [--keep]

Installs qemu-system-x86, busybox-static, libcurl4-openssl-dev, kmod (and python3, for the checks,
if there is none on PATH) with apt if missing, downloads
Debian's kernel package (the -cloud-amd64 flavour of the one linux-image-amd64 names) into the
cache, builds 'bench' with --static-swift-stdlib, boots a two-node NUMA guest (q35, TCG, 2 CPUs,
2 x 512 MiB) and runs the matrix in it. Exits 0 if every check passes, 1 if one fails, 2 on a
setup error.

  --basic     run only 'bench doctor' and the basic run (no --numa flags):
                $BASIC_RUN_SUMMARY
  --out DIR   where the CSVs, doctor output and console log go [results/numa-guest]
  --keep      keep the work dir (initramfs root, console log) and print its path
  --help      this text

Without --basic the basic run is followed by every run of NUMA_MATRIX (in this script).
Environment: KERNEL_PKG overrides the kernel package; GUEST_TIMEOUT (seconds, default 300)
bounds the guest; XDG_CACHE_HOME moves the download cache
(\${XDG_CACHE_HOME:-\$HOME/.cache}/populatebench/).
EOF
}

# --- the matrix -------------------------------------------------------------------------------
# Each entry is "label|bench run arguments"; every run gets COMMON_ARGS and its own --out.
COMMON_ARGS="--size 64MiB --repetitions 1 --warmup 0 --quiet"
BASIC_RUN="basic|--backend memfd-shmem,anon-private --strategy full-touch,discard-touch,wp-unpopulated"
BASIC_RUN_SUMMARY="bench run ${BASIC_RUN#*|} $COMMON_ARGS"
NUMA_RUN_ARGS="--backend memfd-shmem,anon-private --strategy full-touch,discard-touch"
NUMA_MATRIX=(
    "numa-local|$NUMA_RUN_ARGS --numa local"
    "numa-bind1|$NUMA_RUN_ARGS --numa bind:1"
    "numa-interleave|$NUMA_RUN_ARGS --numa interleave:all"
    "numa-local-populate1|$NUMA_RUN_ARGS --numa local --guest-node 0 --populate-node 1"
    # The control: plain 'local' lands wherever the child happens to run (node 1 in our runs),
    # so node 1 under --populate-node 1 proves nothing unless node 0 follows --populate-node 0.
    "numa-local-populate0|$NUMA_RUN_ARGS --numa local --guest-node 1 --populate-node 0"
)

out_dir=""
basic=0
keep=0
while (($#)); do
    case $1 in
        --out) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; out_dir=$2; shift 2 ;;
        --basic) basic=1; shift ;;
        --keep) keep=1; shift ;;
        --help | -h) usage; exit 0 ;;
        *) echo "numa-guest: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

# A path given by the caller means the caller's directory; only the default is the repo's.
[[ -z $out_dir || $out_dir == /* ]] || out_dir=$PWD/$out_dir
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
out_dir=${out_dir:-$repo/results/numa-guest}
guest_timeout=${GUEST_TIMEOUT:-300}

runs=("$BASIC_RUN")
((basic)) || runs+=("${NUMA_MATRIX[@]}")

start_all=$SECONDS
step_start=$SECONDS
timings=()
step() { step_start=$SECONDS; echo "numa-guest: == $*"; }
done_step() { timings+=("$(printf '%-10s %4ds' "$1" $((SECONDS - step_start)))"); echo "numa-guest:    $1 took $((SECONDS - step_start)) s"; }
die() { echo "numa-guest: $*" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/numa-guest.XXXXXX")
GUEST_NAME=numa-guest
# shellcheck source=scripts/guest-lib.sh
source "$repo/scripts/guest-lib.sh"
cleanup() {
    guest_cleanup
    if ((keep)); then echo "numa-guest: kept the work dir $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- 1. packages and the kernel ------------------------------------------------------------------
# python3 runs the checks after the boot; a minimal Debian has none.
extra_packages=()
command -v python3 >/dev/null || extra_packages+=(python3)
step "packages: qemu-system-x86, busybox-static, libcurl4-openssl-dev, kmod${extra_packages[*]:+, ${extra_packages[*]}}"
guest_packages "${extra_packages[@]}"
done_step packages

step "kernel: resolve, download (once), unpack ./boot (once)"
guest_kernel
vmlinuz=$guest_vmlinuz
done_step kernel

# --- 2. bench, statically linked against the Swift stdlib, and the initramfs --------------------
step "build: bench with --static-swift-stdlib"
guest_build_bench "$work/build.log"
echo "numa-guest:    $(tail -n 1 "$work/build.log")"
done_step build

step "initramfs: busybox, bench, bench-trial, the libraries ldd names, /init"
root=$work/root
guest_root "$root"
guest_install_bench "$root"

# The runs as shell lines for /init: label, then the arguments.
run_lines=""
for entry in "${runs[@]}"; do
    run_lines+="run_bench ${entry%%|*} ${entry#*|} $COMMON_ARGS"$'\n'
done

cat >"$root/init" <<EOF
#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
hostname numa-guest
# Foundation's CFSocket makes its wakeup pair from UDP sockets on 127.0.0.1; with lo down it cannot,
# and code that waits on it hangs (bench's children, spawned with posix_spawn, no longer do).
ip link set lo up
# Only emergencies on the console from here on, so nothing lands inside a CSV block.
echo "1 4 1 7" >/proc/sys/kernel/printk
begin() { echo "@@@ BEGIN \$*"; }
end() { echo "@@@ END \$*"; }

begin nodes
for n in /sys/devices/system/node/node*; do echo "\${n##*/} cpus=\$(cat \$n/cpulist) \$(grep MemTotal \$n/meminfo | awk '{ print \$4 \$5 }')"; done
end nodes

begin doctor
bench doctor 2>&1
end doctor rc=\$?

run_bench() {
    label=\$1; shift
    echo "numa-guest(guest): bench run \$*" >&2
    bench run "\$@" --out /tmp/\$label.csv >/tmp/\$label.table 2>/tmp/\$label.err
    rc=\$?
    begin table \$label; cat /tmp/\$label.table /tmp/\$label.err; end table \$label
    begin csv \$label rc=\$rc
    [ -f /tmp/\$label.csv ] && cat /tmp/\$label.csv
    end csv \$label
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
echo "numa-guest:    $(du -h "$initrd" | cut -f1) initramfs"
done_step initramfs

# --- 3. boot the two-node guest --------------------------------------------------------------------
step "boot: q35, TCG, 2 sockets of 1 CPU, nodes 0 and 1 of 512 MiB (timeout ${guest_timeout}s); runs: ${runs[*]%%|*}"
console=$work/console.log
set +e
# sockets=2: QEMU 7.2 would make the two CPUs cores of one socket, split over two nodes (the
# guest warns in topology_sane and ignores the LLC siblings); a socket per node is the real shape.
timeout --kill-after=10 "$guest_timeout" qemu-system-x86_64 -machine q35 -accel tcg -smp 2,sockets=2 -m 1G \
    -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M \
    -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
    -kernel "$vmlinuz" -initrd "$initrd" -append "console=ttyS0 nokaslr quiet panic=-1" \
    -serial stdio -display none -nodefaults -no-reboot </dev/null >"$console" 2>"$work/qemu.err"
qemu_rc=$?
set -e
tr -d '\r' <"$console" >"$console.tmp" && mv "$console.tmp" "$console"
done_step boot
if ((qemu_rc == 124 || qemu_rc == 137)); then
    echo "numa-guest: the guest did not power off within ${guest_timeout}s; last console lines:" >&2
    tail -n 30 "$console" >&2
fi
((qemu_rc == 0 || qemu_rc == 124 || qemu_rc == 137)) || { cat "$work/qemu.err" >&2; die "qemu-system-x86_64 exited with status $qemu_rc"; }

# --- 4. the results ------------------------------------------------------------------------------
mkdir -p "$out_dir"
# Only the files this script writes, of every run it knows, so no stale run survives beside this one.
for entry in "$BASIC_RUN" "${NUMA_MATRIX[@]}"; do rm -f "$out_dir/${entry%%|*}".{csv,txt,rc}; done
rm -f "$out_dir"/{console.log,doctor.txt,nodes.txt,dmesg.txt}
cp "$console" "$out_dir/console.log"
# Each block between '@@@ BEGIN kind label' and '@@@ END' goes to its own file.
awk -v dir="$out_dir" '
    /^@@@ BEGIN / { kind = $3; label = $4
                    file = dir "/" (kind == "csv" ? label ".csv" : kind == "table" ? label ".txt" : kind ".txt")
                    printf "" > file; next }
    /^@@@ END /   { if (file != "") close(file); file = ""; next }
    file != ""    { print > file }
' "$console"
{ grep '^@@@ BEGIN csv ' "$console" || true; } | while read -r _ _ _ label rc; do echo "${rc#rc=}" >"$out_dir/$label.rc"; done

echo "numa-guest: == guest nodes"
sed 's/^/  /' "$out_dir/nodes.txt" 2>/dev/null || echo "  (none printed)"
echo "numa-guest: == guest bench doctor"
sed 's/^/  /' "$out_dir/doctor.txt" 2>/dev/null || echo "  (none printed)"

step "check"
set +e
python3 - "$out_dir" "$basic" "${runs[@]%%|*}" <<'EOF'
import csv, os, re, sys

out, basic, labels = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
results = []

def check(name, ok, detail=""):
    ok = bool(ok)
    results.append(ok)
    print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f": {detail}" if detail else ""))

def nodes_of(row):
    """numa_pages '0:12;1:34;zero:5;none:6' -> ({0: 12, 1: 34}, total of every count)."""
    per_node, total = {}, 0
    for part in filter(None, row["numa_pages"].split(";")):
        key, _, count = part.partition(":")
        total += int(count)
        if key.isdigit():
            per_node[int(key)] = int(count)
    return per_node, total

nodes = open(os.path.join(out, "nodes.txt")).read() if os.path.exists(os.path.join(out, "nodes.txt")) else ""
check("guest has NUMA nodes 0 and 1", re.search(r"^node0 ", nodes, re.M) and re.search(r"^node1 ", nodes, re.M),
      " | ".join(nodes.split("\n")[:2]))

rows = {}
for label in labels:
    path, rc_path = os.path.join(out, label + ".csv"), os.path.join(out, label + ".rc")
    rc = open(rc_path).read().strip() if os.path.exists(rc_path) else "none (the guest never got there)"
    rows[label] = list(csv.DictReader(open(path, newline=""))) if os.path.exists(path) and os.path.getsize(path) else []
    check(f"{label}: bench exited 0 and wrote rows", rc == "0" and bool(rows[label]),
          f"exit {rc}, {len(rows[label])} rows" + ("" if rc == "0" else f" (see {label}.txt)"))

def ok_rows(label, **match):
    return [r for r in rows.get(label, []) if r["status"] == "ok" and all(r[k] == v for k, v in match.items())]

# Every ok row accounts for every page of its region (node counts, zero and none together).
for label in labels:
    bad = []
    for r in ok_rows(label):
        expected = int(r["region_bytes"]) // int(r["page_bytes"])
        if nodes_of(r)[1] != expected:
            bad.append(f"{r['backend']}/{r['strategy']}/{r['phase']}: {r['numa_pages']} != {expected}")
    n = len(ok_rows(label))
    check(f"{label}: numa_pages of {n} ok rows sum to region_bytes/page_bytes", n > 0 and not bad, "; ".join(bad[:4]))

# The basic run: 6.1 has no UFFD_FEATURE_WP_UNPOPULATED (Linux 6.4), everything else runs.
wp = [r for r in rows.get("basic", []) if r["strategy"] == "wp-unpopulated"]
bad = [f"{r['backend']}/{r['phase']}: {r['status']} '{r['reason']}'" for r in wp
       if r["status"] != "skipped" or "WP_UNPOPULATED" not in r["reason"]]
check("basic: wp-unpopulated rows are skipped for WP_UNPOPULATED", bool(wp) and not bad,
      "; ".join(bad) or (wp[0]["reason"] if wp else "no wp-unpopulated rows"))
others = [r for r in rows.get("basic", []) if r["strategy"] != "wp-unpopulated"]
bad = [f"{r['backend']}/{r['strategy']}/{r['phase']}: {r['status']} '{r['reason']}'" for r in others if r["status"] != "ok"]
check(f"basic: the other {len(others)} rows are ok", bool(others) and not bad, "; ".join(bad[:4]))

def populated_shmem(label):
    """memfd-shmem rows after population that have pages on nodes: (row, per-node, node total)."""
    found = []
    for r in ok_rows(label, backend="memfd-shmem", phase="populate"):
        per_node = nodes_of(r)[0]
        if sum(per_node.values()):
            found.append((r, per_node, sum(per_node.values())))
    return found

if not basic:
    rs = populated_shmem("numa-bind1")
    bad = [f"{r['strategy']}: {n.get(1, 0)}/{t} on node 1" for r, n, t in rs if n.get(1, 0) < 0.99 * t]
    check("bind:1: >= 99% of the node-counted pages of populated memfd-shmem rows are on node 1",
          bool(rs) and not bad, "; ".join(bad) or ", ".join(f"{r['strategy']} {r['numa_pages']}" for r, _, _ in rs))

    rs = populated_shmem("numa-interleave")
    bad = [f"{r['strategy']}: node {k} has {n.get(k, 0)} of {t}" for r, n, t in rs for k in (0, 1)
           if abs(n.get(k, 0) - t / 2) > 0.05 * t / 2]
    check("interleave:all: each node holds half (within 5%) of populated memfd-shmem pages",
          bool(rs) and not bad, "; ".join(bad) or ", ".join(f"{r['strategy']} {r['numa_pages']}" for r, _, _ in rs))

    # The pages population allocated must be on the populating node; pages the guest wrote before
    # (the plug phase) sit where that thread ran. The count is the model's (expected_data_bytes):
    # the RssShmem and Shmem counters lag by a few dozen pages.
    for node, label, what in ((1, "numa-local-populate1", ""), (0, "numa-local-populate0", " (the control)")):
        rs = populated_shmem(label)
        bad = []
        for r, n, t in rs:
            allocated = int(r["expected_data_bytes"] or 0) // int(r["page_bytes"])
            if n.get(node, 0) < 0.99 * allocated:
                bad.append(f"{r['strategy']}: {n.get(node, 0)} on node {node} < 99% of the {allocated} pages populated")
        check(f"local + --populate-node {node}{what}: the pages population allocated on memfd-shmem are on node {node}",
              bool(rs) and not bad, "; ".join(bad) or ", ".join(f"{r['strategy']} {r['numa_pages']}" for r, _, _ in rs))

    # The monitor's per-node counters say the same from the kernel's side (the guest is quiet, so
    # its system-wide counters are the trial's): population's shmem pages count on the populating
    # node's nr_shmem, and hardly any on the other's.
    def node_deltas(r, counter):
        deltas = {}
        for item in (r.get("vmstat_nodes") or "").split(";"):
            parts = item.split(":")
            if len(parts) == 3 and parts[1] == counter:
                deltas[int(parts[0])] = int(parts[2])
        return deltas

    for node, label in ((1, "numa-local-populate1"), (0, "numa-local-populate0")):
        rs = [r for r, _, _ in populated_shmem(label)]
        bad = []
        for r in rs:
            allocated = int(r["expected_data_bytes"] or 0) // int(r["page_bytes"])
            d = node_deltas(r, "nr_shmem")
            if d.get(node, 0) < 0.95 * allocated or d.get(1 - node, 0) > 0.05 * allocated + 64:
                bad.append(f"{r['strategy']}: vmstat_nodes {r.get('vmstat_nodes') or '(empty)'} for {allocated} pages")
        check(f"{label}: vmstat_nodes counts the populated shmem on node {node}'s nr_shmem",
              bool(rs) and not bad, "; ".join(bad[:2]) or ", ".join(f"{r['strategy']} {node_deltas(r, 'nr_shmem')}" for r in rs))

failed = results.count(False)
print(f"  {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
check_rc=$?
set -e
done_step check

echo "numa-guest: == results in $out_dir: $(find "$out_dir" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')"
echo "numa-guest: == timings"
printf '  %s\n' "${timings[@]}"
printf '  %-10s %4ds\n' total $((SECONDS - start_all))
if ((check_rc != 0)); then echo "numa-guest: FAIL" >&2; exit 1; fi
echo "numa-guest: PASS"
