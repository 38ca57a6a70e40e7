# Tests of mini-batch SGD (-batch_size), doc/math.md section 3b (sourced by
# tests/run).
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, MPIEXEC, t, np, group, uses come from tests/lib.sh

sgd="-problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20 -ts_type euler -ts_dt 0.1 -ts_max_time 20"

group ranks
  # The batches depend on (seed, step) only: final states on 2, 3 ranks and
  # on 4 ranks with -sample_groups 2 equal the 1-rank run to 1e-9; and they
  # are batches (the run differs from full-batch gradient descent).
  one_rank() { np 1 $PGFLOW $sgd -batch_size 16 -output "$tmp/sgd1.h5" >/dev/null 2>&1; }
  uses one_rank
  for layout in "2" "3" "4 -sample_groups 2"; do
    t "ranks-${layout// */-groups-2}" "-batch_size 16 on $layout ranks equals 1 rank to 1e-9" bash -c "
      $MPIEXEC -n ${layout%% *} $PGFLOW $sgd -batch_size 16 ${layout#[0-9]} -output $tmp/sgdn.h5 >/dev/null || exit 1
      $RESULTS compare $tmp/sgd1.h5 $tmp/sgdn.h5 /final/theta 1e-9 && $RESULTS compare $tmp/sgd1.h5 $tmp/sgdn.h5 /final/w 1e-9"
  done
  t differs-from-gd "-batch_size 16 differs from gradient descent, one evaluation per step" bash -c "
    $PGFLOW $sgd -output $tmp/gd.h5 >/dev/null || exit 1
    ! $RESULTS compare $tmp/gd.h5 $tmp/sgd1.h5 /final/theta 1e-6 && [ \$($RESULTS get $tmp/sgd1.h5 /history/rhs_evals | cut -d. -f1) = 201 ]"

group full
  t velocities "velocities with -batch_size n (outside a flow: the batch of step 0) against finite differences" \
    np 2 bin/tests/t_velocity -problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20 -batch_size 200 -tol 1e-6
  t gradient-descent "-batch_size n is gradient descent bit for bit (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $sgd -output $tmp/gd2.h5 >/dev/null || exit 1
    $MPIEXEC -n 2 $PGFLOW $sgd -batch_size 200 -output $tmp/bn2.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/gd2.h5 $tmp/bn2.h5 /final/theta 0 && $RESULTS compare $tmp/gd2.h5 $tmp/bn2.h5 /final/w 0 &&
      $RESULTS compare $tmp/gd2.h5 $tmp/bn2.h5 /history/loss 0"

group restart
  t same-batches "a restart after step 70 continues the same batches, bitwise (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $sgd -batch_size 16 -output $tmp/sr-ref.h5 >/dev/null || exit 1
    $MPIEXEC -n 2 $PGFLOW $sgd -batch_size 16 -ts_max_steps 70 -checkpoint_interval 1e-9 -output $tmp/sr.h5 >/dev/null || exit 1
    [ \$($RESULTS get $tmp/sr.ckpt.h5 /state/step) = 70 ] || exit 1
    $MPIEXEC -n 2 $PGFLOW $sgd -batch_size 16 -output $tmp/sr.h5 -restart $tmp/sr.ckpt.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/sr-ref.h5 $tmp/sr.h5 /final/theta 0 && $RESULTS compare $tmp/sr-ref.h5 $tmp/sr.h5 /history/loss 0"

group input
  S="$PGFLOW -problem twolayer -samples 100"
  bad_inputs
