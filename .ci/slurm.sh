#!/usr/bin/env bash
# A single-node Slurm for the sweep tests (../shared/spec/scaleout.md): one node named after this
# host, two CPUs, a fake GPU (`--gres=gpu:1` schedules; the job sees CUDA_VISIBLE_DEVICES=0).
#
#   bash .ci/slurm.sh start DIR   installs the packages if needed (Debian, root), writes DIR/slurm.conf,
#                                 starts munged, slurmctld and slurmd, waits for the node to be idle
#   bash .ci/slurm.sh stop DIR    cancels every job, shuts the daemons down, ends munged
#
# Clients need `export SLURM_CONF=DIR/slurm.conf` (start prints it). Idempotent: `start` on a running
# cluster stops it first; `stop` on a stopped one does nothing.
set -euo pipefail

cmd="${1:?usage: slurm.sh start|stop DIR}"
dir="${2:?usage: slurm.sh start|stop DIR}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
export SLURM_CONF="$dir/slurm.conf"
host="$(hostname -s)"

stop() {
  local daemons=""
  for f in slurmctld.pid slurmd.pid; do
    [ -f "$dir/$f" ] && daemons="$daemons $(cat "$dir/$f")"
  done
  if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    scancel --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 1 60); do
      [ -z "$(squeue -h -t R,CG 2>/dev/null)" ] && break
      sleep 0.5
    done
    scontrol shutdown 2>/dev/null || true
  fi
  # The daemons exit shortly after the shutdown; those that do not are killed.
  for _ in $(seq 1 40); do
    local alive=""
    for pid in $daemons; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.25
  done
  for pid in $daemons; do kill "$pid" 2>/dev/null || true; done
  rm -f "$dir/slurmctld.pid" "$dir/slurmd.pid"
  if [ -f "$dir/munged.pid" ]; then
    kill "$(cat "$dir/munged.pid")" 2>/dev/null || true
    rm -f "$dir/munged.pid"
  fi
}

start() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurmctld slurmd slurm-client munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slurmctld slurmd slurm-client munge >/dev/null
  fi
  stop
  # One controller per host: a cluster this script started from another folder is ended too.
  for daemon in slurmctld slurmd; do
    if pgrep -x "$daemon" >/dev/null; then
      echo "ending the $daemon already running (pid $(pgrep -x "$daemon" | tr '\n' ' '))"
      pkill -x "$daemon" || true
    fi
  done
  for _ in $(seq 1 40); do
    pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
    sleep 0.25
  done
  rm -rf "$dir/state" "$dir/spool"
  mkdir -p "$dir/state" "$dir/spool"

  # munge: no systemd here, so its run folder is made by hand and the daemon started as its user.
  [ -f /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || /usr/sbin/create-munge-key -f; }
  install -d -o munge -g munge -m 0755 /run/munge
  if ! pgrep -u munge -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged
  fi
  pgrep -u munge -x munged | head -n1 >"$dir/munged.pid"

  cat >"$SLURM_CONF" <<EOF
ClusterName=ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
MailProg=/bin/true
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
DependencyParameters=kill_invalid_depend
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=600
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=1000 Gres=gpu:1
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  echo "NodeName=$host Name=gpu File=/dev/null" >"$dir/gres.conf"

  slurmctld
  slurmd -N "$host"
  for _ in $(seq 1 120); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = "idle" ] && { echo "export SLURM_CONF=$SLURM_CONF"; return 0; }
    sleep 0.25
  done
  echo "slurm did not come up: the node is $(sinfo -h -o %T 2>&1)" >&2
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  return 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: slurm.sh start|stop DIR" >&2; exit 2 ;;
esac
