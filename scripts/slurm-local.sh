#!/usr/bin/env bash
# A single-node Slurm on this machine, for tests and for trying examples/slurm/ without a cluster.
#
#   scripts/slurm-local.sh up       # install slurm-wlm and munge if missing, configure, start, wait for idle
#   scripts/slurm-local.sh status   # what runs and which daemons this script started
#   scripts/slurm-local.sh down     # stop exactly the daemons `up` started, by pid
#
# Needs root and a Debian-like system (apt). No systemd and no cgroups: the daemons are started
# directly, processes are tracked with proctrack/linuxproc, and there is no accounting database
# (squeue and `scontrol show job` work; sacct does not). The node's CPUs and memory are read from
# the machine (`slurmd -C`, /proc/meminfo). `up` starts slurmctld with a cleared job state: this is a
# scratch cluster, not one to keep jobs in.
#
# Environment: SLURM_LOCAL_STATE (default /run/csmarket-slurm) keeps the pids of the daemons this
# script started; SLURM_LOCAL_MEM_PERCENT (default 80) is the share of the machine's memory offered to jobs.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
STATE="${SLURM_LOCAL_STATE:-/run/csmarket-slurm}"
MARK="# Written by csmarket scripts/slurm-local.sh"
MEM_PERCENT="${SLURM_LOCAL_MEM_PERCENT:-80}"

say() { echo "slurm-local: $*"; }
die() {
    echo "slurm-local: $*" >&2
    exit 1
}

# The start time of a process (field 22 of /proc/PID/stat), so that a pid reused by another
# process after ours exited is never signalled.
start_time() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    local fields
    read -ra fields <<<"${stat##*) }"
    echo "${fields[19]}"
}

# Records a daemon this script started: its pid and the process's start time.
remember() {
    local name=$1 pid=$2 started
    started=$(start_time "$pid") || die "$name (pid $pid) exited as soon as it started; see /var/log/slurm/ or syslog"
    echo "$pid $started" >"$STATE/$name"
}

# True when the daemon recorded under $1 is still the process this script started.
alive() {
    local pid started
    [[ -f "$STATE/$1" ]] || return 1
    read -r pid started <"$STATE/$1"
    [[ "$(start_time "$pid" 2>/dev/null)" == "$started" ]]
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurm-wlm)
    command -v munged >/dev/null || missing+=(munge)
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || die "needs ${missing[*]} and apt-get is not here"
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
    if [[ -f "$CONF" ]] && ! head -n 1 "$CONF" | grep -qF "$MARK"; then
        die "$CONF exists and was not written by this script; move it away to use a scratch cluster"
    fi
    local host node total mem
    host=$(hostname -s)
    # `slurmd -C` prints the node line Slurm itself would detect (CPUs, sockets, cores, threads).
    node=$(slurmd -C | head -n 1)
    [[ "$node" == NodeName=* ]] || die "slurmd -C printed '$node', not a node line"
    node=$(sed -E 's/ RealMemory=[0-9]+//' <<<"$node")
    # MemTotal in MB, as `free -m` prints it (procps is not in every minimal image).
    total=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    mem=$((total * MEM_PERCENT / 100))
    mkdir -p /etc/slurm
    cat >"$CONF" <<EOF
$MARK on $(date -u +%Y-%m-%dT%H:%M:%SZ): a single node, no cgroups, no accounting.
ClusterName=csmarket-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
# A requeued job may start again once its launch credential has expired: 120 s by default, which
# would make every self-requeue in a test wait two minutes.
AuthInfo=cred_expire=10
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
# Refuse at submission a job no node can run, instead of leaving it pending without a word.
EnforcePartLimits=ALL
ReturnToService=2
JobRequeue=1
# Finished jobs stay visible to scontrol for an hour (there is no accounting database).
MinJobAge=3600
KillWait=10
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
# Look for startable jobs every 5 s (backfill, 30 s by default) and 10 s (main scheduler, 60 s by
# default), so that a requeued task starts within about 15 s (about 55 s measured without the
# second).
SchedulerParameters=bf_interval=5,sched_interval=10
${node% UpTime=*} RealMemory=$mem NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    say "wrote $CONF ($(grep -o 'CPUs=[0-9]*' <<<"$node"), RealMemory=$mem MB of $total)"
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        say "munged already answers; using it"
        return 0
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    local pid
    for _ in $(seq 50); do
        pid=$(cat /run/munge/munged.pid 2>/dev/null || true)
        [[ -n "$pid" ]] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    [[ -n "$pid" ]] || die "munged did not start (no /run/munge/munged.pid)"
    remember munged "$pid"
    say "started munged (pid $pid)"
}

# Starts a Slurm daemon that writes its pid to $2 and records it.
start_daemon() {
    local name=$1 pidfile=$2 pid=""
    shift 2
    rm -f "$pidfile"
    "$@"
    for _ in $(seq 100); do
        pid=$(cat "$pidfile" 2>/dev/null || true)
        [[ -n "$pid" ]] && break
        sleep 0.1
    done
    [[ -n "$pid" ]] || die "$name did not start; see /var/log/slurm/$name.log"
    remember "$name" "$pid"
    say "started $name (pid $pid)"
}

wait_idle() {
    local state=""
    for _ in $(seq 120); do
        state=$(sinfo -h -N -o %t 2>/dev/null | head -n 1 || true)
        [[ "$state" == idle ]] && {
            say "node $(hostname -s) is idle: $(sinfo -h -N -o '%c CPUs, %m MB')"
            return 0
        }
        sleep 0.5
    done
    die "node did not become idle (state '${state:-none}'); see /var/log/slurm/"
}

up() {
    ((EUID == 0)) || die "must run as root"
    mkdir -p "$STATE"
    if alive slurmctld || alive slurmd; then
        say "already up (started by this script)"
        wait_idle
        return 0
    fi
    if scontrol ping >/dev/null 2>&1; then
        die "a slurmctld this script did not start already answers; use it, or stop it first"
    fi
    install_packages
    write_conf
    install -d -o slurm -g slurm /run/slurm /var/log/slurm /var/lib/slurm/slurmctld
    install -d /var/lib/slurm/slurmd
    start_munge
    # -c: start with no jobs from an earlier scratch cluster.
    start_daemon slurmctld /run/slurm/slurmctld.pid /usr/sbin/slurmctld -c
    start_daemon slurmd /run/slurm/slurmd.pid /usr/sbin/slurmd
    wait_idle
}

down() {
    local name pid started stopped=0
    for name in slurmd slurmctld munged; do
        if alive "$name"; then
            read -r pid started <"$STATE/$name"
            kill -TERM "$pid"
            for _ in $(seq 100); do
                [[ "$(start_time "$pid" 2>/dev/null)" == "$started" ]] || break
                sleep 0.1
            done
            if [[ "$(start_time "$pid" 2>/dev/null)" == "$started" ]]; then
                kill -KILL "$pid"
                say "$name (pid $pid) ignored SIGTERM for 10 s; killed it"
            else
                say "stopped $name (pid $pid)"
            fi
            stopped=$((stopped + 1))
        fi
        rm -f "$STATE/$name"
    done
    ((stopped > 0)) || say "nothing to stop: no daemon started by this script is running"
}

status() {
    local name pid started
    for name in munged slurmctld slurmd; do
        if alive "$name"; then
            read -r pid started <"$STATE/$name"
            say "$name: running, pid $pid (started by this script)"
        else
            say "$name: not started by this script"
        fi
    done
    sinfo -N 2>/dev/null || say "no slurmctld answers"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
