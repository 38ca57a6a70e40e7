# Tests of the job scripts on a real single-node SLURM cluster (sourced by
# tests/run). tools/slurm-cluster starts munged, slurmctld and slurmd; the
# suite skips with the reason when it cannot (not root, no sudo: status 77).
# Ranks are launched by `srun --mpi=pmix` inside the jobs.
# shellcheck disable=SC2154  # tmp, RESULTS, t, selected come from tests/run

# job_field JOBID FIELD: a field of `scontrol show job` (e.g. JobState, Restarts).
job_field() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# wait_job JOBID SECONDS: wait until the job has ended (COMPLETED, FAILED, ...).
wait_job() {
  local s
  for _ in $(seq 1 "$2"); do
    s=$(job_field "$1" JobState)
    case $s in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | "") return 0 ;; esac
    sleep 1
  done
  echo "job $1 still $s after $2 s"
  return 1
}
# start_requeued JOBID: once the job is requeued (pending, one restart), start
# it at once: SLURM would hold a requeued job for about two minutes.
start_requeued() {
  for _ in $(seq 1 60); do
    [ "$(job_field "$1" Restarts)" = 1 ] && [ "$(job_field "$1" JobState)" = PENDING ] && break
    sleep 1
  done
  scontrol update jobid="$1" StartTime=now >/dev/null 2>&1
}
# sbatch without the caller's MPIEXEC, so the jobs use srun --mpi=pmix.
submit() { env -u MPIEXEC timeout 240 sbatch "$@"; }

