# Tests of the job scripts on a real SLURM cluster of emulated nodes
# (sourced by tests/run). tools/slurm-cluster starts munged, slurmctld and
# PGF_SLURM_NODES (default 3) slurmd daemons, each in its own network and
# mount namespace, so that jobs span nodes: PMIx wire-up, Open MPI over TCP,
# node-local /tmp, per-node defaults. The cases that need the cluster skip
# with the reason when it cannot start (not root, no sudo, no namespaces:
# status 77). Ranks are launched by `srun --mpi=pmix`. Every file a job
# reads or writes is under $work, in the repository's build/ (each node has
# its own /tmp, but sees the repository, also when it is under /tmp).
#
# The fixture `cluster` starts the cluster once per run, at the first case
# that needs it, whatever its group. A cluster that was up before (decided
# from tools/slurm-cluster status) is used as it is and left running;
# otherwise the fixture also tries start where SLURM's default port is taken
# and where munged already runs (the cases of slurm/cluster check what it
# recorded), and the cluster is stopped when tests/run exits. A job fixture
# submits its job and records its output, wait log and status in $work for
# its cases to check. slurm/lifecycle, which crashes, restarts and stops the
# cluster, is the last group.
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, PGFLOW, t, uses, group come from tests/lib.sh
# job_field JOBID FIELD: a field of `scontrol show job` (e.g. JobState, Restarts).
job_field() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# wait_job JOBID SECONDS: wait until the job has ended; true when it COMPLETED.
wait_job() {
  local s
  for _ in $(seq 1 "$2"); do
    s=$(job_field "$1" JobState)
    case $s in
      COMPLETED) return 0 ;;
      FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | "")
        echo "job $1 ended $s"
        return 1
        ;;
    esac
    sleep 1
  done
  echo "job $1 still $s after $2 s"
  return 1
}
# wait_for FILE PATTERN SECONDS [COUNT]: wait until COUNT (default 1) lines
# of FILE match PATTERN.
wait_for() {
  local c
  for _ in $(seq 1 $((2 * $3))); do
    c=$(grep -c "$2" "$1" 2>/dev/null)
    [ "${c:-0}" -ge "${4:-1}" ] && return 0
    sleep 0.5
  done
  echo "not ${4:-1} lines '$2' in $1 after $3 s"
  return 1
}
# start_requeued JOBID [SCONTROL FIELDS]: once the job is requeued (pending,
# one restart) and its nodes are done with its first run, start it at once
# (SLURM would hold a requeued job for about two minutes), with the fields
# given changed. A node refuses a credential made within the second it
# revoked the job's previous one: wait for the next second.
start_requeued() {
  local id=$1 now
  shift
  for _ in $(seq 1 60); do
    [ "$(job_field "$id" Restarts)" = 1 ] && [ "$(job_field "$id" JobState)" = PENDING ] &&
      [ -z "$(sinfo -h -t completing -o %N)" ] && break
    sleep 1
  done
  now=$(date +%s)
  while [ "$(date +%s)" -le "$now" ]; do sleep 0.1; done
  scontrol update jobid="$id" StartTime=now "$@" >/dev/null 2>&1
}
# sbatch without the caller's MPIEXEC, so the jobs use srun --mpi=pmix.
submit() { env -u MPIEXEC timeout 60 sbatch --parsable "$@"; }
# run_job ARGS...: submit and wait for the job to complete (sbatch --wait
# polls at growing intervals, up to a minute late).
run_job() {
  local id
  id=$(submit "$@") || return 1
  wait_job "$id" "${PGF_JOB_WAIT:-900}"
}
# nothing_left: no daemon, namespace, link, mount or state of the emulated cluster.
nothing_left() {
  ! ip netns list | grep -q pgf-n && ! ip link | grep -q -e pgfbr0 -e pgfv &&
    [ -z "$(ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 ~ /^slurm(d|ctld|stepd)$/')" ] &&
    ! grep -q -e pgflow- -e /run/netns/pgf- /proc/mounts && ! ls -d /run/pgflow-slurm-hold.* 2>/dev/null &&
    ! tools/slurm-cluster status
}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
# on_nodes ARGS...: srun --mpi=pmix from here, bounded in time.
on_nodes() { timeout 300 srun --mpi=pmix "$@"; }
# attr FILE NAME: a root attribute of a results file.
attr() { "$RESULTS" attr "$1" "$2"; }
# limit_of: the -memory_limit default pgflow -help prints, in GiB (PETSc
# 3.18 prints '-memory_limit <now 3G ...', 3.22 '-memory_limit: <now 3G ...').
limit_of() { sed -n 's/.*-memory_limit:\{0,1\} <now \([0-9.e+]*\)G.*/\1/p' | head -n 1; }
export -f job_field wait_job submit run_job on_nodes attr limit_of nothing_left as_root
export RESULTS

