# Tests of the population loss (-population true) and of mini-batch SGD
# (-batch_size), doc/math.md section 3b (sourced by tests/run).
# shellcheck disable=SC2154  # tmp, RESULTS, MPIEXEC, t, np, selected come from tests/run

pop="-problem twolayer -population true -dim 4 -teacher_neurons 3 -particles 11"
check_population() { analysis/pgf-python tests/check_population.py "$@"; }
export -f check_population

if selected population-velocity; then
  # Velocities against finite differences of F (t_velocity through the
  # public wrappers), relu and erf, with and without l2, on 1, 2, 3 ranks.
  for act in relu erf; do
    for reg in none l2; do
      lam=""; [ $reg = l2 ] && lam="-lambda 0.3"
      for n in 1 2 3; do
        t "population-velocity: $act, -reg $reg, $n ranks" \
          np $n bin/tests/t_velocity $pop -activation $act -reg $reg $lam -tol 1e-6
      done
    done
  done
  t "population-velocity: fewer particles than ranks (2 on 3)" \
    np 3 bin/tests/t_velocity $pop -particles 2 -tol 1e-6
fi

if selected population-montecarlo; then
  # The closed form at the first and the last snapshot against 10^6
  # Gaussian samples, within 4 standard errors.
  for act in relu erf; do
    t "population-montecarlo: $act loss against 10^6 Gaussian samples (2 ranks)" bash -c "
      $MPIEXEC -n 2 $PGFLOW -population true -activation $act -dim 5 -particles 6 -teacher_neurons 3 -init_scale 1 \
        -ts_max_time 5 -snapshots 2 -output $tmp/mc-$act.h5 >/dev/null || exit 1
      check_population $tmp/mc-$act.h5"
  done
fi

if selected population-limit; then
  # n -> infinity: the finite-sample loss of the same particles and teacher
  # (same seed, -bias false) at n = 10^3, 10^4, 10^5 within 4 standard errors
  # of the population loss, the errors shrinking as 1/sqrt(n); the teacher
  # and the initial particles bitwise the same. erf once twolayer has it.
  acts=relu
  $PGFLOW -activation erf -samples 10 -ts_max_time 1e-3 -output "$tmp/erf.h5" >/dev/null 2>&1 && acts="relu erf"
  for act in $acts; do
    lim="-activation $act -dim 5 -particles 8 -teacher_neurons 3 -init_scale 1 -ts_max_time 1e-3 -snapshots 2"
    t "population-limit: $act finite-sample loss tends to the population loss as n grows" bash -c "
      $PGFLOW $lim -population true -output $tmp/lim-pop.h5 >/dev/null || exit 1
      for n in 1000 10000 100000; do
        $PGFLOW $lim -bias false -samples \$n -output $tmp/lim-\$n.h5 >/dev/null || exit 1
        for d in /snapshots/w /snapshots/theta; do $RESULTS compare0 $tmp/lim-pop.h5 $tmp/lim-\$n.h5 \$d 0 || exit 1; done
        for d in /truth/w /truth/theta; do $RESULTS compare $tmp/lim-pop.h5 $tmp/lim-\$n.h5 \$d 0 || exit 1; done
      done
      check_population $tmp/lim-pop.h5 --samples 100000 --finite $tmp/lim-1000.h5 $tmp/lim-10000.h5 $tmp/lim-100000.h5"
  done
fi

if selected population-ranks; then
  # Final states equal across rank counts to 1e-10 (default integrator);
  # results file read back: /truth, no /data.
  for act in relu erf; do
    for n in 1 2 3; do
      np $n $PGFLOW $pop -activation $act -init_scale 1 -ts_max_time 20 -output "$tmp/pr-$act-$n.h5" >/dev/null 2>&1
    done
    for n in 2 3; do
      t "population-ranks: $act final state on 1 and $n ranks equal to 1e-10" bash -c "
        $RESULTS compare $tmp/pr-$act-1.h5 $tmp/pr-$act-$n.h5 /final/theta 1e-10 && $RESULTS compare $tmp/pr-$act-1.h5 $tmp/pr-$act-$n.h5 /final/w 1e-10"
    done
    t "population-ranks: $act results file checks, /truth written, no /data" bash -c "
      $RESULTS check $tmp/pr-$act-3.h5 && $RESULTS get $tmp/pr-$act-3.h5 /truth/theta >/dev/null &&
        ! $RESULTS get $tmp/pr-$act-3.h5 /data/X >/dev/null 2>&1"
  done
fi

