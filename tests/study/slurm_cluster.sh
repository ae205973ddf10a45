#!/bin/bash
# A one-node Slurm cluster on this machine, for the tests of `greenbench run --slurm`:
#   slurm_cluster.sh start DIR   writes DIR/slurm.conf, starts munged, slurmctld and slurmd with
#                                their state, logs and pid files in DIR, on free non-default ports;
#                                prints SLURM_CONF=... and waits until the node is idle
#   slurm_cluster.sh stop DIR    stops the three daemons by the PIDs it started (never by name)
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge packages (scripts/setup.sh).
# Exit status 77: cannot run here (the reason on stderr).
set -u
cmd=${1:?start|stop}
dir=${2:?DIR}

stop_pid() {  # pid file: TERM, then KILL after 5 s
  local f=$1
  [ -s "$f" ] || return 0
  local pid
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

if [ "$cmd" = stop ]; then
  stop_pid "$dir/slurmd.pid"
  stop_pid "$dir/slurmctld.pid"
  stop_pid "$dir/munged.pid"
  exit 0
fi

for b in munged slurmctld slurmd sbatch squeue scontrol; do
  if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$b" ]; then
    echo "skip: $b is not installed (scripts/setup.sh installs slurmctld slurmd slurm-client munge)" >&2
    exit 77
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "skip: a local Slurm cluster needs root (slurmd runs jobs as their users)" >&2
  exit 77
fi
PATH=$PATH:/usr/sbin
mkdir -p "$dir"/{state,spool,munge}
chmod 755 "$dir"
chown munge:munge "$dir/munge" && chmod 711 "$dir/munge"
key=/etc/munge/munge.key
if [ ! -s "$key" ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
  chown munge:munge "$key"
  chmod 400 "$key"
fi
socket="$dir/munge/munge.socket"
# Our own munged on our own socket: nothing else on the machine is touched.
runuser -u munge -- munged --socket="$socket" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" --key-file="$key" \
  || { echo "skip: munged does not start" >&2; exit 77; }
for _ in $(seq 50); do [ -s "$dir/munge/munged.pid" ] && break; sleep 0.1; done
cp "$dir/munge/munged.pid" "$dir/munged.pid"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ctld_port=$(free_port)
d_port=$(free_port)
while [ "$d_port" = "$ctld_port" ]; do d_port=$(free_port); done
host=$(hostname -s)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
cat > "$dir/slurm.conf" <<CONF
ClusterName=greenbench-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=2
MinJobAge=600
SchedulerParameters=sched_interval=1
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$dir/slurm.conf" -i || { echo "skip: slurmctld does not start (see $dir/slurmctld.log)" >&2; exit 77; }
slurmd -f "$dir/slurm.conf" || { echo "skip: slurmd does not start (see $dir/slurmd.log)" >&2; exit 77; }
for _ in $(seq 150); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1)
  case "$state" in idle*) echo "SLURM_CONF=$dir/slurm.conf"; exit 0 ;; esac
  sleep 0.2
done
echo "skip: the Slurm node did not become idle within 30 s (state '${state:-none}'; see $dir)" >&2
exit 77
