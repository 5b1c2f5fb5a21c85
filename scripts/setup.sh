#!/usr/bin/env bash
# Prepares a host for PopulateBench: installs libnuma-dev and, only when asked, grows a hugetlb pool
# and mounts hugetlbfs. Each change is recorded before it is made, so that --restore puts back what
# was changed and nothing else: by default into one state file for the user's own runs, with
# --record FILE into a file of the caller's (CI, scripts/nightly.sh), which `--restore --record FILE`
# undoes without touching what the user set up before. --restore also puts back the settings a
# killed test run left changed (the test journal). Idempotent: running it again changes nothing
# more and keeps the first recorded values.
set -euo pipefail

STATE=${POPULATEBENCH_STATE:-/run/populatebench-setup.state}
JOURNAL=${POPULATEBENCH_TEST_JOURNAL:-/run/populatebench-test-journal}
MOUNT_POINT=${POPULATEBENCH_HUGETLBFS:-/mnt/populatebench-hugetlbfs}

usage() {
    cat <<'USAGE'
usage: scripts/setup.sh [--hugepages N] [--hugepage-size 2MiB|1GiB] [--plot] [--qemu] [--record FILE]
       scripts/setup.sh --restore [--record FILE]
       scripts/setup.sh --restore-journal
  (no options)       install libnuma-dev (and build tools) if missing
  --hugepages N      also make sure the hugetlb pool of --hugepage-size has at least N pages, and that a
                     hugetlbfs of that size is mounted (at /mnt/populatebench-hugetlbfs if none is)
  --hugepage-size S  2MiB (default) or 1GiB
  --plot             also install python3-matplotlib for scripts/plot.py
  --qemu             also install Debian's qemu-system-x86 and busybox-static for 'bench qemu'
                     (scripts/qemu-real.sh builds the guest it boots)
  --record FILE      record this run's changes (pool sizes, directories, mounts) in FILE (created if
                     missing, appended to) instead of the state file; with --restore: undo only what
                     FILE records, then delete FILE
  --restore          undo what earlier runs without --record changed (the state file
                     $POPULATEBENCH_STATE [/run/populatebench-setup.state]), and put back the
                     settings a killed test run left changed (--restore-journal); then forget both
  --restore-journal  only put back what the test journal $POPULATEBENCH_TEST_JOURNAL
                     [/run/populatebench-test-journal] holds (a killed 'swift test' run), then delete it;
                     while a test run (PopulateBenchPackageTests) is still running, leave it alone
Installed packages stay installed. Mount point: $POPULATEBENCH_HUGETLBFS [/mnt/populatebench-hugetlbfs].
USAGE
}

bad_usage() { echo "setup.sh: $* (see --help)" >&2; exit 2; }

hugepages=""
size_kib=2048
restore=0
restore_journal=0
record=""
record_given=0
plot=0
qemu=0
install_opts=0
while [ $# -gt 0 ]; do
    case "$1" in
        --hugepages)
            [ $# -ge 2 ] || bad_usage "--hugepages needs a number"
            hugepages=$2; install_opts=1; shift 2 ;;
        --hugepage-size)
            case "${2:-}" in
                2MiB|2M|2048kB) size_kib=2048 ;;
                1GiB|1G|1048576kB) size_kib=1048576 ;;
                *) bad_usage "--hugepage-size: '${2:-}' is not one of 2MiB, 1GiB" ;;
            esac
            install_opts=1; shift 2 ;;
        --record)
            if [ $# -lt 2 ] || [ -z "$2" ]; then bad_usage "--record needs a file"; fi
            record=$2; record_given=1; shift 2 ;;
        --plot) plot=1; install_opts=1; shift ;;
        --qemu) qemu=1; install_opts=1; shift ;;
        --restore) restore=1; shift ;;
        --restore-journal) restore_journal=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) bad_usage "unknown option '$1'" ;;
    esac