if selected population-integrators; then
  # Every kind of integrator goes through the flow: explicit, implicit with
  # the matrix-free Jacobian, IMEX; snapshots and the energy balance.
  for ty in "euler -ts_dt 0.05" "rk -ts_rk_type 3bs" "bdf" "beuler -snes_mf -ts_adapt_type none -ts_dt 0.05" "arkimex" "rosw"; do
    t "population-integrators: -ts_type $ty (2 ranks)" bash -c "
      $MPIEXEC -n 2 $PGFLOW $pop -ts_type $ty -ts_max_time 2 -snapshots 5 -output $tmp/pi.h5 >$tmp/pi.log || exit 1
      $RESULTS check $tmp/pi.h5 && [ \$($RESULTS attr $tmp/pi.h5 completed) = 1 ]"
  done
fi

if selected population-restart; then
  # A checkpoint after step 30 and a restart: bitwise on the same rank count
  # with fixed Euler steps and with Runge-Kutta under the basic controller
  # (the restarted step recomputes its first stage at the state, the same
  # value the previous step's last stage had); with the default dsp
  # controller, whose filter remembers the previous step's error (reset by
  # a restart), on another rank count to 1e-10.
  for ty in "euler -ts_dt 0.1" "rk -ts_adapt_type basic" "rk"; do
    rs="$pop -activation erf -ts_max_time 20 -ts_rtol 1e-9 -ts_atol 1e-9 -ts_type $ty"
    np 2 $PGFLOW $rs -output "$tmp/pck-ref.h5" >/dev/null 2>&1
    np 2 $PGFLOW $rs -ts_max_steps 30 -checkpoint_interval 1e-9 -output "$tmp/pck.h5" >/dev/null 2>&1
    if [ "$ty" = rk ]; then
      t "population-restart: -ts_type rk, restart on 3 ranks equals the 2-rank run to 1e-10" bash -c "
        [ \$($RESULTS get $tmp/pck.ckpt.h5 /state/step) = 30 ] || exit 1
        $MPIEXEC -n 3 $PGFLOW $rs -output $tmp/pck.h5 -restart $tmp/pck.ckpt.h5 >/dev/null || exit 1
        $RESULTS compare $tmp/pck-ref.h5 $tmp/pck.h5 /final/theta 1e-10 && $RESULTS compare $tmp/pck-ref.h5 $tmp/pck.h5 /final/w 1e-10 &&
          $RESULTS check $tmp/pck.h5"
    else
      t "population-restart: -ts_type $ty, restart on 2 ranks equals the uninterrupted run bitwise" bash -c "
        [ \$($RESULTS get $tmp/pck.ckpt.h5 /state/step) = 30 ] || exit 1
        $MPIEXEC -n 2 $PGFLOW $rs -output $tmp/pck.h5 -restart $tmp/pck.ckpt.h5 >/dev/null || exit 1
        $RESULTS compare $tmp/pck-ref.h5 $tmp/pck.h5 /final/theta 0 && $RESULTS compare $tmp/pck-ref.h5 $tmp/pck.h5 /history/loss 0 &&
          $RESULTS check $tmp/pck.h5"
    fi
  done
fi

if selected population-input; then
  P="$PGFLOW -population true"
  input_error "population-input: -bias true" "-bias true cannot be used with -population true" $P -bias true
  input_error "population-input: -loss logistic" "-loss logistic cannot be used with -population true" $P -loss logistic
  input_error "population-input: -noise" "-noise cannot be used with -population true" $P -noise 0.1
  input_error "population-input: -input sphere" "-input sphere cannot be used with -population true" $P -input sphere
  input_error "population-input: -activation sigmoid" "-activation must be relu or erf with -population true" $P -activation sigmoid
  input_error "population-input: -reg l1" "-reg must be none or l2 with -population true" $P -reg l1 -lambda 0.1
  input_error "population-input: -lambda without -reg" "-lambda needs -reg l2" $P -lambda 0.1
  input_error "population-input: -samples" "-samples cannot be used with -population true" $P -samples 100
  input_error "population-input: -data" "-data cannot be used with -population true" $P -data "$tmp/none.h5"
  input_error "population-input: -batch_size" "-batch_size cannot be used with -population true" $P -batch_size 10 -ts_type euler
  input_error "population-input: -baseline rf" "-baseline cannot be used with -population true" $P -baseline rf
  input_error "population-input: -refit" "-refit cannot be used with -population true" $P -refit
  input_error "population-input: -spectrum" "-spectrum cannot be used with -population true" $P -spectrum true
  input_error "population-input: -sample_groups 2 (2 ranks)" "-sample_groups cannot be used with -population true" \
    ranks 2 $P -sample_groups 2
  input_error "population-input: -memory_limit below the particles gathered on every rank" "-memory_limit .*the particles gathered on every rank" $P -particles 200000 -dim 100 -memory_limit 16M
  input_error "population-input: -activation foo" "-activation must be one of relu, sigmoid, tanh, erf" $P -activation foo
