# Tests of the population loss (-population true), doc/math.md section 3b
# (sourced by tests/run).
# shellcheck shell=bash disable=SC2154  # tmp, RESULTS, MPIEXEC, t, np, group, uses come from tests/lib.sh

pop="-problem twolayer -population true -dim 4 -teacher_neurons 3 -particles 11"
check_population() { analysis/pgf-python tests/check_population.py "$@"; }
export -f check_population

group velocity
  # Velocities against finite differences of F (t_velocity through the
  # public wrappers), relu and erf, with and without l2, on 1, 2, 3 ranks.
  for act in relu erf; do
    for reg in none l2; do
      lam=""; [ $reg = l2 ] && lam="-lambda 0.3"
      for n in 1 2 3; do
        t "$act-$reg-$n" "$act, -reg $reg, $n ranks" \
          np $n bin/tests/t_velocity $pop -activation $act -reg $reg $lam -tol 1e-6
      done
    done
  done
  t fewer-particles "fewer particles than ranks (2 on 3)" \
    np 3 bin/tests/t_velocity $pop -particles 2 -tol 1e-6

group montecarlo
  # The closed form at the first and the last snapshot against 10^6
  # Gaussian samples, within 4 standard errors.
  for act in relu erf; do
    t "$act" "$act loss against 10^6 Gaussian samples (2 ranks)" bash -c "
      $MPIEXEC -n 2 $PGFLOW -population true -activation $act -dim 5 -particles 6 -teacher_neurons 3 -init_scale 1 \
        -ts_max_time 5 -snapshots 2 -output $tmp/mc-$act.h5 >/dev/null || exit 1
      check_population $tmp/mc-$act.h5"
  done

group limit
  # n -> infinity: the finite-sample loss of the same particles and teacher
  # (same seed, -bias false) at n = 10^3, 10^4, 10^5 within 4 standard errors
  # of the population loss, the errors shrinking as 1/sqrt(n); the teacher
  # and the initial particles bitwise the same.
  for act in relu erf; do
    lim="-activation $act -dim 5 -particles 8 -teacher_neurons 3 -init_scale 1 -ts_max_time 1e-3 -snapshots 2"
    t "$act" "$act finite-sample loss tends to the population loss as n grows" bash -c "
      $PGFLOW $lim -population true -output $tmp/lim-pop.h5 >/dev/null || exit 1
      for n in 1000 10000 100000; do
        $PGFLOW $lim -bias false -samples \$n -output $tmp/lim-\$n.h5 >/dev/null || exit 1
        for d in /snapshots/w /snapshots/theta; do $RESULTS compare0 $tmp/lim-pop.h5 $tmp/lim-\$n.h5 \$d 0 || exit 1; done
        for d in /truth/w /truth/theta; do $RESULTS compare $tmp/lim-pop.h5 $tmp/lim-\$n.h5 \$d 0 || exit 1; done
      done
      check_population $tmp/lim-pop.h5 --samples 100000 --finite $tmp/lim-1000.h5 $tmp/lim-10000.h5 $tmp/lim-100000.h5"
  done

group ranks
  # Final states equal across rank counts to 1e-10 (default integrator);
  # results file read back: /truth, no /data.
  for act in relu erf; do
    eval "runs_$act() {
      for n in 1 2 3; do
        np \$n \$PGFLOW \$pop -activation $act -init_scale 1 -ts_max_time 20 -output \"\$tmp/pr-$act-\$n.h5\" >/dev/null 2>&1
      done
    }"
    uses "runs_$act"
    for n in 2 3; do
      t "$act-final-1-$n" "$act final state on 1 and $n ranks equal to 1e-10" bash -c "
        $RESULTS compare $tmp/pr-$act-1.h5 $tmp/pr-$act-$n.h5 /final/theta 1e-10 && $RESULTS compare $tmp/pr-$act-1.h5 $tmp/pr-$act-$n.h5 /final/w 1e-10"
    done
    t "$act-results" "$act results file checks, /truth written, no /data" bash -c "
      $RESULTS check $tmp/pr-$act-3.h5 && $RESULTS get $tmp/pr-$act-3.h5 /truth/theta >/dev/null &&
        ! $RESULTS get $tmp/pr-$act-3.h5 /data/X >/dev/null 2>&1"
  done

