#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine (root, Debian 12), for CI and for trying the
# cluster profile before a real cluster:
#   scripts/slurm_local.sh up      install Debian's slurmctld/slurmd/munge if missing, write the
#                                  config under $TROUTER_SLURM_DIR, start munged, slurmctld, slurmd
#   scripts/slurm_local.sh down    cancel every job, stop the three daemons (nothing left running)
#   scripts/slurm_local.sh env     print `export SLURM_CONF=...` for the client commands
# No systemd, no cgroups, no accounting database: status comes from squeue (MinJobAge keeps a
# finished job there for 5 minutes).
set -euo pipefail
DIR=${TROUTER_SLURM_DIR:-/tmp/trouter-slurm}
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF

wait_for() {  # seconds, what, command...
  local t=$1 what=$2
  shift 2
  if ! timeout "$t" bash -c "until $*; do sleep 0.2; done"; then
    echo "slurm_local: $what did not come up within $t s (logs: $DIR/log)" >&2
    return 1
  fi
}

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
      && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "slurm_local: Slurm is not installed and installing it needs root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  # twice the cores: the jobs of a test sweep mostly wait (start-up, status polls, LLM replies)
  cpus=$(( $(nproc) * 2 ))
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
  cat >"$CONF" <<EOF
ClusterName=trouter-local
SlurmctldHost=$host
AuthType=auth/munge
SlurmUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# A job asking for more than the node has fails at once instead of pending forever.
EnforcePartLimits=ALL
# squeue still lists a finished job for an hour (no accounting database here): the status checks
# and a test's look at every job's record rely on it.
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
# The node's CPUs as written here, not as slurmd counts them (twice the cores, above).
SlurmdParameters=config_overrides
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  # srun inside a job reads the default path, not $SLURM_CONF: link it there unless a real
  # config is in the way.
  if [ ! -e /etc/slurm/slurm.conf ] || [ -L /etc/slurm/slurm.conf ]; then
    mkdir -p /etc/slurm
    ln -sfn "$CONF" /etc/slurm/slurm.conf
  fi
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    return
  fi
  [ -s /etc/munge/munge.key ] || {
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  }
  mkdir -p /run/munge
  chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged
  wait_for 20 munged "munge -n 2>/dev/null | unmunge >/dev/null 2>&1"
}

up() {
  install
  write_conf
  start_munge
  slurmctld -f "$CONF"
  wait_for 30 slurmctld "scontrol -Q ping 2>/dev/null | grep -q UP"
  slurmd -f "$CONF"
  wait_for 30 "the node" "sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'"
  echo "slurm_local: up (SLURM_CONF=$CONF, partition debug, $(( $(nproc) * 2 )) job slots on $(nproc) cores)"
}

stop_pid() {  # pid file
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  timeout 15 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.2; done" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

down() {
  if [ -f "$CONF" ]; then
    timeout 10 scancel --user="$(id -un)" 2>/dev/null || true
    timeout 10 scontrol shutdown 2>/dev/null || true
  fi
  stop_pid "$DIR/slurmd.pid"
  stop_pid "$DIR/slurmctld.pid"
  stop_pid /run/munge/munged.pid
  if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$CONF" ]; then
    rm -f /etc/slurm/slurm.conf
  fi
  echo "slurm_local: down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