nodes=${PGF_SLURM_NODES:-3}
# Relative to the repository, where jobs start: no space in the path, even
# when the checkout's path has one. Made by the first fixture that needs it.
work=build/slurm-tests.$$
# Set once per run by cluster_start: the status of start, whether the
# cluster was up before, and what the run started besides the cluster.
cluster_rc="" was_up="" listener="" own_munged=""
# What the run started besides the cluster, stopped by PID.
fixtures_stop() {
  [ -z "$listener" ] || kill "$listener" 2>/dev/null
  [ -z "$own_munged" ] || as_root kill "$own_munged" 2>/dev/null
  listener="" own_munged=""
}
# At exit, also when the run is interrupted: stop the cluster unless it was
# up before the run (or could not start).
slurm_end() {
  if [ -n "$cluster_rc" ] && [ "$cluster_rc" != 77 ] && [ "$was_up" = 0 ]; then
    tools/slurm-cluster stop >/dev/null 2>&1
  fi
  fixtures_stop
  rm -rf "$work"
}

# Fixture cluster_start: start the cluster, once per run; skip only when it
# cannot run here (77). Its output and status are in $work/cluster.log and
# cluster.rc, those of the start on the taken port in $work/taken.*.
cluster_start() {
  if [ -z "$cluster_rc" ]; then
    rm -rf "$work" && mkdir -p "$work"
    at_exit slurm_end
    # Decided from the cluster's state, not from start's messages.
    was_up=0
    tools/slurm-cluster status >/dev/null 2>&1 && was_up=1
    echo $was_up >"$work/was_up"
    cluster_rc=0
    [ $was_up -eq 1 ] || cluster_prepare
    if [ $cluster_rc -ne 77 ]; then
      tools/slurm-cluster start --nodes "$nodes" >"$work/cluster.log" 2>&1
      cluster_rc=$?
    fi
    echo $cluster_rc >"$work/cluster.rc"
    [ -z "$listener" ] || { kill "$listener" 2>/dev/null; listener=""; }
    if [ $cluster_rc -eq 0 ]; then
      eval "$(tools/slurm-cluster env)"
      export SLURM_CONF
    fi
  fi
  [ "$cluster_rc" != 77 ] ||
    skip_reason=$(tail -n 1 "$work/cluster.log" "$work/taken.err" 2>/dev/null | grep slurm-cluster | tail -n 1)
}
# cluster_prepare: before a cluster of the run's own starts, a SLURM
# controller on its default port 6817, as on a machine with slurm-wlm
# running (a listener there, unless something listens already); start told
# to use that port (status in $work/taken.rc, and whether it left nothing in
# taken.left); munged already running (and not the cluster's), as on a
# workstation with munge.
cluster_prepare() {
  if ! grep -Eq '^ *[0-9]+: [0-9A-F]+:1AA1 [0-9A-F:]+ 0A ' /proc/net/tcp /proc/net/tcp6 && command -v python3 >/dev/null; then
    python3 -c '
import signal, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 6817))
s.listen()
print("listening", flush=True)
signal.pause()' >"$work/listener.out" 2>&1 &
    listener=$!
    touch "$work/listener"
    wait_for "$work/listener.out" '^listening' 30 >/dev/null || echo "note   slurm: no listener on port 6817 ($(cat "$work/listener.out"))"
  fi
  PGF_SLURM_PORT=6817 tools/slurm-cluster start --nodes 2 >"$work/taken.out" 2>"$work/taken.err"
  cluster_rc=$?
  echo $cluster_rc >"$work/taken.rc"
  [ $cluster_rc -ne 77 ] || return 0
  nothing_left >"$work/taken.left" 2>&1
  echo $? >>"$work/taken.left"
  if ! { munge -n | unmunge; } >/dev/null 2>&1 && [ -s /etc/munge/munge.key ]; then
    as_root runuser -u munge -- /usr/sbin/munged --force &&
      own_munged=$(cat /run/munge/munged.pid 2>/dev/null)
    [ -z "$own_munged" ] || touch "$work/own_munged"
  fi
}
# Fixture cluster: the cluster up, SLURM_CONF exported.
cluster() {
  cluster_start
  [ "$cluster_rc" = 0 ] || [ -n "$skip_reason" ] || skip_reason="the cluster did not start (slurm/cluster/start)"
}
up() { [ "$cluster_rc" = 0 ]; }
# Fixture own: a cluster this run started, which it may crash and stop.
own() { [ "$was_up" != 1 ] || skip_reason="the cluster was up before tests/run: it is used as it is"; }
# Fixtures for what cluster_prepare could set up.
taken_port() { [ -e "$work/taken.rc" ] || skip_reason="the cluster was up before tests/run"; }
port_listener() {
  [ -e "$work/listener" ] || skip_reason="port 6817 was taken already, no python3, or the cluster was up before tests/run"
}
foreign_munged() {
  [ -e "$work/own_munged" ] || skip_reason="munged was running already, /etc/munge/munge.key is missing, or the cluster was up before tests/run"
}

