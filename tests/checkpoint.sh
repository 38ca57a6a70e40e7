# Tests of checkpoint, restart and signals (sourced by tests/run).
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, t, np, group, uses come from tests/lib.sh

small="-problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20"

# step_of CHECKPOINT: the step number a checkpoint was written at.
step_of() { $RESULTS get "$1" /state/step | cut -d. -f1; }
export -f step_of
export RESULTS

# User mistakes: exit 2 and one line naming the option.
bad() {
  local slug=$1 name=$2 expect=$3
  shift 3
  t "$slug" "$name: exit 2 and one line naming the option" bash -c '
    expect=$1; shift
    "$@" >/dev/null 2>"$0.err"; rc=$?; cat "$0.err"
    [ $rc -eq 2 ] && [ "$(wc -l <"$0.err")" -eq 1 ] && grep -q -- "$expect" "$0.err" && ! grep -q "PETSC ERROR" "$0.err"' \
    "$tmp/bad" "$expect" "$@"
}

group restart
  # Uninterrupted reference, and a run that checkpoints after every step and
  # stops at step 40 (the first case, or its fixture when that case does not
  # run); both continuations append to a copy of its results.
  reference() { np 2 $PGFLOW $small -ts_max_time 20 -output "$tmp/ck-ref.h5" >/dev/null 2>&1; }
  checkpointed() {
    [ -f "$tmp/ck.ckpt.h5" ] || np 2 $PGFLOW $small -ts_max_time 20 -ts_max_steps 40 -checkpoint_interval 1e-9 -output "$tmp/ck.h5" >/dev/null 2>&1
    cp "$tmp/ck.h5" "$tmp/ck3.h5"
  }
  uses reference
  t every-step "written every step (-checkpoint_interval 1e-9) up to -ts_max_steps 40 (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -ts_max_time 20 -ts_max_steps 40 -checkpoint_interval 1e-9 -output $tmp/ck.h5 || exit 1
    [ \$($RESULTS get $tmp/ck.ckpt.h5 /state/step) = 40 ] && ! ls $tmp/ck.ckpt.h5.*tmp 2>/dev/null && [ ! -e $tmp/ck.ckpt.h5.lock ]"
  uses reference checkpointed
  t restart-2-ranks "restart on 2 ranks equals the uninterrupted run bitwise, results file appended" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -ts_max_time 20 -output $tmp/ck.h5 -restart $tmp/ck.ckpt.h5 || exit 1
    $RESULTS compare $tmp/ck-ref.h5 $tmp/ck.h5 /final/w 0 && $RESULTS compare $tmp/ck-ref.h5 $tmp/ck.h5 /final/theta 0 &&
      $RESULTS compare $tmp/ck-ref.h5 $tmp/ck.h5 /history/t 0 && $RESULTS compare $tmp/ck-ref.h5 $tmp/ck.h5 /snapshots/theta 0 &&
      $RESULTS check $tmp/ck.h5 && [ \$($RESULTS attr $tmp/ck.h5 completed) = 1 ]"
  t restart-3-ranks "restart on 3 ranks equals the 2-rank uninterrupted run to 1e-10" bash -c "
    $MPIEXEC -n 3 $PGFLOW $small -ts_max_time 20 -output $tmp/ck3.h5 -restart $tmp/ck.ckpt.h5 || exit 1
    $RESULTS compare $tmp/ck-ref.h5 $tmp/ck3.h5 /final/w 1e-10 && $RESULTS compare $tmp/ck-ref.h5 $tmp/ck3.h5 /final/theta 1e-10 &&
      $RESULTS check $tmp/ck3.h5 && [ \$($RESULTS attr $tmp/ck3.h5 ranks) = 3 ]"
  t new-output "restart with -new_output starts a new results file at the checkpoint" bash -c "
    $MPIEXEC -n 2 $PGFLOW $small -ts_max_time 20 -output $tmp/ck-new.h5 -restart $tmp/ck.ckpt.h5 -new_output || exit 1
    $RESULTS compare $tmp/ck-ref.h5 $tmp/ck-new.h5 /final/theta 0 &&
      [ \$($RESULTS get $tmp/ck-new.h5 /history/t) = \$($RESULTS get $tmp/ck-ref.h5 /history/t) ]"

  text_file() { echo "not HDF5" >"$tmp/text.ckpt.h5"; }
  uses reference checkpointed text_file
  bad particles-differ "-restart with other -particles" "-restart .*written with -particles 20, the options give -particles 30" \
    $PGFLOW $small -particles 30 -output "$tmp/bad.h5" -restart "$tmp/ck.ckpt.h5"
  bad problem-differs "-restart with another -problem" "-restart .*problem twolayer" \
    $PGFLOW -problem deconv -output "$tmp/bad.h5" -restart "$tmp/ck.ckpt.h5"
  bad restart-missing "-restart missing file" "-restart .*cannot open" $PGFLOW $small -output "$tmp/bad.h5" -restart "$tmp/none.h5"
  bad restart-not-hdf5 "-restart not HDF5" "-restart .*cannot open" $PGFLOW $small -output "$tmp/bad.h5" -restart "$tmp/text.ckpt.h5"
  bad restart-results-file "-restart a results file, not a checkpoint" "-restart .*/U" $PGFLOW $small -output "$tmp/bad.h5" -restart "$tmp/ck-ref.h5"
  bad checkpoint-missing-directory "-checkpoint in a missing directory" "-checkpoint .*must exist" $PGFLOW $small -output "$tmp/bad.h5" -checkpoint "$tmp/missing/c.h5"

