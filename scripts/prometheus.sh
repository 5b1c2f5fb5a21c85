#!/usr/bin/env bash
# A throwaway Prometheus and Pushgateway on 127.0.0.1, for the export integration test and for
# trying `bench run --push` by hand. Nothing of Debian's services is enabled or started: the
# binaries run from a directory of their own, which `stop` removes.
#
#   eval "$(scripts/prometheus.sh start)"   installs Debian's prometheus, prometheus-pushgateway and
#                                           curl (the readiness probe) if missing, starts both
#                                           servers, prints the export lines:
#       export POPULATEBENCH_PUSHGATEWAY=http://127.0.0.1:19091
#       export POPULATEBENCH_PROMETHEUS=http://127.0.0.1:19090
#   scripts/prometheus.sh stop              stops both (by the PIDs start wrote) and removes the directory
#
# Ports: PROMETHEUS_PORT [19090], PUSHGATEWAY_PORT [19091]. Directory: POPULATEBENCH_PROMETHEUS_DIR
# [/tmp/populatebench-prometheus]. Prometheus scrapes the Pushgateway every second with
# honor_labels, so a pushed series is queryable about a second after the push.
set -euo pipefail

prometheus_port=${PROMETHEUS_PORT:-19090}
pushgateway_port=${PUSHGATEWAY_PORT:-19091}
dir=${POPULATEBENCH_PROMETHEUS_DIR:-/tmp/populatebench-prometheus}

say() { echo "prometheus.sh: $*" >&2; }

# Debian's postinst starts the service unless policy-rc.d forbids it: ours exists only while apt
# installs, and goes on every way out (apt failing under set -e, a signal) by a trap set before it
# is made; the traps there were before come back after.
policy_rc=/usr/sbin/policy-rc.d
policy_rc_ours=false
saved_traps=""
remove_policy_rc() {
    if $policy_rc_ours; then rm -f "$policy_rc"; policy_rc_ours=false; fi
}
# On a signal: remove it, put the earlier traps back and end as that signal would have.
on_signal_during_install() {
    local sig=$1 code=$2
    remove_policy_rc
    trap - EXIT INT TERM HUP
    eval "$saved_traps"
    [[ -n $(trap -p "$sig") ]] || trap - "$sig"
    kill -s "$sig" $$
    exit "$code"
}

# trap_command trap -- 'COMMAND' SIGNAL (a line of trap -p, evaluated): prints COMMAND.
trap_command() { printf '%s' "$3"; }

install_missing() {
    local missing=() services=() previous_exit=""
    command -v prometheus >/dev/null || { missing+=(prometheus); services+=(prometheus.service); }
    command -v prometheus-pushgateway >/dev/null || { missing+=(prometheus-pushgateway); services+=(prometheus-pushgateway.service); }
    command -v curl >/dev/null || missing+=(curl)
    [[ ${#missing[@]} -eq 0 ]] && return
    say "installing ${missing[*]}"
    saved_traps=$(trap -p EXIT INT TERM HUP)
    # An EXIT trap there was still runs, after ours.
    previous_exit=$(trap -p EXIT)
    [[ -z $previous_exit ]] || previous_exit=$(eval "trap_command $previous_exit")
    # shellcheck disable=SC2064 # the earlier EXIT trap goes in now
    trap "remove_policy_rc${previous_exit:+; $previous_exit}" EXIT
    trap 'on_signal_during_install INT 130' INT
    trap 'on_signal_during_install TERM 143' TERM
    trap 'on_signal_during_install HUP 129' HUP
    if [[ ! -e $policy_rc ]]; then
        policy_rc_ours=true
        printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
        chmod +x "$policy_rc"
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
    remove_policy_rc
    trap - EXIT INT TERM HUP
    eval "$saved_traps"
    # The postinst also enables the units for the next boot; this script wants them off.
    if ((${#services[@]})) && command -v systemctl >/dev/null; then
        systemctl disable "${services[@]}" >/dev/null 2>&1 || true
    fi
}

wait_ready() {
    local name=$1 url=$2 log=$3
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return
        sleep 0.2
    done
    say "$name is not ready at $url after 20 s; its log:"
    tail -n 20 "$log" >&2
    stop
    exit 1
}

# The PID a pid file names, if that process is still the program start ran (not a reused PID).
running_pid() {
    local name=$1 program=$2 pid
    [[ -e "$dir/$name.pid" ]] || return 1
    pid=$(cat "$dir/$name.pid")
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */"$program" ]] || return 1
    echo "$pid"
}

start() {
    if running_pid prometheus prometheus >/dev/null || running_pid pushgateway prometheus-pushgateway >/dev/null; then
        say "$dir already holds a running pair (scripts/prometheus.sh stop first)"
        exit 1
    fi
    remove_state
    for port in "$prometheus_port" "$pushgateway_port"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            say "port $port is taken (set PROMETHEUS_PORT / PUSHGATEWAY_PORT)"
            exit 1
        fi
    done
    install_missing
    mkdir -p "$dir/data"
    cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$pushgateway_port']
EOF
    # No persistence file: Debian's default is the system service's /var/lib/prometheus.
    setsid prometheus-pushgateway --web.listen-address="127.0.0.1:$pushgateway_port" --persistence.file="" \
        >"$dir/pushgateway.log" 2>&1 </dev/null &
    echo $! >"$dir/pushgateway.pid"
    setsid prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$prometheus_port" >"$dir/prometheus.log" 2>&1 </dev/null &
    echo $! >"$dir/prometheus.pid"
    wait_ready pushgateway "http://127.0.0.1:$pushgateway_port/-/ready" "$dir/pushgateway.log"
    wait_ready prometheus "http://127.0.0.1:$prometheus_port/-/ready" "$dir/prometheus.log"
    say "running from $dir"
    echo "export POPULATEBENCH_PUSHGATEWAY=http://127.0.0.1:$pushgateway_port"
    echo "export POPULATEBENCH_PROMETHEUS=http://127.0.0.1:$prometheus_port"
}

stop() {
    local name program pid
    for name in prometheus pushgateway; do
        program=prometheus
        [[ $name == pushgateway ]] && program=prometheus-pushgateway
        if pid=$(running_pid "$name" "$program") && kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
    done
    remove_state
}

# Only what start makes: the directory may be one the caller named. Also clears what a killed
# earlier run left behind.
remove_state() {
    rm -rf "$dir/data" "$dir/prometheus.yml" "$dir"/{prometheus,pushgateway}.{pid,log}
    [[ ! -d "$dir" ]] || rmdir "$dir" 2>/dev/null || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: scripts/prometheus.sh start|stop" >&2; exit 2 ;;
esac
