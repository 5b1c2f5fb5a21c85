#!/usr/bin/env bash
# Prints the host settings that PopulateBench's tests and scripts may change, one per line, sorted:
#   /sys/kernel/mm/transparent_hugepage/KNOB = VALUE     every THP knob (enabled, defrag,
#       shmem_enabled, use_zero_page, khugepaged/defrag, hugepages-*kB/enabled and
#       hugepages-*kB/shmem_enabled where present; the selected word of a [bracketed] choice)
#   /sys/kernel/mm/hugepages/hugepages-*kB/nr_hugepages = N           (and nr_overcommit_hugepages)
#   hugetlbfs MOUNT-POINT OPTIONS                         every hugetlbfs mount, as /proc/mounts has it
# so that a run can be checked for leaving the host as it found it. It changes nothing.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: scripts/host-state.sh [--save FILE | --check FILE [--what LABEL]]
  (no options)    print the host settings the harness may change, one per line, sorted
  --save FILE     write them to FILE instead
  --check FILE    compare them with FILE (written by --save): exit 0 printing
                  'host-state.sh: host settings as found (LABEL)', or exit 1 printing
                  'host-state.sh: LABEL changed host settings:' and the difference (on stderr)
  --what LABEL    what ran since FILE was saved, for those lines [what ran since FILE was saved]
Exit status: 0 printed, saved or unchanged; 1 changed; 2 bad usage, or a FILE that cannot be
written or read or that --save did not write.
USAGE
}

bad_usage() { echo "host-state.sh: $* (see --help)" >&2; exit 2; }

mode=print
file=""
label=""
while [ $# -gt 0 ]; do
    case "$1" in
        --save|--check)
            [ "$mode" = print ] || bad_usage "--save and --check exclude each other, and come once"
            if [ $# -lt 2 ] || [ -z "$2" ]; then bad_usage "$1 needs a file"; fi
            mode=${1#--}; file=$2; shift 2 ;;
        --what)
            if [ $# -lt 2 ] || [ -z "$2" ]; then bad_usage "--what needs a label"; fi
            label=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) bad_usage "unknown option '$1'" ;;
    esac
done
if [ -n "$label" ] && [ "$mode" != check ]; then bad_usage "--what goes with --check"; fi

# The value of a sysfs knob: the selected word of 'always [madvise] never', else the whole value.
knob_value() {
    local value
    value=$(cat "$1" 2>/dev/null) || value="(unreadable)"
    if [[ $value =~ \[([^]]*)\] ]]; then value=${BASH_REMATCH[1]}; fi
    printf '%s' "$value"
}

state() {
    local thp=/sys/kernel/mm/transparent_hugepage path
    {
        for path in "$thp"/enabled "$thp"/defrag "$thp"/shmem_enabled "$thp"/use_zero_page \
            "$thp"/khugepaged/defrag "$thp"/hugepages-*kB/enabled "$thp"/hugepages-*kB/shmem_enabled \
            /sys/kernel/mm/hugepages/hugepages-*kB/nr_hugepages \
            /sys/kernel/mm/hugepages/hugepages-*kB/nr_overcommit_hugepages; do
            [ -e "$path" ] || continue
            printf '%s = %s\n' "$path" "$(knob_value "$path")"
        done
        awk '$3 == "hugetlbfs" { print "hugetlbfs " $2 " " $4 }' /proc/mounts
    } | LC_ALL=C sort
}

case "$mode" in
    print) state ;;
    save)
        current=$(state)
        if ! { printf '%s\n' "$current" >"$file"; } 2>/dev/null; then
            echo "host-state.sh: cannot write $file" >&2; exit 2
        fi
        ;;
    check)
        [ -r "$file" ] || { echo "host-state.sh: cannot read $file (write it with --save)" >&2; exit 2; }
        if grep -Evq '^(/sys/kernel/mm/[^ ]+ = [^ ]+|hugetlbfs [^ ]+ [^ ]+|)$' "$file"; then
            echo "host-state.sh: $file is not a file of host-state.sh --save" >&2; exit 2
        fi
        label=${label:-what ran since $file was saved}
        current=$(state)
        rc=0
        changes=$(diff -U0 --label "before ($file)" --label now "$file" - <<<"$current" 2>&1) || rc=$?
        case "$rc" in
            0) echo "host-state.sh: host settings as found ($label)" ;;
            1) { echo "host-state.sh: $label changed host settings:"; printf '%s\n' "$changes"; } >&2
               exit 1 ;;
            *) echo "host-state.sh: cannot compare with $file: ${changes//$'\n'/ }" >&2; exit 2 ;;
        esac
        ;;
esac