group integrators
  # Every kind of integrator goes through the flow: explicit, implicit with
  # the matrix-free Jacobian, IMEX; snapshots and the energy balance.
  for ty in "euler -ts_dt 0.05" "rk -ts_rk_type 3bs" "bdf" "beuler -snes_mf -ts_adapt_type none -ts_dt 0.05" "arkimex" "rosw"; do
    t "${ty%% *}" "-ts_type $ty (2 ranks)" bash -c "
      $MPIEXEC -n 2 $PGFLOW $pop -ts_type $ty -ts_max_time 2 -snapshots 5 -output $tmp/pi.h5 >$tmp/pi.log || exit 1
      $RESULTS check $tmp/pi.h5 && [ \$($RESULTS attr $tmp/pi.h5 completed) = 1 ]"
  done

group restart
  # A checkpoint after step 30 and a restart: bitwise on the same rank count
  # with fixed Euler steps and with Runge-Kutta under the basic controller
  # (the restarted step recomputes its first stage at the state, the same
  # value the previous step's last stage had); with the default dsp
  # controller, whose filter remembers the previous step's error (reset by
  # a restart), on another rank count to 1e-10.
  for ty in "euler -ts_dt 0.1" "rk -ts_adapt_type basic" "rk"; do
    rs="$pop -activation erf -ts_max_time 20 -ts_rtol 1e-9 -ts_atol 1e-9 -ts_type $ty"
    # Each case its own files: the group runs all three in one directory.
    slug=${ty%% *}
    [ "$ty" = "rk -ts_adapt_type basic" ] && slug=rk-basic
    eval "checkpointed_$slug() {
      np 2 \$PGFLOW $rs -output \"\$tmp/pck-$slug-ref.h5\" >/dev/null 2>&1
      np 2 \$PGFLOW $rs -ts_max_steps 30 -checkpoint_interval 1e-9 -output \"\$tmp/pck-$slug.h5\" >/dev/null 2>&1
    }"
    uses "checkpointed_$slug"
    if [ "$ty" = rk ]; then
      t rk-on-3-ranks "-ts_type rk, restart on 3 ranks equals the 2-rank run to 1e-10" bash -c "
        [ \$($RESULTS get $tmp/pck-$slug.ckpt.h5 /state/step) = 30 ] || exit 1
        $MPIEXEC -n 3 $PGFLOW $rs -output $tmp/pck-$slug.h5 -restart $tmp/pck-$slug.ckpt.h5 >/dev/null || exit 1
        $RESULTS compare $tmp/pck-$slug-ref.h5 $tmp/pck-$slug.h5 /final/theta 1e-10 && $RESULTS compare $tmp/pck-$slug-ref.h5 $tmp/pck-$slug.h5 /final/w 1e-10 &&
          $RESULTS check $tmp/pck-$slug.h5"
    else
      t "$slug" "-ts_type $ty, restart on 2 ranks equals the uninterrupted run bitwise" bash -c "
        [ \$($RESULTS get $tmp/pck-$slug.ckpt.h5 /state/step) = 30 ] || exit 1
        $MPIEXEC -n 2 $PGFLOW $rs -output $tmp/pck-$slug.h5 -restart $tmp/pck-$slug.ckpt.h5 >/dev/null || exit 1
        $RESULTS compare $tmp/pck-$slug-ref.h5 $tmp/pck-$slug.h5 /final/theta 0 && $RESULTS compare $tmp/pck-$slug-ref.h5 $tmp/pck-$slug.h5 /history/loss 0 &&
          $RESULTS check $tmp/pck-$slug.h5"
    fi
  done

group input
  P="$PGFLOW -population true"
  bad_inputs