done
if [ -n "$hugepages" ] && ! [[ "$hugepages" =~ ^[0-9]+$ ]]; then
    bad_usage "--hugepages: '$hugepages' is not a whole number"
fi
if [ $((restore + restore_journal)) -gt 1 ]; then bad_usage "--restore and --restore-journal exclude each other"; fi
if [ "$restore_journal" -eq 1 ] && [ "$record_given" -eq 1 ]; then bad_usage "--restore-journal takes no --record"; fi
if [ $((restore + restore_journal)) -eq 1 ] && [ "$install_opts" -eq 1 ]; then
    bad_usage "--restore and --restore-journal take no --hugepages, --hugepage-size, --plot or --qemu"
fi
[ -n "$record" ] || record=$STATE

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup.sh: '$*' needs root" >&2; exit 1
    fi
}

# Appends one line to the record (before the change it describes is made).
note() { echo "$*" | as_root tee -a "$record" >/dev/null; }

# The mount point of a hugetlbfs at DIR, if /proc/mounts has one there.
hugetlbfs_mounted_at() { awk -v dir="$1" '$2 == dir && $3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts; }

# The PID of a test run (a PopulateBenchPackageTests process, of any checkout) that is still
# running and is not one of our own ancestors (a harness that calls --restore-journal): its journal
# is live, and putting it back would change settings under a running test.
live_test_run() {
    local proc pid stat ancestors=" " argv0
    pid=$$
    while [ -n "$pid" ] && [ "$pid" -gt 1 ] && stat=$(cat "/proc/$pid/stat" 2>/dev/null); do
        ancestors+="$pid "
        # pid (comm) state ppid ...: comm may hold blanks and parentheses.
        stat=${stat##*) }
        read -r _ pid _ <<<"$stat"
    done
    for proc in /proc/[0-9]*; do
        pid=${proc#/proc/}
        [[ "$ancestors" != *" $pid "* ]] || continue
        argv0=$(tr '\0' '\n' <"$proc/cmdline" 2>/dev/null | head -n 1 || true)
        if [[ "${argv0##*/}" == PopulateBenchPackageTests* ]]; then echo "$pid"; return 0; fi
    done
    return 1
}

# Puts back what a killed test run left changed: the journal's `sysfs<TAB>PATH<TAB>VALUE` lines in
# reverse order. Returns 1 if a line could not be put back (the journal then stays for another try).
put_back_journal() {
    local line kind path value rest failed=0 live
    if live=$(live_test_run); then
        echo "setup.sh: a test run is still running (pid $live): left its journal $JOURNAL alone"
        return 0
    fi
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        IFS=$'\t' read -r kind path value rest <<<"$line"
        if [ "$kind" != sysfs ] || [ -n "$rest" ] || [[ "$path" != /sys/* || "$path" == *..* ]] \
            || ! [[ "$value" =~ ^[A-Za-z0-9_+.-]+$ ]]; then
            echo "setup.sh: $JOURNAL: cannot put back '${line//$'\t'/ }' (not a sysfs<TAB>/sys/PATH<TAB>VALUE line)" >&2
            failed=1; continue
        fi
        if echo "$value" | as_root tee "$path" >/dev/null 2>&1; then
            echo "setup.sh: put back $path = $value (left changed by a test run that was killed)"
        else
            echo "setup.sh: could not write $value to $path (left changed by a test run that was killed)" >&2
            failed=1
        fi
    done < <(tac "$JOURNAL")
    if [ "$failed" -eq 0 ]; then as_root rm -f "$JOURNAL"; else
        echo "setup.sh: kept $JOURNAL for another --restore-journal" >&2
    fi
    return "$failed"
}

# Undoes what a record file holds, last change first (unmount, then the directories made for the
# mount, then the pools), and deletes it. Returns 1 if something could not be undone (the file then
# stays; undoing it again is harmless).
undo_record() {
    local file=$1 kind key value err failed=0
    if [ ! -s "$file" ]; then
        echo "setup.sh: $file records no change; nothing to restore"
        as_root rm -f "$file"
        return 0
    fi
    while read -r kind key value; do
        case "$kind" in
            mount)
                if hugetlbfs_mounted_at "$key"; then
                    if err=$(as_root umount "$key" 2>&1); then echo "setup.sh: unmounted $key"; else
                        echo "setup.sh: could not unmount $key (${err##*: })" >&2; failed=1
                    fi
                else
                    echo "setup.sh: $key is not mounted (nothing to unmount)"
                fi ;;
            mkdir)
                if [ ! -d "$key" ]; then :
                elif hugetlbfs_mounted_at "$key"; then echo "setup.sh: left the directory $key (still mounted)" >&2; failed=1
                elif as_root rmdir "$key" 2>/dev/null; then echo "setup.sh: removed the directory $key"
                else echo "setup.sh: left the directory $key (not empty: not only ours now)" >&2
                fi ;;
            pool)
                if echo "$value" | as_root tee "$key" >/dev/null; then echo "setup.sh: $key back to $value"; else
                    echo "setup.sh: could not set $key back to $value" >&2; failed=1
                fi ;;
            '') ;;
            *) echo "setup.sh: $file: unknown record '$kind $key $value', left alone" >&2; failed=1 ;;
        esac
    done < <(tac "$file")
    if [ "$failed" -eq 0 ]; then as_root rm -f "$file"; else
        echo "setup.sh: kept $file for another --restore" >&2
    fi
    return "$failed"
}

if [ "$restore_journal" -eq 1 ]; then
    if [ ! -e "$JOURNAL" ]; then echo "setup.sh: no test journal $JOURNAL; nothing to put back"; exit 0; fi
    put_back_journal || exit 1
    exit 0
fi

if [ "$restore" -eq 1 ]; then
    status=0
    if [ "$record_given" -eq 1 ]; then
        if [ ! -e "$record" ]; then echo "setup.sh: no record $record; nothing to restore"; exit 0; fi
        undo_record "$record" || status=1
        exit "$status"
    fi
    if [ ! -e "$JOURNAL" ] && [ ! -e "$STATE" ]; then echo "setup.sh: nothing to restore"; exit 0; fi
    # The tests ran after the setup: their leftovers go first.
    if [ -e "$JOURNAL" ]; then put_back_journal || status=1; fi
    if [ -e "$STATE" ]; then undo_record "$STATE" || status=1; fi
    exit "$status"
fi

# A caller's record exists from the start, so that a failure to write it stops us before any change.
if [ "$record_given" -eq 1 ] && [ ! -e "$record" ]; then
    if ! { : >>"$record"; } 2>/dev/null && ! as_root touch "$record" 2>/dev/null; then
        echo "setup.sh: cannot create the record $record" >&2; exit 1
    fi
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
        grep -qs "^pool $pool " "$record" || note "pool $pool $current"
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
        if [[ "$target" != /* || "$target" =~ [[:space:]] ]]; then
            echo "setup.sh: mount point '$target' must be an absolute path without blanks (POPULATEBENCH_HUGETLBFS)" >&2
            exit 1
        fi
        # Recorded first: each directory this run creates (outermost first), then the mount, so
        # that undoing in reverse unmounts, then removes only the directories made here.
        made=()
        dir=$target
        while [ ! -e "$dir" ]; do made=("$dir" "${made[@]}"); dir=$(dirname "$dir"); done
        for dir in "${made[@]}"; do note "mkdir $dir -"; done
        note "mount $target pagesize=$((size_kib / 1024))M"
        as_root mkdir -p "$target"
        as_root mount -t hugetlbfs -o pagesize=$((size_kib / 1024))M none "$target"
        echo "setup.sh: mounted hugetlbfs ($((size_kib / 1024)) MiB pages) at $target"
    else
        echo "setup.sh: hugetlbfs with ${size_kib} kB pages is mounted at $have_mount"
    fi
fi
