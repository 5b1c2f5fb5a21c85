#!/usr/bin/env bash
# Prepares a host for PopulateBench: installs libnuma-dev and, only when asked, grows a hugetlb pool
# and mounts hugetlbfs. Everything it changes is recorded so that --restore puts it back.
# Idempotent: running it again changes nothing more and keeps the first recorded values.
set -euo pipefail

STATE=${POPULATEBENCH_STATE:-/run/populatebench-setup.state}
MOUNT_POINT=${POPULATEBENCH_HUGETLBFS:-/mnt/populatebench-hugetlbfs}

usage() {
    cat <<'USAGE'
usage: scripts/setup.sh [--hugepages N] [--hugepage-size 2MiB|1GiB] [--plot] [--qemu] [--restore]
  (no options)       install libnuma-dev (and build tools) if missing
  --hugepages N      also make sure the hugetlb pool of --hugepage-size has at least N pages, and that a
                     hugetlbfs of that size is mounted (at /mnt/populatebench-hugetlbfs if none is)
  --hugepage-size S  2MiB (default) or 1GiB
  --plot             also install python3-matplotlib for scripts/plot.py
  --qemu             also install Debian's qemu-system-x86 and busybox-static for 'bench qemu'
                     (scripts/qemu-real.sh builds the guest it boots)
  --restore          undo what earlier runs changed (pool sizes, mounts), then forget them
USAGE
}

hugepages=""
size_kib=2048
restore=0
plot=0
qemu=0
while [ $# -gt 0 ]; do
    case "$1" in
        --hugepages) hugepages=${2:?--hugepages needs a number}; shift 2 ;;
        --hugepage-size)
            case "${2:-}" in
                2MiB|2M|2048kB) size_kib=2048 ;;
                1GiB|1G|1048576kB) size_kib=1048576 ;;
                *) echo "setup.sh: --hugepage-size: '${2:-}' is not one of 2MiB, 1GiB" >&2; exit 2 ;;
            esac
            shift 2 ;;
        --plot) plot=1; shift ;;
        --qemu) qemu=1; shift ;;
        --restore) restore=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ -n "$hugepages" ] && ! [[ "$hugepages" =~ ^[0-9]+$ ]]; then
    echo "setup.sh: --hugepages: '$hugepages' is not a whole number" >&2; exit 2
fi

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup.sh: '$*' needs root" >&2; exit 1
    fi
}

if [ "$restore" -eq 1 ]; then
    if [ ! -f "$STATE" ]; then echo "setup.sh: nothing to restore"; exit 0; fi
    # Undo in reverse order: unmount before shrinking the pool the mount may hold pages of.
    tac "$STATE" | while read -r kind key value; do
        case "$kind" in
            mount) as_root umount "$key" && as_root rmdir "$key" 2>/dev/null || true
                   echo "setup.sh: unmounted $key" ;;
            pool) echo "$value" | as_root tee "$key" >/dev/null
                  echo "setup.sh: $key back to $value" ;;
        esac
    done
    as_root rm -f "$STATE"
    exit 0
fi

need=()
dpkg -s libnuma-dev >/dev/null 2>&1 || need+=(libnuma-dev)
command -v gcc >/dev/null || need+=(gcc)
# python3 may be a pyenv or venv interpreter that apt's python3-matplotlib does not serve: pip it is.
plot_pip=0
if [ "$plot" -eq 1 ] && ! python3 -c 'import matplotlib' 2>/dev/null; then
    if [ "$(command -v python3)" = /usr/bin/python3 ]; then need+=(python3-matplotlib); else plot_pip=1; fi
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "setup.sh: installing ${need[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "$qemu" -eq 1 ]; then
    qemu_need=()
    for pkg in qemu-system-x86 busybox-static; do dpkg -s "$pkg" >/dev/null 2>&1 || qemu_need+=("$pkg"); done
    if [ ${#qemu_need[@]} -gt 0 ]; then
        echo "setup.sh: installing ${qemu_need[*]}"
        as_root apt-get update -qq
        # Without recommends: the emulator, not its GUI, firmware collection and tools.
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${qemu_need[@]}" >/dev/null
    fi
fi

if [ "$plot_pip" -eq 1 ]; then
    echo "setup.sh: installing matplotlib for $(command -v python3) with pip"
    python3 -m pip install --quiet matplotlib
fi

if [ -n "$hugepages" ]; then
    pool=/sys/kernel/mm/hugepages/hugepages-${size_kib}kB/nr_hugepages
    if [ ! -f "$pool" ]; then echo "setup.sh: this kernel has no ${size_kib} kB huge pages" >&2; exit 1; fi
    current=$(cat "$pool")
    if [ "$current" -lt "$hugepages" ]; then
        grep -qs "^pool $pool " "$STATE" || echo "pool $pool $current" | as_root tee -a "$STATE" >/dev/null
        echo "$hugepages" | as_root tee "$pool" >/dev/null
        got=$(cat "$pool")
        echo "setup.sh: ${size_kib} kB hugetlb pool: $current -> $got pages"
        if [ "$got" -lt "$hugepages" ]; then
            echo "setup.sh: the kernel gave only $got of $hugepages pages (memory fragmented?)" >&2
        fi
    else
        echo "setup.sh: ${size_kib} kB hugetlb pool already has $current pages"
    fi
    size_bytes=$((size_kib * 1024))
    have_mount=""
    while read -r _ dir fstype _; do
        if [ "$fstype" = hugetlbfs ] && [ "$(stat -f -c %S "$dir")" = "$size_bytes" ]; then have_mount=$dir; fi
    done < /proc/mounts
    if [ -z "$have_mount" ]; then
        target=$MOUNT_POINT
        [ "$size_kib" = 2048 ] || target=${MOUNT_POINT}-1G
        as_root mkdir -p "$target"
        as_root mount -t hugetlbfs -o pagesize=$((size_kib / 1024))M none "$target"
        echo "mount $target -" | as_root tee -a "$STATE" >/dev/null
        echo "setup.sh: mounted hugetlbfs ($((size_kib / 1024)) MiB pages) at $target"
    else
        echo "setup.sh: hugetlbfs with ${size_kib} kB pages is mounted at $have_mount"
    fi
fi