group signal
  # Signals: the program writes its checkpoint, closes the results file with
  # completed = 0 and stop_reason signal, and exits 4. signalled SIG OUT
  # CMD...: runs CMD, sends it SIG once pgflow prints a step (so mpiexec and
  # the ranks have started and handle signals); output and status in OUT.log.
  signalled() {
    local sig=$1 out=$2
    shift 2
    "$@" $small -ts_max_time 1e6 -output "$out" >"$out.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 1200); do
      grep -q "^t .* step  *[1-9]" "$out.log" && break
      sleep 0.05
    done
    kill -s "$sig" $pid
    wait $pid
    echo "exit $?" >>"$out.log"
  }
  term() { signalled TERM "$tmp/term.h5" $PGFLOW; }
  usr1() { signalled USR1 "$tmp/usr1.h5" $MPIEXEC -n 2 $PGFLOW; }
  uses term
  t sigterm "SIGTERM (1 rank): exit 4, checkpoint written, completed 0, stop_reason signal" bash -c "
    cat $tmp/term.h5.log; grep -q 'exit 4' $tmp/term.h5.log && [ -f $tmp/term.ckpt.h5 ] && $RESULTS check $tmp/term.h5 &&
      [ \$($RESULTS attr $tmp/term.h5 completed) = 0 ] && [ \$($RESULTS attr $tmp/term.h5 stop_reason) = signal ]"
  uses usr1
  t sigusr1-to-mpiexec "SIGUSR1 to mpiexec (2 ranks): exit 4, checkpoint, stop_reason signal" bash -c "
    cat $tmp/usr1.h5.log; grep -q 'exit 4' $tmp/usr1.h5.log && [ -f $tmp/usr1.ckpt.h5 ] && $RESULTS check $tmp/usr1.h5 &&
      [ \$($RESULTS attr $tmp/usr1.h5 stop_reason) = signal ]"
  t restart-after-sigusr1 "restart after SIGUSR1 continues on 3 ranks to completion" bash -c "
    s=\$(step_of $tmp/usr1.ckpt.h5)
    $MPIEXEC -n 3 $PGFLOW $small -ts_max_time 1e6 -ts_max_steps \$((s + 20)) -output $tmp/usr1.h5 -restart $tmp/usr1.ckpt.h5 || exit 1
    $RESULTS check $tmp/usr1.h5 && [ \$($RESULTS attr $tmp/usr1.h5 completed) = 1 ] &&
      [ \$($RESULTS attr $tmp/usr1.h5 stop_reason) = max_steps ]"
  # SIGTERM to mpiexec itself is not tested: Open MPI answers it by
  # aborting the job (Open MPI 4 gives the ranks about 1 s, Open MPI 5
  # 0.2 s), so it depends on timing; README says to send SIGUSR1 to
  # mpiexec, tested above, or SIGTERM to the ranks (SLURM's scancel does).

  # kill -9 at 8 moments of a run that checkpoints every 10 ms, each run
  # continuing from the last checkpoint: every checkpoint left behind is
  # whole (a restart from it takes 3 steps), and the chain finishes. The
  # moments are set by the run's own progress, not by the clock: kill k
  # comes once the checkpoint is k steps beyond where the run started.
  # The counts go to kill.counts: 'WHOLE of LEFT'.
  kill_chain() {
    local ok=0 valid=0 k restart start pid s
    for k in 1 3 2 5 1 4 2 6; do
      restart=()
      start=-1
      [ -f "$tmp/kill.ckpt.h5" ] && restart=(-restart "$tmp/kill.ckpt.h5") && start=$(step_of "$tmp/kill.ckpt.h5")
      $PGFLOW $small -ts_max_time 1e6 -checkpoint_interval 0.01 -output "$tmp/kill.h5" "${restart[@]}" >/dev/null 2>&1 &
      pid=$!
      for _ in $(seq 1 1200); do
        [ -f "$tmp/kill.ckpt.h5" ] && [ "$(step_of "$tmp/kill.ckpt.h5" 2>/dev/null || echo -1)" -ge $((start + k)) ] 2>/dev/null && break
        sleep 0.01
      done
      kill -9 $pid
      wait $pid 2>/dev/null
      [ -f "$tmp/kill.ckpt.h5" ] || continue
      valid=$((valid + 1))
      s=$(step_of "$tmp/kill.ckpt.h5")
      rm -f "$tmp/kill-check.h5"
      $PGFLOW $small -ts_max_time 1e6 -ts_max_steps $((s + 3)) -output "$tmp/kill-check.h5" -restart "$tmp/kill.ckpt.h5" -new_output >"$tmp/kill-check.log" 2>&1 &&
        grep -q "after $((s + 3)) accepted" "$tmp/kill-check.log" && ok=$((ok + 1))
    done
    echo "$ok of $valid" >"$tmp/kill.counts"
  }
  uses kill_chain
  t kill-9-checkpoints-whole "after 8 kill -9, every checkpoint left is whole" bash -c "
    cat $tmp/kill.counts; read -r ok _ valid <$tmp/kill.counts; [ \$valid -eq 8 ] && [ \$ok -eq \$valid ]"
  t killed-run-continues "the killed run continues from its last checkpoint to completion" bash -c "
    s=\$(step_of $tmp/kill.ckpt.h5)
    $PGFLOW $small -ts_max_time 1e6 -ts_max_steps \$((s + 50)) -output $tmp/kill.h5 -restart $tmp/kill.ckpt.h5 || exit 1
    $RESULTS check $tmp/kill.h5 && [ \$($RESULTS attr $tmp/kill.h5 completed) = 1 ]"

