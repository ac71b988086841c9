#!/usr/bin/env bash
# Throw-away PostgreSQL 15 and Slurm (three virtual nodes) on this host, for the tests and for developers.
#
#   bash .ci/services.sh start [DIR]    # install what is missing, start both; writes DIR/env.sh
#   . DIR/env.sh                        # CWLPILOT_TEST_POSTGRES, SLURM_CONF, CWLPILOT_TEST_SLURM
#   bash .ci/services.sh stop [DIR]     # stop both (only the daemons started here, by their pids)
#
# DIR defaults to /tmp/cwlpilot-services. Needs root (apt, munge and slurmd run as root here; PostgreSQL runs
# as the `postgres` user because initdb refuses root). The cluster is for tests only: trust authentication
# on 127.0.0.1 and fsync=off. Nothing is started through systemd (there is none).
set -euo pipefail

ACTION=${1:-}
DIR=${2:-/tmp/cwlpilot-services}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGPORT=${CWLPILOT_PGPORT:-55432}
NODES=3

log() { echo "services: $*" >&2; }

install_packages() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v sbatch >/dev/null || missing+=(slurm-client)
  command -v munged >/dev/null || [ -x /usr/sbin/munged ] || missing+=(munge)
  [ -x "$PGBIN/initdb" ] || missing+=(postgresql-15)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

start_postgres() {
  local data="$DIR/pg/data"
  if [ -f "$DIR/pg.started" ]; then log "postgres already started in $DIR"; return; fi
  rm -rf "$DIR/pg"
  install -d -o postgres -g postgres "$DIR/pg" "$DIR/pg/run"
  runuser -u postgres -- "$PGBIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >"$DIR/pg/initdb.log"
  cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$DIR/pg/run'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" -l "$DIR/pg/server.log" -w start >/dev/null
  touch "$DIR/pg.started"
  log "postgres up on 127.0.0.1:$PGPORT"
}

stop_postgres() {
  [ -d "$DIR/pg/data" ] || return 0
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -f "$DIR/pg.started"
}

start_slurm() {
  local s="$DIR/slurm"
  if [ -f "$DIR/slurm.pids" ]; then log "slurm already started in $DIR"; return; fi
  mkdir -p "$s/state" "$s/spool" "$s/log"
  # munge: refuses root, needs a key
  if [ ! -s /etc/munge/munge.key ]; then
    install -d -o munge -g munge -m 700 /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  install -d -o munge -g munge /run/munge /var/log/munge /var/lib/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
    touch "$DIR/munged.started"  # stopped again by `stop`; a munged found running is left alone
    local tries=0
    until munge -n 2>/dev/null | unmunge >/dev/null 2>&1; do
      tries=$((tries + 1)); [ $tries -lt 50 ] || { log "munged did not start"; exit 1; }; sleep 0.1
    done
  fi
  local cpus mem
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)  # each virtual node offers half the RAM
  # Preemption (tests/e2e/test_scaleout.py): jobs of partition `high` preempt those of `low` and `lowcancel`
  # over the same nodes; after GraceTime a preempted job of `low` is requeued (and starts again once the nodes
  # are free and cred_expire, the least time a requeued job waits, has passed), one of `lowcancel` cancelled. `debug`, the default, is never preempted
  # and preempts nothing: jobs that name no partition behave as without preemption.
  cat >"$s/slurm.conf" <<EOF
ClusterName=cwlpilot
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$s/log/jobcomp.txt
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool/%n
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd-%n.pid
SlurmctldLogFile=$s/log/slurmctld.log
SlurmdLogFile=$s/log/slurmd-%n.log
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
KillWait=5
MinJobAge=60
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
AuthInfo=cred_expire=15
NodeName=n[1-$NODES] NodeAddr=127.0.0.1 Port=[17001-1700$NODES] CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=1 PreemptMode=OFF
PartitionName=low Nodes=ALL MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=1 PreemptMode=REQUEUE GraceTime=5
PartitionName=lowcancel Nodes=ALL MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=1 PreemptMode=CANCEL GraceTime=5
PartitionName=high Nodes=ALL MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=2 PreemptMode=OFF
EOF
  export SLURM_CONF="$s/slurm.conf"
  setsid /usr/sbin/slurmctld -D -c -i -f "$SLURM_CONF" >"$s/log/slurmctld.out" 2>&1 < /dev/null &
  echo "slurmctld $!" >"$DIR/slurm.pids"
  for k in $(seq 1 $NODES); do
    mkdir -p "$s/spool/n$k"
    setsid /usr/sbin/slurmd -D -N "n$k" -f "$SLURM_CONF" >"$s/log/slurmd-n$k.out" 2>&1 < /dev/null &
    echo "slurmd $!" >>"$DIR/slurm.pids"
  done
  local deadline=$((SECONDS + 60))
  until scontrol ping 2>/dev/null | grep -q UP; do
    [ $SECONDS -lt $deadline ] || { log "slurmctld did not come up"; tail "$s/log/slurmctld.log" >&2; exit 1; }
    sleep 0.2
  done
  until [ "$(sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)" -ge $NODES ]; do
    [ $SECONDS -lt $deadline ] || { log "nodes did not become idle"; sinfo -N >&2; exit 1; }
    sleep 0.2
  done
  log "slurm up: $NODES virtual nodes ($(sinfo -h -N -o %N | sort -u | tr '\n' ' '))"
}

stop_slurm() {
  [ -f "$DIR/slurm.pids" ] || return 0
  export SLURM_CONF="$DIR/slurm/slurm.conf"
  scancel --quiet --full --user=root 2>/dev/null || true
  while read -r _ pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done <"$DIR/slurm.pids"
  local deadline=$((SECONDS + 10))
  while read -r _ pid; do
    while kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ]; do
      if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
  done <"$DIR/slurm.pids"
  if [ -f "$DIR/munged.started" ] && [ -f /run/munge/munged.pid ]; then
    kill -TERM "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    rm -f "$DIR/munged.started"
  fi
  rm -f "$DIR/slurm.pids"
}

write_env() {
  cat >"$DIR/env.sh" <<EOF
export CWLPILOT_TEST_POSTGRES=postgresql://postgres@127.0.0.1:$PGPORT/postgres
export CWLPILOT_TEST_PGBIN=$PGBIN
export CWLPILOT_TEST_PGDATA=$DIR/pg/data
export SLURM_CONF=$DIR/slurm/slurm.conf
export CWLPILOT_TEST_SLURM=1
EOF
}

case "$ACTION" in
  start)
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    install_packages
    start_postgres
    start_slurm
    write_env
    log "environment for the tests: . $DIR/env.sh"
    ;;
  stop)
    stop_slurm
    stop_postgres
    log "stopped"
    ;;
  *)
    echo "usage: $0 start|stop [DIR]" >&2
    exit 2
    ;;
esac
