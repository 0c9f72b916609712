#!/usr/bin/env bash
# A single-node SLURM on this machine, for `make test-cluster`.
#
#   tests/slurm/local_slurm.sh start DIR   install slurm-wlm + munge if missing (Debian, needs root), write
#                                          DIR/slurm.conf for localhost, start munged, slurmctld and slurmd;
#                                          prints SLURM_CONF=DIR/slurm.conf; records the daemons it started
#   tests/slurm/local_slurm.sh stop DIR    stop exactly the daemons that `start DIR` started
#
# Exit code 3 (and a line saying why) when SLURM cannot be installed or started here: the caller skips.
set -uo pipefail
action=${1:?start|stop}
dir=$(realpath -m "${2:?state directory}")
mkdir -p "$dir"
pids="$dir/started.pids"

skip() { echo "SKIP: $*" >&2; exit 3; }

if [[ $action == stop ]]; then
    [[ -f $pids ]] || exit 0
    while read -r name what; do
        if [[ $name == link ]]; then
            rm -f "$what" && echo "removed $what"
        elif kill -0 "$what" 2>/dev/null; then
            kill "$what"
            for _ in $(seq 100); do kill -0 "$what" 2>/dev/null || break; sleep 0.1; done
            echo "stopped $name ($what)"
        fi
    done < <(tac "$pids")
    rm -f "$pids"
    exit 0
fi
[[ $action == start ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    [[ $(id -u) == 0 ]] || skip "slurm-wlm/munge are not installed and installing them needs root"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends slurm-wlm munge >"$dir/apt.log" 2>&1 \
        || { apt-get update -q >>"$dir/apt.log" 2>&1 && apt-get install -y -q --no-install-recommends slurm-wlm munge >>"$dir/apt.log" 2>&1; } \
        || skip "could not install slurm-wlm and munge from Debian's packages (see $dir/apt.log)"
fi
[[ $(id -u) == 0 ]] || skip "starting slurmd needs root on this single-node setup"
: > "$pids"

# munge: reuse a running munged, else start one as the munge user
if ! munge -n >/dev/null 2>&1; then
    [[ -s /etc/munge/munge.key ]] || { mungekey --create >/dev/null 2>&1 || /usr/sbin/create-munge-key -f >/dev/null 2>&1; }
    chown -R munge:munge /etc/munge 2>/dev/null
    mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- munged || skip "munged did not start"
    sleep 1
    echo "munged $(cat /run/munge/munged.pid)" >> "$pids"
    munge -n >/dev/null 2>&1 || skip "munge does not work after starting munged"
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p "$dir/spool/slurmd" "$dir/state" "$dir/log"
cat > "$dir/slurm.conf" <<CONF
ClusterName=hopscope-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmdSpoolDir=$dir/spool/slurmd
StateSaveLocation=$dir/state
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
# Job steps (srun inside a batch job) look for /etc/slurm/slurm.conf whatever SLURM_CONF said at submission:
# link it there for the test's lifetime, unless another configuration is already installed
if [[ -L /etc/slurm/slurm.conf && $(readlink /etc/slurm/slurm.conf) == */slurm.conf ]] && ! pgrep -x slurmctld >/dev/null; then
    rm -f /etc/slurm/slurm.conf  # left by an earlier test run that was killed
fi
if [[ -e /etc/slurm/slurm.conf ]]; then
    skip "/etc/slurm/slurm.conf exists: a SLURM is configured on this machine already; not touching it"
fi
mkdir -p /etc/slurm && ln -s "$SLURM_CONF" /etc/slurm/slurm.conf && echo "link /etc/slurm/slurm.conf" >> "$pids"
slurmctld -f "$SLURM_CONF" || skip "slurmctld did not start (see $dir/log/slurmctld.log)"
for _ in $(seq 50); do [[ -s $dir/slurmctld.pid ]] && break; sleep 0.1; done
echo "slurmctld $(cat "$dir/slurmctld.pid")" >> "$pids"
slurmd -f "$SLURM_CONF" || skip "slurmd did not start (see $dir/log/slurmd.log)"
for _ in $(seq 50); do [[ -s $dir/slurmd.pid ]] && break; sleep 0.1; done
echo "slurmd $(cat "$dir/slurmd.pid")" >> "$pids"
for _ in $(seq 60); do
    sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
    sleep 1
done
skip "the node did not become idle within 60 s (sinfo: $(sinfo -h 2>&1 | head -1))"