group owner
  # A checkpoint belongs to one run: locked while it runs, tied to its
  # results file by the run id, and continued only with the integrator it
  # was written with.
  # The second run is tried while the first runs, its status kept for the case.
  two_runs() {
    $PGFLOW $small -ts_max_time 1e6 -output "$tmp/own-a.h5" -checkpoint "$tmp/own-shared.h5" >"$tmp/own-a.log" 2>&1 &
    local first=$!
    for _ in $(seq 1 1200); do
      grep -q "^t .* step  *[1-9]" "$tmp/own-a.log" && break
      sleep 0.05
    done
    $PGFLOW $small -ts_max_time 1 -output $tmp/own-b.h5 -checkpoint $tmp/own-shared.h5 >/dev/null 2>$tmp/own-b.err
    echo $? >"$tmp/own-b.rc"
    kill -TERM $first
    wait $first
    echo $? >"$tmp/own-a.rc"
  }
  uses two_runs
  t second-run-refused "a second run with the same -checkpoint is refused (exit 2, one line), writing nothing" bash -c "
    rc=\$(cat $tmp/own-b.rc); cat $tmp/own-b.err
    [ \$rc = 2 ] && [ \$(wc -l <$tmp/own-b.err) = 1 ] && grep -q -- '-checkpoint .*another pgflow run is writing' $tmp/own-b.err && [ ! -e $tmp/own-b.h5 ]"
  t first-run-unharmed "the first run is unharmed: exit 4, its checkpoint, no lock or temporary file left" bash -c "
    [ \$(cat $tmp/own-a.rc) = 4 ] && [ -f $tmp/own-shared.h5 ] && ! ls $tmp/own-shared.h5.* 2>/dev/null"
  # Run B overwrites run A's checkpoint; A's restart is refused, naming both files.
  overwritten() {
    $PGFLOW $small -ts_max_steps 20 -checkpoint_interval 1e-9 -output "$tmp/own-a.h5" -checkpoint "$tmp/own-c.h5" >/dev/null 2>&1
    $PGFLOW $small -ts_rk_type 5dp -ts_max_steps 30 -checkpoint_interval 1e-9 -output "$tmp/own-other.h5" -checkpoint "$tmp/own-c.h5" >/dev/null 2>&1
  }
  uses overwritten
  bad restart-overwritten "-restart from a checkpoint another run overwrote" "-restart .*own-c.h5: this checkpoint belongs to the results file .*own-other.h5, and -output .*own-a.h5 holds another run's results" \
    $PGFLOW $small -ts_rk_type 5dp -output "$tmp/own-a.h5" -restart "$tmp/own-c.h5" -checkpoint "$tmp/own-c.h5"
  bad restart-into-missing-results "-restart into a results file that does not exist" "-output .*own-none.h5 does not hold its results; .*-new_output" \
    $PGFLOW $small -ts_rk_type 5dp -output "$tmp/own-none.h5" -restart "$tmp/own-c.h5"
  t new-output-other-run "-new_output starts a new results file from another run's checkpoint" bash -c "
    $PGFLOW $small -ts_rk_type 5dp -ts_max_steps 40 -output $tmp/own-new.h5 -restart $tmp/own-c.h5 -new_output >/dev/null || exit 1
    [ \$($RESULTS attr $tmp/own-new.h5 completed) = 1 ] && [ \$($RESULTS attr $tmp/own-new.h5 run_id) != \$($RESULTS attr $tmp/own-other.h5 run_id) ]"
  t own-results-continue "the checkpoint's own results file continues under its run id" bash -c "
    id=\$($RESULTS attr $tmp/own-other.h5 run_id)
    $PGFLOW $small -ts_rk_type 5dp -ts_max_steps 40 -output $tmp/own-other.h5 -restart $tmp/own-c.h5 >/dev/null || exit 1
    [ \$($RESULTS attr $tmp/own-other.h5 run_id) = \$id ] && [ \$($RESULTS attr $tmp/own-other.h5 completed) = 1 ]"
  bad ts-type-differs "-restart with another -ts_type" "written with -ts_type rk, the options give -ts_type euler" \
    $PGFLOW $small -ts_type euler -output "$tmp/own-other.h5" -restart "$tmp/own-c.h5"
  bad rk-type-differs "-restart with another -ts_rk_type" "written with -ts_rk_type 5dp, the options give -ts_rk_type 3bs" \
    $PGFLOW $small -output "$tmp/own-other.h5" -restart "$tmp/own-c.h5"
  bad rtol-differs "-restart with another -ts_rtol" "written with -ts_rtol 1e-05, the options give -ts_rtol 1e-07" \
    $PGFLOW $small -ts_rk_type 5dp -ts_rtol 1e-7 -output "$tmp/own-other.h5" -restart "$tmp/own-c.h5"
  bad new-output-without-restart "-new_output without -restart" "-new_output applies to -restart only" $PGFLOW $small -new_output -output "$tmp/bad.h5"
