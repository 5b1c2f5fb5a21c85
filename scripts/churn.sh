#!/usr/bin/env bash
# A busy neighbour for tests: runs COMMAND while a background loop keeps writing and deleting N MiB
# of random data, alternately in a private tmpfs (mounted on a mktemp -d directory, N+64 MiB) and
# in /dev/shm, so that Shmem, the page cache and a CPU move under whatever COMMAND measures. Then
# stops the loop, removes its files, unmounts and removes its tmpfs, and exits with COMMAND's code.
# The cleanup runs on every way out (COMMAND's end, a failure, INT, TERM, HUP); a signal is passed
# on to COMMAND (its own process group) first, and the cleanup follows when COMMAND has ended.
# Needs root (the mount).
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: scripts/churn.sh [--mib N] -- COMMAND [ARGS...]
  --mib N   how much each round writes (then deletes), in MiB       [300]
Runs COMMAND while a background loop writes N MiB from /dev/urandom into a file, sleeps a short
random time, deletes it and starts again, alternating between its own tmpfs (a mktemp -d directory,
size N+64 MiB) and /dev/shm. COMMAND runs in a process group of its own (INT, TERM and HUP sent
to churn.sh are passed on to it), so it cannot read from a terminal. Exits with COMMAND's exit
code (2 on bad usage or without root, 127 if there is no COMMAND of that name).
USAGE
}

bad_usage() { echo "churn.sh: $* (see --help)" >&2; exit 2; }

mib=300
while [ $# -gt 0 ]; do
    case "$1" in
        --mib)
            if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
                bad_usage "--mib needs a whole number of MiB > 0"
            fi
            mib=$((10#$2)); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        -*) bad_usage "unknown option '$1'" ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || bad_usage "no COMMAND to run"
[ "$(id -u)" -eq 0 ] || { echo "churn.sh: needs root (it mounts a tmpfs)" >&2; exit 2; }
command -v "$1" >/dev/null || { echo "churn.sh: no command '$1'" >&2; exit 127; }

dir=""
loop_pid=""
cmd_pid=""
interrupted=""
cleaned=0
shm_prefix=/dev/shm/populatebench-churn.$$

mounted_at() { awk -v dir="$1" '$2 == dir { found = 1 } END { exit !found }' /proc/mounts; }

# The background loop: its own TERM trap stops the write or sleep under way and waits for it, so
# nothing of it outlives it (and holds the tmpfs busy). INT and HUP reach it ignored.
churn_loop() {
    local round=0 file child=""
    trap 'if [ -n "$child" ]; then kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi; exit 0' TERM
    set +e
    while :; do
        if ((round % 2 == 0)); then file=$dir/churn.$round; else file=$shm_prefix.$round; fi
        head -c "$((mib * 1024 * 1024))" /dev/urandom >"$file" 2>/dev/null &
        child=$!; wait "$child"; child=""
        sleep "0.$((RANDOM % 8 + 2))" & child=$!; wait "$child"; child=""
        rm -f "$file"
        round=$((round + 1))
        echo "$round" >"$dir/rounds"
        sleep "0.$((RANDOM % 4 + 1))" & child=$!; wait "$child"; child=""
    done
}

cleanup() {
    ((cleaned == 0)) && [ "$BASHPID" = "$$" ] || return 0
    cleaned=1
    trap '' INT TERM HUP
    local rounds=0
    if [ -n "$loop_pid" ]; then
        kill -TERM "$loop_pid" 2>/dev/null || true
        wait "$loop_pid" 2>/dev/null || true
    fi
    rm -f "$shm_prefix".*
    if [ -n "$dir" ] && [ -r "$dir/rounds" ]; then rounds=$(cat "$dir/rounds"); fi
    if [ -n "$dir" ] && mounted_at "$dir"; then
        # A write the loop had just started may hold the tmpfs for a moment.
        for _ in $(seq 1 50); do
            umount "$dir" 2>/dev/null && break
            sleep 0.1
        done
    fi
    if [ -n "$dir" ] && mounted_at "$dir"; then
        echo "churn.sh: could not unmount $dir (still busy); unmount and remove it by hand" >&2
    elif [ -n "$dir" ]; then
        rmdir "$dir" 2>/dev/null || echo "churn.sh: could not remove $dir" >&2
    fi
    if [ -n "$loop_pid" ]; then echo "churn.sh: $rounds rounds of churn"; fi
}

# A signal: passed on to COMMAND's process group once it runs (its end then ends us); before that,
# we stop here.
# shellcheck disable=SC2317 # called from the traps below
on_signal() {
    local sig=$1 code=$2
    # The loop, before its own trap is set: it has nothing to clean up yet.
    if [ "$BASHPID" != "$$" ]; then exit 0; fi
    if [ -n "$cmd_pid" ]; then
        interrupted=$sig
        kill -s "$sig" -- "-$cmd_pid" 2>/dev/null || kill -s "$sig" "$cmd_pid" 2>/dev/null || true
    else
        cleanup
        exit "$code"
    fi
}

catch_signals() {
    trap 'on_signal INT 130' INT
    trap 'on_signal TERM 143' TERM
    trap 'on_signal HUP 129' HUP
}
trap cleanup EXIT
catch_signals

dir=$(mktemp -d "${TMPDIR:-/tmp}/populatebench-churn.XXXXXX")
mount -t tmpfs -o "size=$((mib + 64))m,mode=0700" populatebench-churn "$dir"

echo "churn.sh: writing and deleting $mib MiB in $dir and /dev/shm while: $*"
# The loop must not run our traps: it starts with INT and HUP ignored (a terminal's ^C is ours to
# pass on) and sets its own TERM trap, by which cleanup stops it (before that, on_signal ends it).
trap '' INT HUP
churn_loop &
loop_pid=$!
catch_signals

# COMMAND in a process group of its own (job control just for its start): a signal to us reaches
# it and its children through on_signal, and it gets INT and QUIT as usual (not ignored as an
# asynchronous command without job control would).
set -m
"$@" <&0 &
cmd_pid=$!
set +m
rc=0
while :; do
    rc=0
    wait "$cmd_pid" || rc=$?
    # wait returns early when a trapped signal arrives; waiting again gets COMMAND's own status.
    [ -n "$interrupted" ] || break
    interrupted=""
done
cleanup
exit "$rc"