if selected slurm; then
  scripts=(jobs/*.sbatch tools/slurm-cluster)
  if command -v shellcheck >/dev/null; then
    t "slurm: shellcheck of jobs/*.sbatch and tools/slurm-cluster" shellcheck "${scripts[@]}"
  else
    echo "skipped: slurm: shellcheck not installed (tools/install-deps installs it)"
  fi
  # shellcheck disable=SC2016  # the loop is bash -c's own script
  t "slurm: bash -n of jobs/*.sbatch and tools/slurm-cluster" bash -c 'for f; do bash -n "$f" || exit 1; done' _ "${scripts[@]}"

  tools/slurm-cluster start >"$tmp/cluster.log" 2>&1
  cluster=$?
  if [ $cluster -eq 77 ]; then
    echo "skipped: slurm: $(tail -n 1 "$tmp/cluster.log")"
  else
    # Stop the cluster at the end, also when the run is interrupted, unless
    # it was running before this suite.
    if ! grep -q "already running" "$tmp/cluster.log"; then
      trap 'tools/slurm-cluster stop >/dev/null 2>&1; rm -rf "$tmp"' EXIT
    fi
    cp "$tmp/cluster.log" "$tmp/log"
    t "slurm: tools/slurm-cluster start brings the node up" test $cluster -eq 0
  fi

  if [ $cluster -eq 0 ]; then
    eval "$(tools/slurm-cluster env)"
    export SLURM_CONF

    for f in jobs/*.sbatch; do
      t "slurm: sbatch --test-only $f" sbatch --test-only "$f" jobs/e3-relu-small.opts
    done

    # One run on 2 ranks, to a short final time.
    t "slurm: run.sbatch on 2 ranks completes" \
      submit --wait -n 2 -o "$tmp/slurm-run.out" --export=ALL,PGF_RESULTS="$tmp/run" \
      jobs/run.sbatch jobs/e3-relu-small.opts -ts_max_time 2
    cp "$tmp/slurm-run.out" "$tmp/log" 2>/dev/null
    t "slurm: run.sbatch results file passes t_results check" "$RESULTS" check "$tmp/run/e3-relu-small.h5"
    t "slurm: run.sbatch results file has completed = 1 and ranks = 2" bash -c "
      [ \$($RESULTS attr $tmp/run/e3-relu-small.h5 completed) = 1 ] &&
      [ \$($RESULTS attr $tmp/run/e3-relu-small.h5 ranks) = 2 ]"

    # An array job over a 3-row table: one results file per row.
    cat >"$tmp/tiny.table" <<EOF
# name from the values: relu-m5-s1, ...
opts activation m seed
e3-relu-small relu 5 1
e3-sigmoid-small sigmoid 7 2
jobs/e3-relu-small.opts relu 9 3
EOF
    t "slurm: sweep.sbatch array of 3 tasks completes" \
      submit --wait --array=0-2 -o "$tmp/slurm-sweep-%a.out" --export=ALL,PGF_RESULTS="$tmp/sweep" \
      jobs/sweep.sbatch "$tmp/tiny.table" -samples 100 -ts_max_time 1
    cat "$tmp"/slurm-sweep-*.out >"$tmp/log" 2>/dev/null
    for run in relu-m5-s1:5:1 sigmoid-m7-s2:7:2 relu-m9-s3:9:3; do
      IFS=: read -r name m seed <<<"$run"
      f=$tmp/sweep/$name.h5
      t "slurm: sweep task $name: results file passes t_results check" "$RESULTS" check "$f"
      t "slurm: sweep task $name: completed = 1, m = $m, seed = $seed" bash -c "
        [ \$($RESULTS attr $f completed) = 1 ] &&
        [ \$($RESULTS attr $f particles) = $m ] && [ \$($RESULTS attr $f seed) = $seed ]"
    done

    # Preemption path of run.sbatch, with a stand-in for pgflow: SIGTERM to the batch script reaches the
    # program, which "checkpoints" and exits 4; the script requeues the job and
    # the second run gets -restart CHECKPOINT. SLURM delays a requeued job by
    # about two minutes; the test lets it start at once.
    cat >"$tmp/fake-pgflow" <<'EOF'
#!/usr/bin/env bash
echo "fake pgflow: $*"
case " $* " in *" -restart "*) exit 0 ;; esac
while [ $# -gt 1 ]; do [ "$1" = -checkpoint ] && ckpt=$2; shift; done
trap 'echo checkpoint >"$ckpt"; echo "fake pgflow: SIGTERM, checkpoint written"; exit 4' TERM
while :; do sleep 0.2; done
EOF
    chmod +x "$tmp/fake-pgflow"
    job=$(submit --parsable -o "$tmp/slurm-requeue.out" "--export=ALL,PGF_RESULTS=$tmp/rq,PGFLOW=$tmp/fake-pgflow" \
      jobs/run.sbatch jobs/e3-relu-small.opts)
    for _ in $(seq 1 60); do
      grep -q "fake pgflow: -options_file" "$tmp/slurm-requeue.out" 2>/dev/null && break
      sleep 1
    done
    scancel --signal=TERM --batch "$job"
    start_requeued "$job"
    wait_job "$job" 60 >"$tmp/wait.log"
    cat "$tmp/wait.log" "$tmp/slurm-requeue.out" >"$tmp/log" 2>/dev/null
    t "slurm: SIGTERM reaches the program, exit 4 requeues, restart gets -restart CHECKPOINT" bash -c "
      grep -q 'SIGTERM, checkpoint written' $tmp/slurm-requeue.out &&
      [ \"\$(scontrol show job -o $job | grep -o 'JobState=[A-Z]*')\" = JobState=COMPLETED ] &&
      grep -q 'restart 1: .* -restart $tmp/rq/e3-relu-small.ckpt.h5' $tmp/slurm-requeue.out"

    # The same with the real pgflow: preempted mid-run (SIGTERM to the batch
    # script), it checkpoints, exits 4, is requeued, restarts from the
    # checkpoint and ends bitwise where an uninterrupted run ends.
    big=(-particles 1000 -samples 8000 -ts_max_time 100)
    job=$(submit --parsable -o "$tmp/slurm-real.out" "--export=ALL,PGF_RESULTS=$tmp/rq2" \
      jobs/run.sbatch jobs/e3-relu-small.opts "${big[@]}")
    for _ in $(seq 1 120); do
      grep -q "^t .* step  *[1-9]" "$tmp/slurm-real.out" 2>/dev/null && break
      sleep 0.5
    done
    sleep 2
    scancel --signal=TERM --batch "$job"
    $PGFLOW -options_file jobs/e3-relu-small.opts "${big[@]}" -output "$tmp/rq2-ref.h5" >/dev/null 2>&1
    start_requeued "$job"
    wait_job "$job" 120 >"$tmp/wait.log"
    cat "$tmp/wait.log" "$tmp/slurm-real.out" >"$tmp/log" 2>/dev/null
    t "slurm: preempted pgflow checkpoints, exits 4, is requeued and ends bitwise as an uninterrupted run" bash -c "
      grep -q 'pgflow exited with status 4' $tmp/slurm-real.out && grep -q 'restart 1: .* -restart' $tmp/slurm-real.out &&
      [ \$($RESULTS attr $tmp/rq2/e3-relu-small.h5 completed) = 1 ] && $RESULTS check $tmp/rq2/e3-relu-small.h5 &&
      $RESULTS compare $tmp/rq2-ref.h5 $tmp/rq2/e3-relu-small.h5 /final/theta 0 &&
      $RESULTS compare $tmp/rq2-ref.h5 $tmp/rq2/e3-relu-small.h5 /final/w 0"

    # E7 script at the small size: a table row per kind and rank count.
    t "slurm: scaling.sbatch (PGF_SCALING_SIZE=small) writes its table" \
      submit --wait -o "$tmp/slurm-scaling.out" --export=ALL,PGF_SCALING_SIZE=small,PGF_RESULTS="$tmp/e7" jobs/scaling.sbatch
    cp "$tmp/slurm-scaling.out" "$tmp/log" 2>/dev/null
    t "slurm: scaling table has strong and weak rows up to $(nproc) ranks" bash -c "
      cat $tmp/e7/scaling.txt
      grep -q '^strong 1 ' $tmp/e7/scaling.txt && grep -q '^strong $(nproc) ' $tmp/e7/scaling.txt &&
      grep -q '^weak $(nproc) ' $tmp/e7/scaling.txt"

    if ! grep -q "already running" "$tmp/cluster.log"; then
      t "slurm: tools/slurm-cluster stop" tools/slurm-cluster stop
    fi
  fi
fi