group scripts
  scripts=(jobs/*.sbatch tools/slurm-cluster)
  has_shellcheck() { command -v shellcheck >/dev/null || skip_reason="shellcheck not installed (tools/install-deps installs it)"; }
  uses has_shellcheck
  t shellcheck "shellcheck of jobs/*.sbatch and tools/slurm-cluster" shellcheck "${scripts[@]}"
  uses
  # shellcheck disable=SC2016  # the loop is bash -c's own script
  t bash-n "bash -n of jobs/*.sbatch and tools/slurm-cluster" bash -c 'for f; do bash -n "$f" || exit 1; done' _ "${scripts[@]}"
  uses cluster
  for f in jobs/*.sbatch; do
    t "test-only-$(basename "$f" .sbatch)" "sbatch --test-only $f" sbatch --test-only "$f" jobs/e3-relu-small.opts
  done

group cluster
  uses
  t bad-nodes "tools/slurm-cluster refuses a bad --nodes with status 2" bash -c '
    tools/slurm-cluster start --nodes 0; [ $? -eq 2 ]'
  uses cluster_start taken_port
  t taken-port "start on the taken port 6817 fails with one line naming it and leaves nothing behind" bash -c "
    cat '$work/taken.out' '$work/taken.err' '$work/taken.left'
    [ \$(cat '$work/taken.rc') -eq 1 ] && [ \$(wc -l <'$work/taken.err') -eq 1 ] && grep -q 'port 6817' '$work/taken.err' &&
    [ \$(tail -n 1 '$work/taken.left') -eq 0 ]"
  uses cluster_start
  t start "tools/slurm-cluster start --nodes $nodes brings the nodes up" bash -c "
    cat '$work/cluster.log'; [ \$(cat '$work/cluster.rc') -eq 0 ]"
  uses cluster_start port_listener
  t own-port "with port 6817 taken, the cluster comes up on a port of its own" bash -c "
    c=\$(sed -n 's/^export SLURM_CONF=//p' '$work/cluster.log'); grep '^Slurm.*Port=' \"\$c\" &&
    grep -q '^SlurmctldPort=' \"\$c\" && ! grep -q '^SlurmctldPort=6817\$' \"\$c\""
  uses cluster_start foreign_munged
  t munged-running "with munged already running, start says so and the suite still stops the cluster at its end" bash -c "
    grep -q 'munged already running' '$work/cluster.log' && [ \$(cat '$work/was_up') -eq 0 ]"
  uses cluster
  t status "status lists $nodes nodes, each in its own namespace with its own address" bash -c "
    tools/slurm-cluster status >$work/status.txt; cat $work/status.txt
    [ \$(grep -c '^node n[0-9]*: idle' $work/status.txt) = $nodes ] &&
    [ \$(grep -c '^netns: ' $work/status.txt) = $nodes ] &&
    [ \$(grep -o 'address [0-9.]*' $work/status.txt | sort -u | wc -l) = $nodes ]"
  t start-again "start again is a no-op" bash -c "tools/slurm-cluster start --nodes $nodes | grep -q 'already running'"
  t node-tasks "tasks on 2 nodes see their own host name, their own /tmp and the bridge for Open MPI" bash -c "
    on_out=\$(timeout 60 srun -N 2 -n 2 bash -c 'echo \$(hostname) \$OMPI_MCA_btl_tcp_if_include; touch /tmp/pgflow-node-\$SLURM_PROCID; ls /tmp | grep -c pgflow-node-')
    echo \"\$on_out\"
    [ \$(echo \"\$on_out\" | grep -c '^n[0-9]* 10.253.17.0/24\$') = 2 ] &&
    [ \$(echo \"\$on_out\" | awk 'NF == 2 { print \$1 }' | sort -u | wc -l) = 2 ] &&
    [ \$(echo \"\$on_out\" | grep -c '^1\$') = 2 ] && [ ! -e /tmp/pgflow-node-0 ]"

group jobs
  # Provenance without SLURM: one node, every rank on it.
  uses
  t provenance-local "results file records nodes = 1, node_names and ranks_per_node on 3 local ranks" bash -c "
    $MPIEXEC -n 3 $PGFLOW -options_file jobs/e3-relu-small.opts -ts_max_time 0.1 -output $tmp/prov.h5 >/dev/null &&
    [ \$(attr $tmp/prov.h5 nodes) = 1 ] && [ \$(attr $tmp/prov.h5 node_names) = \$(hostname) ] &&
    [ \$(attr $tmp/prov.h5 ranks_per_node) = 3 ]"

  # One run on 2 nodes, to a short final time.
  run_2nodes() {
    up || return 0
    run_job -N 2 -n 2 -o "$work/run.out" --export=ALL,PGF_RESULTS="$work/run" \
      jobs/run.sbatch jobs/e3-relu-small.opts -ts_max_time 2 >"$work/run.wait" 2>&1
    echo $? >"$work/run.rc"
  }
  uses cluster run_2nodes
  t run-completes "run.sbatch -N 2 completes" bash -c "cat $work/run.wait $work/run.out; [ \$(cat $work/run.rc) -eq 0 ]"
  f=$work/run/e3-relu-small.h5
  t run-check "run.sbatch -N 2 results file passes t_results check" "$RESULTS" check "$f"
  t run-provenance "run.sbatch -N 2 results file: completed, ranks = 2, nodes = 2, two node names, 1 rank each" bash -c "
    [ \$(attr $f completed) = 1 ] && [ \$(attr $f ranks) = 2 ] && [ \$(attr $f nodes) = 2 ] &&
    [[ \$(attr $f node_names) =~ ^(n[0-9]+),(n[0-9]+)\$ ]] && [ \${BASH_REMATCH[1]} != \${BASH_REMATCH[2]} ] &&
    [ \$(attr $f ranks_per_node) = 1,1 ]"

  # An array job over a 3-row table, one task per node (1 CPU each when the
  # nodes share 2 cores): one results file per row.
  sweep_job() {
    up || return 0
    cat >"$work/tiny.table" <<EOF
# name from the values: relu-m5-s1, ...
opts activation m seed
e3-relu-small relu 5 1
e3-sigmoid-small sigmoid 7 2
jobs/e3-relu-small.opts relu 9 3
EOF
    local id task rc=0
    id=$(submit --array=0-2 -o "$work/sweep-%a.out" --export=ALL,PGF_RESULTS="$work/sweep" \
      jobs/sweep.sbatch "$work/tiny.table" -samples 100 -ts_max_time 1) || rc=1
    for task in 0 1 2; do
      [ $rc -ne 0 ] || wait_job "${id}_$task" 300 || rc=1
    done >"$work/sweep.wait" 2>&1
    echo $rc >"$work/sweep.rc"
  }
  one_cpu_nodes() {
    local cpus
    up || return 0
    cpus=$(tools/slurm-cluster status | sed -n 's/^node n[0-9]*: idle, \([0-9]*\) CPUs.*/\1/p' | head -n 1)
    [ "$cpus" = 1 ] || skip_reason="the nodes have ${cpus:-?} CPUs each: the tasks may share one"
  }
  uses cluster sweep_job
  t sweep-completes "sweep.sbatch array of 3 tasks completes" bash -c "cat $work/sweep.wait $work/sweep-*.out; [ \$(cat $work/sweep.rc) -eq 0 ]"
  for run in relu-m5-s1:5:1 sigmoid-m7-s2:7:2 relu-m9-s3:9:3; do
    IFS=: read -r name m seed <<<"$run"
    f=$work/sweep/$name.h5
    t "sweep-$name-check" "sweep task $name: results file passes t_results check" "$RESULTS" check "$f"
    t "sweep-$name-values" "sweep task $name: completed = 1, m = $m, seed = $seed" bash -c "
      [ \$(attr $f completed) = 1 ] && [ \$(attr $f particles) = $m ] && [ \$(attr $f seed) = $seed ]"
  done
  uses cluster one_cpu_nodes sweep_job
  t sweep-nodes "the sweep's 3 tasks ran on 3 different nodes" bash -c "
    for name in relu-m5-s1 sigmoid-m7-s2 relu-m9-s3; do attr $work/sweep/\$name.h5 node_names; done | sort -u | wc -l | grep -qx 3"

  # The default -memory_limit is per node: 3/4 of the node's memory over
  # the ranks on that node, whatever the ranks on other nodes. The limit of
  # 1 rank alone here is in $work/one-limit.
  one_rank_limit() { up || return 0; $PGFLOW -help 2>&1 | limit_of >"$work/one-limit"; }
  uses cluster one_rank_limit
  t memory-limit-2x1 "default -memory_limit with 2 nodes x 1 rank is the whole node's 3/4 (that of 1 rank alone)" bash -c "
    one=\$(cat $work/one-limit); v=\$(on_nodes -N 2 -n 2 $PGFLOW -help 2>&1 | limit_of)
    echo \"2 x 1: \$v G, 1 rank alone: \$one G\"; [ -n \"\$v\" ] && [ \"\$v\" = \"\$one\" ]"
  t memory-limit-2x2 "default -memory_limit with 2 nodes x 2 ranks is half of it" bash -c "
    one=\$(cat $work/one-limit); v=\$(on_nodes -N 2 -n 4 --overcommit $PGFLOW -help 2>&1 | limit_of)
    echo \"2 x 2: \$v G, 1 rank alone: \$one G\"
    [ -n \"\$v\" ] && awk -v a=\"\$v\" -v b=\"\$one\" 'BEGIN { exit !(a / b > 0.499 && a / b < 0.501) }'"

  # -sample_groups across nodes: 4 ranks on 2 nodes against 1 rank here
  # (sigmoid, as tests/twolayer.sh: final states equal to 1e-10).
  g="-dim 3 -teacher_neurons 3 -particles 23 -samples 301 -activation sigmoid -reg l2 -lambda 1e-3 -ts_max_time 20 -snapshots 3"
  # shellcheck disable=SC2086  # g holds the options, as words
  one_rank_run() { up || return 0; $PGFLOW $g -output "$work/g0.h5" >/dev/null 2>&1; }
  uses cluster one_rank_run
  for G in 2 4; do
    t "sample-groups-$G" "-sample_groups $G on 2 nodes x 2 ranks, final state equal to 1 rank to 1e-10" bash -c "
      on_nodes -N 2 -n 4 --overcommit $PGFLOW $g -sample_groups $G -output $work/g$G.h5 >/dev/null || exit 1
      [ \$(attr $work/g$G.h5 nodes) = 2 ] &&
      $RESULTS compare $work/g0.h5 $work/g$G.h5 /final/theta 1e-10 && $RESULTS compare $work/g0.h5 $work/g$G.h5 /final/w 1e-10"
  done

  # -baseline rf on ScaLAPACK process grids spanning nodes, against numpy.
  # (A short flow: ranks polling over TCP on 2 shared cores are slow.)
  csmall="-dim 4 -samples 150 -particles 30 -teacher_neurons 3 -ts_max_time 1 -snapshots 2 -scalapack_block 4"
  uses cluster
  for grid in "2 4 2 x 2" "3 3 1 x 3"; do
    read -r nn nr rows _ cols <<<"$grid"
    t "scalapack-${rows}x$cols" "-baseline rf -spectrum on $nn nodes, $nr ranks, grid $rows x $cols, against LAPACK to 1e-10" bash -c "
      on_nodes -N $nn -n $nr --overcommit $PGFLOW $csmall -baseline rf -spectrum -output $work/cv$nr.h5 >$work/cv.log 2>&1 || { cat $work/cv.log; exit 1; }
      grep -q 'ScaLAPACK: $rows x $cols process grid' $work/cv.log && [ \$(attr $work/cv$nr.h5 nodes) = $nn ] &&
      analysis/pgf-python tests/check_convex.py $work/cv$nr.h5"
  done

group requeue
  # Preemption path of run.sbatch on 2 nodes, with a stand-in for pgflow:
  # SIGTERM to the batch script reaches every rank, which "checkpoints" and
  # exits 4; the script requeues the job and the second run gets -restart
  # CHECKPOINT. The job's id is in $work/fake.job.
  fake_preempted() {
    up || return 0
    cat >"$work/fake-pgflow" <<'EOF'
#!/usr/bin/env bash
echo "fake pgflow on $(hostname): $*"
case " $* " in *" -restart "*) exit 0 ;; esac
while [ $# -gt 1 ]; do [ "$1" = -checkpoint ] && ckpt=$2; shift; done
trap 'echo checkpoint >"$ckpt"; echo "fake pgflow: SIGTERM, checkpoint written"; exit 4' TERM
while :; do sleep 0.2; done
EOF
    chmod +x "$work/fake-pgflow"
    local job
    job=$(submit -N 2 -n 2 -o "$work/requeue.out" "--export=ALL,PGF_RESULTS=$work/rq,PGFLOW=$work/fake-pgflow" \
      jobs/run.sbatch jobs/e3-relu-small.opts)
    echo "$job" >"$work/fake.job"
    wait_for "$work/requeue.out" "fake pgflow on n[0-9]*: -options_file" 60 2 >"$work/fake.wait"
    scancel --signal=TERM --batch "$job"
    start_requeued "$job"
    wait_job "$job" 60 >>"$work/fake.wait"
  }
  uses cluster fake_preempted
  t fake-sigterm "SIGTERM reaches both nodes' ranks, exit 4 requeues, restart gets -restart CHECKPOINT" bash -c "
    cat $work/fake.wait $work/requeue.out; job=\$(cat $work/fake.job)
    [ \$(grep -c 'SIGTERM, checkpoint written' $work/requeue.out) = 2 ] &&
    [ \$(job_field \$job JobState) = COMPLETED ] &&
    grep -q 'restart 1: .* -restart $work/rq/e3-relu-small.ckpt.h5' $work/requeue.out"

  # The same with the real pgflow on 2 nodes: preempted mid-run (scancel
  # --signal=TERM to the batch script), it checkpoints, exits 4, is
  # requeued, continues from the checkpoint and ends where an uninterrupted
  # run on 1 rank ends ($work/ref.h5). The checkpoint the 2-node job wrote
  # ($work/ckpt-2nodes.h5) is also continued by a 3-node job, to the same
  # final state to 1e-10.
  big=(-particles 500 -samples 4000 -ts_max_time 100)
  preempted() {
    up || return 0
    local job ref
    job=$(submit -N 2 -n 2 -o "$work/real.out" "--export=ALL,PGF_RESULTS=$work/rq2" \
      jobs/run.sbatch jobs/e3-relu-small.opts "${big[@]}")
    $PGFLOW -options_file jobs/e3-relu-small.opts "${big[@]}" -output "$work/ref.h5" >/dev/null 2>&1 &
    ref=$!
    wait_for "$work/real.out" "^t .* step  *[2-9]" 120 >"$work/real.wait"
    scancel --signal=TERM --batch "$job"
    wait_for "$work/real.out" "run.sbatch: requeued" 120 >>"$work/real.wait"
    cp "$work/rq2/e3-relu-small.ckpt.h5" "$work/ckpt-2nodes.h5"
    start_requeued "$job"
    wait_job "$job" 300 >>"$work/real.wait"
    wait "$ref"
  }
  uses cluster preempted
  f=$work/rq2/e3-relu-small.h5
  t preempted "preempted 2-node pgflow checkpoints, exits 4, is requeued and ends as an uninterrupted run" bash -c "
    cat $work/real.wait $work/real.out
    grep -q 'pgflow exited with status 4' $work/real.out && grep -q 'restart 1: .* -restart' $work/real.out &&
    [ \$(attr $f completed) = 1 ] && [ \$(attr $f nodes) = 2 ] && $RESULTS check $f &&
    $RESULTS compare $work/ref.h5 $f /final/theta 1e-10 && $RESULTS compare $work/ref.h5 $f /final/w 1e-10"
  t restart-3-nodes "the 2-node checkpoint continued by a 3-node job (into a new results file, -new_output) ends as an uninterrupted run to 1e-10" bash -c "
    run_job -N 3 -n 3 -o $work/three.out --export=ALL,PGF_RESULTS=$work/rq3 \
      jobs/run.sbatch jobs/e3-relu-small.opts ${big[*]} -restart $work/ckpt-2nodes.h5 -new_output || { cat $work/three.out; exit 1; }
    f3=$work/rq3/e3-relu-small.h5
    grep -q 'continuing from $work/ckpt-2nodes.h5' $work/three.out &&
    [ \$(attr \$f3 completed) = 1 ] && [ \$(attr \$f3 nodes) = 3 ] && [ \$(attr \$f3 ranks_per_node) = 1,1,1 ] &&
    $RESULTS compare $work/ref.h5 \$f3 /final/theta 1e-10 && $RESULTS compare $work/ref.h5 \$f3 /final/w 1e-10"

  # The time limit on 2 nodes: --time=1 with --signal=B:TERM@50, SLURM
  # signals the batch script 10 to 40 s in (it checks limits every 30 s);
  # pgflow checkpoints and exits 4, the job is requeued and its next run
  # continues from the checkpoint (then cancelled: it would run on).
  time_limited() {
    up || return 0
    local job
    job=$(submit -N 2 -n 2 --time=1 --signal=B:TERM@50 -o "$work/limit.out" "--export=ALL,PGF_RESULTS=$work/rq4" \
      jobs/run.sbatch jobs/e3-relu-small.opts -particles 1000 -samples 8000 -ts_max_time 1e4)
    wait_for "$work/limit.out" "run.sbatch: requeued" 120 >"$work/limit.wait"
    start_requeued "$job" TimeLimit=5
    wait_for "$work/limit.out" "pgflow: continuing from" 120 >>"$work/limit.wait"
    scancel "$job"
  }
  uses cluster time_limited
  t time-limit "at the time limit a 2-node job gets SIGTERM, exits 4, is requeued and continues from its checkpoint" bash -c "
    cat $work/limit.wait $work/limit.out
    grep -q 'got SIGTERM' $work/limit.out && grep -q 'pgflow exited with status 4' $work/limit.out &&
    grep -q 'restart 1: .* -restart $work/rq4/e3-relu-small.ckpt.h5' $work/limit.out &&
    grep -q 'pgflow: continuing from $work/rq4/e3-relu-small.ckpt.h5' $work/limit.out"

group scaling
  # E7 at the small size on 2 nodes: the scaling table and MPI_Allreduce
  # timed across the nodes.
  scaling_job() {
    up || return 0
    run_job -N 2 -o "$work/scaling.out" --export=ALL,PGF_SCALING_SIZE=small,PGF_RESULTS="$work/e7" jobs/scaling.sbatch >"$work/scaling.wait" 2>&1
    echo $? >"$work/scaling.rc"
  }
  uses cluster scaling_job
  t job "scaling.sbatch -N 2 (PGF_SCALING_SIZE=small) writes its table and the Allreduce times" bash -c "
    cat $work/scaling.wait $work/scaling.out; [ \$(cat $work/scaling.rc) -eq 0 ]"
  t table "scaling table has strong and weak rows at 1 and 2 ranks, the 2-rank runs on 2 nodes" bash -c "
    cat $work/e7/scaling.csv
    grep -q '^strong,1,1,' $work/e7/scaling.csv && grep -q '^strong,2,2,' $work/e7/scaling.csv &&
    grep -q '^weak,2,2,' $work/e7/scaling.csv"
  t allreduce "Allreduce across 2 nodes timed and fitted" bash -c "
    analysis/pgf-python -c \"
import json; r = json.load(open('$work/e7/allreduce-n2.json'))
assert r['nodes'] == 2 and r['ranks'] == 2 and len(r['allreduce_times']) == 7, r
assert all(s > 0 for b, s in r['allreduce_times']) and 'alpha_s' in r['allreduce'], r\""
  t figure "fig_e7 draws the scaling table with predicted against measured Allreduce times" bash -c "
    analysis/pgf-python analysis/fig_e7.py $work/e7/scaling.csv --allreduce $work/e7 -o $work/e7/fig && [ -s $work/e7/fig.png ]"

group lifecycle
  # Last: these crash, restart and stop the run's own cluster.
  # A crash: slurmctld and a slurmd killed, the state file left behind;
  # the next start removes what the crashed run made, then starts anew.
  uses cluster own
  t after-crash "after a crash, start --nodes 2 cleans the previous run's nodes and comes up" bash -c "
    while read -r kind pid _; do
      case \$kind in slurmctld | slurmd) kill -9 \$pid ;; esac
    done < <(grep -e '^slurmctld ' -e '^slurmd ' \${PGF_SLURM_DIR:-/tmp/pgflow-slurm}/cluster.state | head -n 2)
    tools/slurm-cluster start --nodes 2 && [ \$(ip netns list | grep -c '^pgf-n') = 2 ] &&
    [ \$(sinfo -h -N -o %N | sort -u | wc -l) = 2 ] && [ \$(ps -eo stat=,comm= | awk '\$1 !~ /^Z/ && \$2 == \"slurmd\"' | wc -l) = 2 ]"
  # A checkout under /tmp, with a space in its path: the nodes (private
  # /tmp) see the directory start and the jobs run from.
  sub="$tmp/a checkout"
  tmp_checkout() { mkdir -p "$sub" && echo "seen from the node" >"$sub/marker"; }
  uses cluster own tmp_checkout
  t tmp-checkout "started from a directory under /tmp with a space, 2 nodes run a job there" bash -c "
    cd '$sub' && '$PWD/tools/slurm-cluster' start --nodes 2 | tee /dev/stderr | grep -q 'the nodes share .*$sub' &&
    out=\$(timeout 60 srun -N 2 -n 2 bash -c 'echo \$(hostname): \$(cat marker)') && echo \"\$out\" &&
    [ \$(echo \"\$out\" | grep -c '^n[0-9]*: seen from the node\$') = 2 ]"
  uses cluster own
  t stop "tools/slurm-cluster stop leaves no daemon, namespace, link or mount" bash -c "
    tools/slurm-cluster stop && nothing_left"
  # What a run left without its state file: removed by start when no
  # process is in it, else named in one line, with nothing made.
  stopped() { up && [ "$was_up" = 0 ] && tools/slurm-cluster stop >/dev/null 2>&1; return 0; }
  uses cluster own stopped
  t leftovers-removed "start removes a bridge and namespace left without a state file, then stop leaves nothing" bash -c "
    as_root ip link add pgfbr0 type bridge && as_root ip netns add pgf-n9 || exit 1
    tools/slurm-cluster start --nodes 2 | tee /dev/stderr | grep -q 'removing what an earlier run left.*pgfbr0.*pgf-n9' &&
    tools/slurm-cluster stop && nothing_left"
  # A namespace with a process in it (removed at the group's end).
  busy_leftover() {
    up && [ "$was_up" = 0 ] || return 0
    if as_root ip netns add pgf-n9 && as_root ip link add pgfbr0 type bridge; then
      # as_root runs in a subshell of its own: the process in the namespace
      # is its child, killed by its PID (the subshell's report of its
      # death to /dev/null).
      as_root ip netns exec pgf-n9 tail -f /dev/null 2>/dev/null &
      holder=$!
      at_group_end "as_root kill \$(as_root ip netns pids pgf-n9); wait $holder 2>/dev/null"
    fi
    at_group_end 'as_root ip netns delete pgf-n9; as_root ip link delete pgfbr0'
  }
  uses cluster own stopped busy_leftover
  t leftover-busy "start refuses in one line a leftover namespace with a process in it, making nothing" bash -c "
    tools/slurm-cluster start --nodes 2 2>'$tmp/left.err'; rc=\$?; cat '$tmp/left.err'
    [ \$rc -eq 1 ] && [ \$(wc -l <'$tmp/left.err') = 1 ] && grep -q 'pgf-n9.*ip link delete pgfbr0' '$tmp/left.err' &&
    [ ! -e \${PGF_SLURM_DIR:-/tmp/pgflow-slurm}/cluster.state ]"
  uses