fi

sgd="-problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20 -ts_type euler -ts_dt 0.1 -ts_max_time 20"

if selected sgd-ranks; then
  # The batches depend on (seed, step) only: final states on 2, 3 ranks and
  # on 4 ranks with -sample_groups 2 equal the 1-rank run to 1e-9; and they
  # are batches (the run differs from full-batch gradient descent).
  np 1 $PGFLOW $sgd -batch_size 16 -output "$tmp/sgd1.h5" >/dev/null 2>&1
  for layout in "2" "3" "4 -sample_groups 2"; do
    t "sgd-ranks: -batch_size 16 on $layout ranks equals 1 rank to 1e-9" bash -c "
      $MPIEXEC -n ${layout%% *} $PGFLOW $sgd -batch_size 16 ${layout#[0-9]} -output $tmp/sgdn.h5 >/dev/null || exit 1
      $RESULTS compare $tmp/sgd1.h5 $tmp/sgdn.h5 /final/theta 1e-9 && $RESULTS compare $tmp/sgd1.h5 $tmp/sgdn.h5 /final/w 1e-9"
  done
  t "sgd-ranks: -batch_size 16 differs from gradient descent, one evaluation per step" bash -c "
    $PGFLOW $sgd -output $tmp/gd.h5 >/dev/null || exit 1
    ! $RESULTS compare $tmp/gd.h5 $tmp/sgd1.h5 /final/theta 1e-6 && [ \$($RESULTS get $tmp/sgd1.h5 /history/rhs_evals | cut -d. -f1) = 201 ]"
fi

if selected sgd-full; then
  t "sgd-full: velocities with -batch_size n (outside a flow: the batch of step 0) against finite differences" \
    np 2 bin/tests/t_velocity -problem twolayer -dim 3 -samples 200 -teacher_neurons 3 -particles 20 -batch_size 200 -tol 1e-6
  t "sgd-full: -batch_size n is gradient descent bit for bit (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $sgd -output $tmp/gd2.h5 >/dev/null || exit 1
    $MPIEXEC -n 2 $PGFLOW $sgd -batch_size 200 -output $tmp/bn2.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/gd2.h5 $tmp/bn2.h5 /final/theta 0 && $RESULTS compare $tmp/gd2.h5 $tmp/bn2.h5 /final/w 0 &&
      $RESULTS compare $tmp/gd2.h5 $tmp/bn2.h5 /history/loss 0"
fi

if selected sgd-restart; then
  t "sgd-restart: a restart after step 70 continues the same batches, bitwise (2 ranks)" bash -c "
    $MPIEXEC -n 2 $PGFLOW $sgd -batch_size 16 -output $tmp/sr-ref.h5 >/dev/null || exit 1
    $MPIEXEC -n 2 $PGFLOW $sgd -batch_size 16 -ts_max_steps 70 -checkpoint_interval 1e-9 -output $tmp/sr.h5 >/dev/null || exit 1
    [ \$($RESULTS get $tmp/sr.ckpt.h5 /state/step) = 70 ] || exit 1
    $MPIEXEC -n 2 $PGFLOW $sgd -batch_size 16 -output $tmp/sr.h5 -restart $tmp/sr.ckpt.h5 >/dev/null || exit 1
    $RESULTS compare $tmp/sr-ref.h5 $tmp/sr.h5 /final/theta 0 && $RESULTS compare $tmp/sr-ref.h5 $tmp/sr.h5 /history/loss 0"
fi

if selected sgd-input; then
  S="$PGFLOW -problem twolayer -samples 100"
  input_error "sgd-input: -batch_size with the default (adaptive rk) integrator" "-batch_size needs -ts_type euler with a fixed step" $S -batch_size 10
  input_error "sgd-input: -batch_size with -ts_adapt_type basic" "-batch_size needs -ts_type euler with a fixed step" $S -batch_size 10 -ts_type euler -ts_adapt_type basic
  input_error "sgd-input: -batch_size with an implicit integrator" "-batch_size needs -ts_type euler with a fixed step" $S -batch_size 10 -ts_type beuler
  input_error "sgd-input: -batch_size larger than n" "-batch_size must be at most the number of samples 100" $S -batch_size 101 -ts_type euler
  input_error "sgd-input: -batch_size -1" "-batch_size must be an integer in" $S -batch_size -1 -ts_type euler
fi
