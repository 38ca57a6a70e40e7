# Tests of the job scripts on a real SLURM cluster of emulated nodes
# (sourced by tests/run). tools/slurm-cluster starts munged, slurmctld and
# PGF_SLURM_NODES (default 3) slurmd daemons, each in its own network and
# mount namespace, so that jobs span nodes: PMIx wire-up, Open MPI over TCP,
# node-local /tmp, per-node defaults. The suite skips with the reason when
# the cluster cannot start (not root, no sudo, no namespaces: status 77).
# Ranks are launched by `srun --mpi=pmix`. Every file a job reads or writes
# is under $work, in the repository's build/ (each node has its own /tmp, but
# sees the repository, also when it is under /tmp). A cluster that was up
# before the suite (tools/slurm-cluster status) is used as it is and left
# running; otherwise the suite also tries start where SLURM's default port is
# taken and where munged already runs, and stops what it started.
# The cases run as one sequence (a case's fixtures are the steps before it):
# they are named slurm/jobs/CASE, with CASE made from the description by
# sequence_case, and run when a pattern selects the group. Not yet listed
# by tests/run --list.
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, PGFLOW, t, skip, group come from tests/lib.sh

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

group jobs
if sequence_selected; then
  scripts=(jobs/*.sbatch tools/slurm-cluster)
  if command -v shellcheck >/dev/null; then
    sequence_case "shellcheck of jobs/*.sbatch and tools/slurm-cluster" shellcheck "${scripts[@]}"
  else
    sequence_skip "shellcheck not installed (tools/install-deps installs it)"
  fi
  # shellcheck disable=SC2016  # the loop is bash -c's own script
  sequence_case "bash -n of jobs/*.sbatch and tools/slurm-cluster" bash -c 'for f; do bash -n "$f" || exit 1; done' _ "${scripts[@]}"
  sequence_case "tools/slurm-cluster refuses a bad --nodes with status 2" bash -c '
    tools/slurm-cluster start --nodes 0; [ $? -eq 2 ]'

  # Provenance without SLURM: one node, every rank on it.
  sequence_case "results file records nodes = 1, node_names and ranks_per_node on 3 local ranks" bash -c "
    $MPIEXEC -n 3 $PGFLOW -options_file jobs/e3-relu-small.opts -ts_max_time 0.1 -output $tmp/prov.h5 >/dev/null &&
    [ \$(attr $tmp/prov.h5 nodes) = 1 ] && [ \$(attr $tmp/prov.h5 node_names) = \$(hostname) ] &&
    [ \$(attr $tmp/prov.h5 ranks_per_node) = 3 ]"

  nodes=${PGF_SLURM_NODES:-3}
  # Decided from the cluster's state, not from start's messages.
  was_up=0
  tools/slurm-cluster status >/dev/null 2>&1 && was_up=1
  listener="" own_munged=""
  # What the suite started besides the cluster, stopped at the end by PID.
  fixtures_stop() {
    [ -z "$listener" ] || kill "$listener" 2>/dev/null
    [ -z "$own_munged" ] || as_root kill "$own_munged" 2>/dev/null
    listener="" own_munged=""
  }
  # Relative to the repository, where jobs start: no space in the path, even
  # when the checkout's path has one.
  work=$(mktemp -d build/slurm-tests.XXXXXX)
  at_exit 'fixtures_stop; rm -rf "$work"'
  cluster=0
  if [ $was_up -eq 0 ]; then
    # A SLURM controller on its default port 6817, as on a machine with
    # slurm-wlm running: a listener there, unless something listens already.
    if ! grep -Eq '^ *[0-9]+: [0-9A-F]+:1AA1 [0-9A-F:]+ 0A ' /proc/net/tcp /proc/net/tcp6 && command -v python3 >/dev/null; then
      python3 -c '
import signal, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 6817))
s.listen()
print("listening", flush=True)
signal.pause()' >"$tmp/listener.out" 2>&1 &
      listener=$!
      wait_for "$tmp/listener.out" '^listening' 30 >/dev/null || echo "note   slurm: no listener on port 6817 ($(cat "$tmp/listener.out"))"
    fi
    # Told to use the taken port, start fails in one line and undoes all.
    PGF_SLURM_PORT=6817 tools/slurm-cluster start --nodes 2 >"$tmp/taken.out" 2>"$tmp/taken.err"
    cluster=$?
    if [ $cluster -ne 77 ]; then
      sequence_case "start on the taken port 6817 fails with one line naming it and leaves nothing behind" bash -c "
        cat '$tmp/taken.out' '$tmp/taken.err'
        [ $cluster -eq 1 ] && [ \$(wc -l <'$tmp/taken.err') -eq 1 ] && grep -q 'port 6817' '$tmp/taken.err' && nothing_left"
      # munged already running (and not the cluster's), as on a workstation
      # with munge: start says so, and the cluster is still the suite's own.
      if ! { munge -n | unmunge; } >/dev/null 2>&1 && [ -s /etc/munge/munge.key ]; then
        as_root runuser -u munge -- /usr/sbin/munged --force &&
          own_munged=$(cat /run/munge/munged.pid 2>/dev/null)
      fi
    fi
  fi
  if [ $cluster -ne 77 ]; then
    tools/slurm-cluster start --nodes "$nodes" >"$tmp/cluster.log" 2>&1
    cluster=$?
  fi
  if [ $cluster -eq 77 ]; then
    sequence_skip "every job test: $(tail -n 1 "$tmp/cluster.log" "$tmp/taken.err" 2>/dev/null | grep slurm-cluster | tail -n 1)"
  else
    # Stop the cluster at the end, also when the run is interrupted, unless
    # it was up before this suite.
    [ $was_up -eq 1 ] || exit_hooks=('tools/slurm-cluster stop >/dev/null 2>&1' "${exit_hooks[@]}")
    sequence_case "tools/slurm-cluster start --nodes $nodes brings the nodes up" bash -c "cat '$tmp/cluster.log'; [ $cluster -eq 0 ]"
    if [ -n "$listener" ]; then
      sequence_case "with port 6817 taken, the cluster comes up on a port of its own" bash -c "
        c=\$(sed -n 's/^export SLURM_CONF=//p' '$tmp/cluster.log'); grep '^Slurm.*Port=' \"\$c\" &&
        grep -q '^SlurmctldPort=' \"\$c\" && ! grep -q '^SlurmctldPort=6817\$' \"\$c\""
    fi
    if [ -n "$own_munged" ]; then
      sequence_case "with munged already running, start says so and the suite still stops the cluster at its end" bash -c "
        grep -q 'munged already running' '$tmp/cluster.log' && [ $was_up -eq 0 ]"
    fi
  fi
  [ -z "$listener" ] || { kill "$listener" 2>/dev/null; listener=""; }

  if [ $cluster -eq 0 ]; then
    eval "$(tools/slurm-cluster env)"
    export SLURM_CONF
    sequence_case "status lists $nodes nodes, each in its own namespace with its own address" bash -c "
      tools/slurm-cluster status >$work/status.txt; cat $work/status.txt
      [ \$(grep -c '^node n[0-9]*: idle' $work/status.txt) = $nodes ] &&
      [ \$(grep -c '^netns: ' $work/status.txt) = $nodes ] &&
      [ \$(grep -o 'address [0-9.]*' $work/status.txt | sort -u | wc -l) = $nodes ]"
    sequence_case "start again is a no-op" bash -c "tools/slurm-cluster start --nodes $nodes | grep -q 'already running'"
    sequence_case "tasks on 2 nodes see their own host name, their own /tmp and the bridge for Open MPI" bash -c "
      on_out=\$(timeout 60 srun -N 2 -n 2 bash -c 'echo \$(hostname) \$OMPI_MCA_btl_tcp_if_include; touch /tmp/pgflow-node-\$SLURM_PROCID; ls /tmp | grep -c pgflow-node-')
      echo \"\$on_out\"
      [ \$(echo \"\$on_out\" | grep -c '^n[0-9]* 10.253.17.0/24\$') = 2 ] &&
      [ \$(echo \"\$on_out\" | awk 'NF == 2 { print \$1 }' | sort -u | wc -l) = 2 ] &&
      [ \$(echo \"\$on_out\" | grep -c '^1\$') = 2 ] && [ ! -e /tmp/pgflow-node-0 ]"

    for f in jobs/*.sbatch; do
      sequence_case "sbatch --test-only $f" sbatch --test-only "$f" jobs/e3-relu-small.opts
    done

    # One run on 2 nodes, to a short final time.
    sequence_case "run.sbatch -N 2 completes" \
      run_job -N 2 -n 2 -o "$work/run.out" --export=ALL,PGF_RESULTS="$work/run" \
      jobs/run.sbatch jobs/e3-relu-small.opts -ts_max_time 2
    cp "$work/run.out" "$tmp/log" 2>/dev/null
    f=$work/run/e3-relu-small.h5
    sequence_case "run.sbatch -N 2 results file passes t_results check" "$RESULTS" check "$f"
    sequence_case "run.sbatch -N 2 results file: completed, ranks = 2, nodes = 2, two node names, 1 rank each" bash -c "
      [ \$(attr $f completed) = 1 ] && [ \$(attr $f ranks) = 2 ] && [ \$(attr $f nodes) = 2 ] &&
      [[ \$(attr $f node_names) =~ ^(n[0-9]+),(n[0-9]+)\$ ]] && [ \${BASH_REMATCH[1]} != \${BASH_REMATCH[2]} ] &&
      [ \$(attr $f ranks_per_node) = 1,1 ]"

    # An array job over a 3-row table, one task per node (1 CPU each when the
    # nodes share 2 cores): one results file per row.
    cat >"$work/tiny.table" <<EOF
# name from the values: relu-m5-s1, ...
opts activation m seed
e3-relu-small relu 5 1
e3-sigmoid-small sigmoid 7 2
jobs/e3-relu-small.opts relu 9 3
EOF
    sequence_case "sweep.sbatch array of 3 tasks completes" bash -c "
      id=\$(submit --array=0-2 -o '$work/sweep-%a.out' --export=ALL,PGF_RESULTS=$work/sweep \
        jobs/sweep.sbatch $work/tiny.table -samples 100 -ts_max_time 1) || exit 1
      for task in 0 1 2; do wait_job \${id}_\$task 300 || exit 1; done"
    cat "$work"/sweep-*.out >"$tmp/log" 2>/dev/null
    for run in relu-m5-s1:5:1 sigmoid-m7-s2:7:2 relu-m9-s3:9:3; do
      IFS=: read -r name m seed <<<"$run"
      f=$work/sweep/$name.h5
      sequence_case "sweep task $name: results file passes t_results check" "$RESULTS" check "$f"
      sequence_case "sweep task $name: completed = 1, m = $m, seed = $seed" bash -c "
        [ \$(attr $f completed) = 1 ] && [ \$(attr $f particles) = $m ] && [ \$(attr $f seed) = $seed ]"
    done
    if [ "$(tools/slurm-cluster status | sed -n 's/^node n[0-9]*: idle, \([0-9]*\) CPUs.*/\1/p' | head -n 1)" = 1 ]; then
      sequence_case "the sweep's 3 tasks ran on 3 different nodes" bash -c "
        for name in relu-m5-s1 sigmoid-m7-s2 relu-m9-s3; do attr $work/sweep/\$name.h5 node_names; done | sort -u | wc -l | grep -qx 3"
    fi

    # The default -memory_limit is per node: 3/4 of the node's memory over
    # the ranks on that node, whatever the ranks on other nodes.
    one=$($PGFLOW -help 2>&1 | limit_of)
    sequence_case "default -memory_limit with 2 nodes x 1 rank is the whole node's 3/4 ($one G)" bash -c "
      v=\$(on_nodes -N 2 -n 2 $PGFLOW -help 2>&1 | limit_of)
      echo \"2 x 1: \$v G, 1 rank alone: $one G\"; [ -n \"\$v\" ] && [ \"\$v\" = '$one' ]"
    sequence_case "default -memory_limit with 2 nodes x 2 ranks is half of it" bash -c "
      v=\$(on_nodes -N 2 -n 4 --overcommit $PGFLOW -help 2>&1 | limit_of)
      echo \"2 x 2: \$v G, 1 rank alone: $one G\"
      [ -n \"\$v\" ] && awk -v a=\"\$v\" -v b='$one' 'BEGIN { exit !(a / b > 0.499 && a / b < 0.501) }'"

    # -sample_groups across nodes: 4 ranks on 2 nodes against 1 rank here
    # (sigmoid, as tests/twolayer.sh: final states equal to 1e-10).
    g="-dim 3 -teacher_neurons 3 -particles 23 -samples 301 -activation sigmoid -reg l2 -lambda 1e-3 -ts_max_time 20 -snapshots 3"
    $PGFLOW $g -output "$work/g0.h5" >/dev/null 2>&1
    for G in 2 4; do
      sequence_case "-sample_groups $G on 2 nodes x 2 ranks, final state equal to 1 rank to 1e-10" bash -c "
        on_nodes -N 2 -n 4 --overcommit $PGFLOW $g -sample_groups $G -output $work/g$G.h5 >/dev/null || exit 1
        [ \$(attr $work/g$G.h5 nodes) = 2 ] &&
        $RESULTS compare $work/g0.h5 $work/g$G.h5 /final/theta 1e-10 && $RESULTS compare $work/g0.h5 $work/g$G.h5 /final/w 1e-10"
    done

    # -baseline rf on ScaLAPACK process grids spanning nodes, against numpy.
    # (A short flow: ranks polling over TCP on 2 shared cores are slow.)
    csmall="-dim 4 -samples 150 -particles 30 -teacher_neurons 3 -ts_max_time 1 -snapshots 2 -scalapack_block 4"
    for grid in "2 4 2 x 2" "3 3 1 x 3"; do
      read -r nn np rows _ cols <<<"$grid"
      sequence_case "-baseline rf -spectrum on $nn nodes, $np ranks, grid $rows x $cols, against LAPACK to 1e-10" bash -c "
        on_nodes -N $nn -n $np --overcommit $PGFLOW $csmall -baseline rf -spectrum -output $work/cv$np.h5 >$work/cv.log 2>&1 || { cat $work/cv.log; exit 1; }
        grep -q 'ScaLAPACK: $rows x $cols process grid' $work/cv.log && [ \$(attr $work/cv$np.h5 nodes) = $nn ] &&
        analysis/pgf-python tests/check_convex.py $work/cv$np.h5"
    done

    # Preemption path of run.sbatch on 2 nodes, with a stand-in for pgflow:
    # SIGTERM to the batch script reaches every rank, which "checkpoints" and
    # exits 4; the script requeues the job and the second run gets -restart
    # CHECKPOINT.
    cat >"$work/fake-pgflow" <<'EOF'
#!/usr/bin/env bash
echo "fake pgflow on $(hostname): $*"
case " $* " in *" -restart "*) exit 0 ;; esac
while [ $# -gt 1 ]; do [ "$1" = -checkpoint ] && ckpt=$2; shift; done
trap 'echo checkpoint >"$ckpt"; echo "fake pgflow: SIGTERM, checkpoint written"; exit 4' TERM
while :; do sleep 0.2; done
EOF
    chmod +x "$work/fake-pgflow"
    job=$(submit -N 2 -n 2 -o "$work/requeue.out" "--export=ALL,PGF_RESULTS=$work/rq,PGFLOW=$work/fake-pgflow" \
      jobs/run.sbatch jobs/e3-relu-small.opts)
    wait_for "$work/requeue.out" "fake pgflow on n[0-9]*: -options_file" 60 2 >"$tmp/wait.log"
    scancel --signal=TERM --batch "$job"
    start_requeued "$job"
    wait_job "$job" 60 >>"$tmp/wait.log"
    cat "$tmp/wait.log" "$work/requeue.out" >"$tmp/log" 2>/dev/null
    sequence_case "SIGTERM reaches both nodes' ranks, exit 4 requeues, restart gets -restart CHECKPOINT" bash -c "
      [ \$(grep -c 'SIGTERM, checkpoint written' $work/requeue.out) = 2 ] &&
      [ \$(job_field $job JobState) = COMPLETED ] &&
      grep -q 'restart 1: .* -restart $work/rq/e3-relu-small.ckpt.h5' $work/requeue.out"

    # The same with the real pgflow on 2 nodes: preempted mid-run (scancel
    # --signal=TERM to the batch script), it checkpoints, exits 4, is
    # requeued, continues from the checkpoint and ends where an uninterrupted
    # run on 1 rank ends. The checkpoint the 2-node job wrote is also
    # continued by a 3-node job, to the same final state to 1e-10.
    big=(-particles 500 -samples 4000 -ts_max_time 100)
    job=$(submit -N 2 -n 2 -o "$work/real.out" "--export=ALL,PGF_RESULTS=$work/rq2" \
      jobs/run.sbatch jobs/e3-relu-small.opts "${big[@]}")
    $PGFLOW -options_file jobs/e3-relu-small.opts "${big[@]}" -output "$work/ref.h5" >/dev/null 2>&1 &
    ref=$!
    wait_for "$work/real.out" "^t .* step  *[2-9]" 120 >"$tmp/wait.log"
    scancel --signal=TERM --batch "$job"
    wait_for "$work/real.out" "run.sbatch: requeued" 120 >>"$tmp/wait.log"
    cp "$work/rq2/e3-relu-small.ckpt.h5" "$work/ckpt-2nodes.h5"
    start_requeued "$job"
    wait_job "$job" 300 >>"$tmp/wait.log"
    wait "$ref"
    cat "$tmp/wait.log" "$work/real.out" >"$tmp/log" 2>/dev/null
    f=$work/rq2/e3-relu-small.h5
    sequence_case "preempted 2-node pgflow checkpoints, exits 4, is requeued and ends as an uninterrupted run" bash -c "
      grep -q 'pgflow exited with status 4' $work/real.out && grep -q 'restart 1: .* -restart' $work/real.out &&
      [ \$(attr $f completed) = 1 ] && [ \$(attr $f nodes) = 2 ] && $RESULTS check $f &&
      $RESULTS compare $work/ref.h5 $f /final/theta 1e-10 && $RESULTS compare $work/ref.h5 $f /final/w 1e-10"
    sequence_case "the 2-node checkpoint continued by a 3-node job (into a new results file, -new_output) ends as an uninterrupted run to 1e-10" bash -c "
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
    job=$(submit -N 2 -n 2 --time=1 --signal=B:TERM@50 -o "$work/limit.out" "--export=ALL,PGF_RESULTS=$work/rq4" \
      jobs/run.sbatch jobs/e3-relu-small.opts -particles 1000 -samples 8000 -ts_max_time 1e4)
    wait_for "$work/limit.out" "run.sbatch: requeued" 120 >"$tmp/wait.log"
    start_requeued "$job" TimeLimit=5
    wait_for "$work/limit.out" "pgflow: continuing from" 120 >>"$tmp/wait.log"
    scancel "$job"
    cat "$tmp/wait.log" "$work/limit.out" >"$tmp/log" 2>/dev/null
    sequence_case "at the time limit a 2-node job gets SIGTERM, exits 4, is requeued and continues from its checkpoint" bash -c "
      grep -q 'got SIGTERM' $work/limit.out && grep -q 'pgflow exited with status 4' $work/limit.out &&
      grep -q 'restart 1: .* -restart $work/rq4/e3-relu-small.ckpt.h5' $work/limit.out &&
      grep -q 'pgflow: continuing from $work/rq4/e3-relu-small.ckpt.h5' $work/limit.out"

    # E7 at the small size on 2 nodes: the scaling table and MPI_Allreduce
    # timed across the nodes.
    sequence_case "scaling.sbatch -N 2 (PGF_SCALING_SIZE=small) writes its table and the Allreduce times" \
      run_job -N 2 -o "$work/scaling.out" --export=ALL,PGF_SCALING_SIZE=small,PGF_RESULTS="$work/e7" jobs/scaling.sbatch
    cp "$work/scaling.out" "$tmp/log" 2>/dev/null
    sequence_case "scaling table has strong and weak rows at 1 and 2 ranks, the 2-rank runs on 2 nodes" bash -c "
      cat $work/e7/scaling.csv
      grep -q '^strong,1,1,' $work/e7/scaling.csv && grep -q '^strong,2,2,' $work/e7/scaling.csv &&
      grep -q '^weak,2,2,' $work/e7/scaling.csv"
    sequence_case "Allreduce across 2 nodes timed and fitted" bash -c "
      analysis/pgf-python -c \"
import json; r = json.load(open('$work/e7/allreduce-n2.json'))
assert r['nodes'] == 2 and r['ranks'] == 2 and len(r['allreduce_times']) == 7, r
assert all(s > 0 for b, s in r['allreduce_times']) and 'alpha_s' in r['allreduce'], r\""
    sequence_case "fig_e7 draws the scaling table with predicted against measured Allreduce times" bash -c "
      analysis/pgf-python analysis/fig_e7.py $work/e7/scaling.csv --allreduce $work/e7 -o $work/e7/fig && [ -s $work/e7/fig.png ]"

    if [ $was_up -eq 0 ]; then
      # A crash: slurmctld and a slurmd killed, the state file left behind;
      # the next start removes what the crashed run made, then starts anew.
      sequence_case "after a crash, start --nodes 2 cleans the previous run's nodes and comes up" bash -c "
        while read -r kind pid _; do
          case \$kind in slurmctld | slurmd) kill -9 \$pid ;; esac
        done < <(grep -e '^slurmctld ' -e '^slurmd ' \${PGF_SLURM_DIR:-/tmp/pgflow-slurm}/cluster.state | head -n 2)
        tools/slurm-cluster start --nodes 2 && [ \$(ip netns list | grep -c '^pgf-n') = 2 ] &&
        [ \$(sinfo -h -N -o %N | sort -u | wc -l) = 2 ] && [ \$(ps -eo stat=,comm= | awk '\$1 !~ /^Z/ && \$2 == \"slurmd\"' | wc -l) = 2 ]"
      # A checkout under /tmp, with a space in its path: the nodes (private
      # /tmp) see the directory start and the jobs run from.
      sub="$tmp/a checkout"
      mkdir -p "$sub"
      echo "seen from the node" >"$sub/marker"
      sequence_case "started from a directory under /tmp with a space, 2 nodes run a job there" bash -c "
        cd '$sub' && '$PWD/tools/slurm-cluster' start --nodes 2 | tee /dev/stderr | grep -q 'the nodes share .*$sub' &&
        out=\$(timeout 60 srun -N 2 -n 2 bash -c 'echo \$(hostname): \$(cat marker)') && echo \"\$out\" &&
        [ \$(echo \"\$out\" | grep -c '^n[0-9]*: seen from the node\$') = 2 ]"
      sequence_case "tools/slurm-cluster stop leaves no daemon, namespace, link or mount" bash -c "
        tools/slurm-cluster stop && nothing_left"
      # What a run left without its state file: removed by start when no
      # process is in it, else named in one line, with nothing made.
      sequence_case "start removes a bridge and namespace left without a state file, then stop leaves nothing" bash -c "
        as_root ip link add pgfbr0 type bridge && as_root ip netns add pgf-n9 || exit 1
        tools/slurm-cluster start --nodes 2 | tee /dev/stderr | grep -q 'removing what an earlier run left.*pgfbr0.*pgf-n9' &&
        tools/slurm-cluster stop && nothing_left"
      as_root ip netns add pgf-n9 && as_root ip link add pgfbr0 type bridge &&
        { as_root ip netns exec pgf-n9 tail -f /dev/null & }
      holder=$!
      sequence_case "start refuses in one line a leftover namespace with a process in it, making nothing" bash -c "
        tools/slurm-cluster start --nodes 2 2>'$tmp/left.err'; rc=\$?; cat '$tmp/left.err'
        [ \$rc -eq 1 ] && [ \$(wc -l <'$tmp/left.err') = 1 ] && grep -q 'pgf-n9.*ip link delete pgfbr0' '$tmp/left.err' &&
        [ ! -e \${PGF_SLURM_DIR:-/tmp/pgflow-slurm}/cluster.state ]"
      as_root kill "$holder"
      wait "$holder" 2>/dev/null
      as_root ip netns delete pgf-n9
      as_root ip link delete pgfbr0
    fi
  fi
fi
