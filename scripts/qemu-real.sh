#!/usr/bin/env bash
# Runs 'bench qemu': a real QEMU background snapshot of a guest that plugs virtio-mem, beside the
# harness's emulation of the same configuration. Builds (once, into the cache) the guest it boots:
# Debian's cloud kernel with its virtio modules and a busybox initramfs whose /init loads them,
# lets the virtio-mem driver plug what the device requests (logging each 'plugging memory: A - B'
# on the console, which is where bench qemu reads the guest's layout), prints '@@@ READY' and
# idles, taking commands on its second serial port (offline a memory block, write memory). The
# kernel and the initramfs tools come from scripts/guest-lib.sh (shared with scripts/numa-guest.sh).
set -euo pipefail

usage() {
    cat <<EOF_USAGE
usage: scripts/qemu-real.sh [--guest-only] [--rebuild-guest] [--debug] [-- BENCH-QEMU-ARGS...]

Installs qemu-system-x86, busybox-static, libcurl4-openssl-dev and kmod (modinfo) with apt if
missing, downloads Debian's kernel package into the cache, builds the virtio-mem guest into
  \${XDG_CACHE_HOME:-\$HOME/.cache}/populatebench/virtio-mem-guest/{vmlinuz,initrd.cpio}
(once; --rebuild-guest makes it again), builds bench (release) and runs
  bench qemu BENCH-QEMU-ARGS.
Exits with bench qemu's code; 2 on a setup error.

  --guest-only     build the guest and stop
  --rebuild-guest  build the guest even if the cache has one
  --debug          use the debug build (what 'swift test' built: no release build to wait for;
                   the real QEMU's figures do not change, the emulation's seconds do)
EOF_USAGE
}

guest_only=0
rebuild=0
configuration=release
while (($#)); do
    case $1 in
        --guest-only) guest_only=1; shift ;;
        --rebuild-guest) rebuild=1; shift ;;
        --debug) configuration=debug; shift ;;
        --) shift; break ;;
        --help | -h) usage; exit 0 ;;
        *) echo "qemu-real: unknown argument '$1' (bench qemu's go after --)" >&2; usage >&2; exit 2 ;;
    esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUEST_NAME=qemu-real
# shellcheck source=scripts/guest-lib.sh
source "$repo/scripts/guest-lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/qemu-real.XXXXXX")
trap 'guest_cleanup; rm -rf "$work"' EXIT

guest_dir=$guest_cache/virtio-mem-guest
# What the guest's /init understands; bench qemu reads it from the guest's 'protocol' file, and a
# cached guest of another protocol is built again.
protocol="commands 4"
# The writer built into it is the repository's: a guest built from another version is built again.
writer_sha=$(sha256sum "$repo/scripts/guest-writer.c" | cut -c1-16)
if ((rebuild)) || [[ ! -f $guest_dir/vmlinuz || ! -f $guest_dir/initrd.cpio ]] \
    || [[ $(cat "$guest_dir/protocol" 2>/dev/null) != "$protocol" ]] \
    || [[ $(cat "$guest_dir/writer-sha256" 2>/dev/null) != "$writer_sha" ]]; then
    echo "qemu-real: == guest: packages, kernel, virtio modules, initramfs"
    # gcc and libc6-dev: the guest's writers (scripts/guest-writer.c), built static.
    guest_packages gcc libc6-dev
    guest_kernel
    guest_virtio_modules
    root=$work/root
    guest_root "$root"
    names=()
    for module in "${guest_modules[@]}"; do
        cp "$module" "$root/lib/modules/"
        names+=("$(basename "$module")")
    done
    cat >"$root/init" <<EOF_INIT
#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
hostname virtio-mem-guest
# The driver's 'plugging memory' lines are pr_debug (KERN_DEBUG): the console shows them only at
# loglevel 8, and busybox insmod takes dyndbg=+p where a kernel parameter would not reach it.
echo 8 >/proc/sys/kernel/printk
for module in ${names[*]}; do
    case \$module in
        virtio_mem.ko) insmod /lib/modules/\$module dyndbg=+p ;;
        *) insmod /lib/modules/\$module ;;
    esac || echo "@@@ INSMOD FAILED \$module"
done
echo "@@@ READY"
# The guest must run (not be paused) for QEMU to take a background snapshot. It idles, taking
# bench qemu's commands from its second serial port (ttyS1) and saying on the console what it did:
#   offline N  offline memory block N (bench qemu then lowers requested-size: the driver unplugs it)
#   write M    write M MiB into a tmpfs file and remove it (after a cancelled snapshot: the page
#              allocator takes virtio-mem's movable memory first, so this writes the plugged memory)
#   writers N M   start guest-writer: N threads over M MiB it writes once now (READY), then
#   start / stop  timed random writes from start to stop, which ends with '@@@ WRITES ...'

mkdir -p /fill && mount -t tmpfs -o size=0 tmpfs /fill
stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3</dev/ttyS1
echo "@@@ COMMANDS"
while true; do
    if ! read -r command argument <&3; then sleep 1; continue; fi
    case \$command in
        offline)
            if echo offline >/sys/devices/system/memory/memory\$argument/state 2>/tmp/error; then
                echo "@@@ OFFLINED \$argument"
            else
                echo "@@@ FAILED offline \$argument: \$(cat /tmp/error)"
            fi ;;
        write)
            if dd if=/dev/zero of=/fill/pages bs=1M count=\$argument 2>/tmp/error; then
                rm -f /fill/pages
                echo "@@@ WROTE \$argument"
            else
                rm -f /fill/pages
                echo "@@@ FAILED write \$argument: \$(tail -n 1 /tmp/error)"
            fi ;;
        writers)
            set -- \$argument
            /bin/guest-writer \$1 \$2 &
            echo \$! >/tmp/writer.pid ;;
        start) kill -USR1 "\$(cat /tmp/writer.pid)" && echo "@@@ WRITERS STARTED" ;;
        stop) kill -USR2 "\$(cat /tmp/writer.pid)" ;;
        "") ;;
        *) echo "@@@ FAILED unknown command \$command" ;;
    esac
done
EOF_INIT
    chmod +x "$root/init"
    gcc -O2 -static -pthread -o "$root/bin/guest-writer" "$repo/scripts/guest-writer.c" \
        || guest_die "could not build scripts/guest-writer.c"
    mkdir -p "$guest_dir.tmp"
    guest_partial+=("$guest_dir.tmp")
    cp "$guest_vmlinuz" "$guest_dir.tmp/vmlinuz"
    echo "$protocol" >"$guest_dir.tmp/protocol"
    echo "$writer_sha" >"$guest_dir.tmp/writer-sha256"
    guest_cpio "$root" "$guest_dir.tmp/initrd.cpio"
    rm -rf "$guest_dir" && mv "$guest_dir.tmp" "$guest_dir"
    echo "qemu-real:    guest in $guest_dir ($(du -h "$guest_dir/initrd.cpio" | cut -f1) initramfs)"
else
    echo "qemu-real: == guest: cached in $guest_dir"
fi
((guest_only)) && exit 0

echo "qemu-real: == build: bench ($configuration)"
cd "$repo"
if ! swift build -c "$configuration" --product bench >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    guest_die "swift build failed (the log above)"
fi
echo "qemu-real: == bench qemu $*"
set +e
"$repo/.build/$configuration/bench" qemu --guest "$guest_dir" "$@"
rc=$?
set -e
exit $rc
